import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger, setDefaultLogFormat, type LoggerOptions } from "./log.js";

function capture(opts: LoggerOptions = {}, secrets: string[] = []) {
  const lines: string[] = [];
  const sink = {
    write: (l: string) => {
      lines.push(l);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const log = createLogger("debug", () => secrets, sink, opts);
  const json = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const msgs = () => json().map((l) => l.msg);
  return { log, lines, json, msgs };
}

describe("repeated warnings", () => {
  beforeEach(() => void vi.useFakeTimers({ now: new Date("2026-12-02T18:15:00Z") }));
  afterEach(() => void vi.useRealTimers());

  it("writes the first at once, holds identical ones for 60 s, then says how often they repeated", () => {
    const { log, json, msgs } = capture();
    const mqtt = log.child({ part: "mqtt" });
    mqtt.warn("MQTT broker unreachable; will retry");
    expect(msgs()).toEqual(["MQTT broker unreachable; will retry"]);
    for (let i = 0; i < 29; i++) {
      vi.advanceTimersByTime(2000);
      mqtt.warn("MQTT broker unreachable; will retry");
    }
    expect(msgs()).toEqual(["MQTT broker unreachable; will retry"]);
    vi.advanceTimersByTime(2000); // 60 s after the first
    expect(msgs()).toEqual([
      "MQTT broker unreachable; will retry",
      "MQTT broker unreachable; will retry (repeated 29 times in 60 s)",
    ]);
    expect(json()[1]).toMatchObject({ level: 40, part: "mqtt", repeated: 29 });
    // The window is over: the next one is written again and opens a new window.
    mqtt.warn("MQTT broker unreachable; will retry");
    expect(msgs()).toHaveLength(3);
  });

  it("keeps the fields of the summarised line and counts once correctly", () => {
    const { log, json } = capture();
    log.error({ err: "connect ECONNREFUSED 127.0.0.1:8006" }, "refresh failed");
    log.error({ err: "connect ECONNREFUSED 127.0.0.1:8006" }, "refresh failed");
    vi.advanceTimersByTime(60_000);
    expect(json()).toMatchObject([
      { level: 50, err: "connect ECONNREFUSED 127.0.0.1:8006", msg: "refresh failed" },
      {
        level: 50,
        err: "connect ECONNREFUSED 127.0.0.1:8006",
        repeated: 1,
        msg: "refresh failed (repeated once in 60 s)",
      },
    ]);
  });

  it("never holds back a different message, different fields or another logger's warning", () => {
    const { log, msgs } = capture();
    const a = log.child({ source: "a" });
    const b = log.child({ source: "b" });
    a.warn({ err: "x" }, "MQTT error");
    a.warn("MQTT broker unreachable; will retry");
    a.warn({ err: "x" }, "MQTT error");
    a.warn({ err: "y" }, "MQTT error");
    b.warn({ err: "x" }, "MQTT error");
    a.info("something else");
    expect(msgs()).toEqual([
      "MQTT error",
      "MQTT broker unreachable; will retry",
      "MQTT error",
      "MQTT error",
      "MQTT error (repeated once in 60 s)",
      "something else",
    ]);
  });

  it("alternating warnings are each limited; an info line of the same logger writes the pending summaries first", () => {
    const { log, msgs } = capture();
    const mqtt = log.child({ part: "mqtt" });
    for (let i = 0; i < 10; i++) {
      mqtt.warn({ err: "connect ECONNREFUSED" }, "MQTT error");
      mqtt.warn("MQTT broker unreachable; will retry");
      vi.advanceTimersByTime(2000);
    }
    log.info("an info line of another logger flushes nothing");
    mqtt.info("MQTT reconnected");
    expect(msgs()).toEqual([
      "MQTT error",
      "MQTT broker unreachable; will retry",
      "an info line of another logger flushes nothing",
      "MQTT error (repeated 9 times in 60 s)",
      "MQTT broker unreachable; will retry (repeated 9 times in 60 s)",
      "MQTT reconnected",
    ]);
    vi.advanceTimersByTime(120_000);
    expect(msgs()).toHaveLength(6); // nothing is written twice
  });

  it("debug and info lines are never limited", () => {
    const { log, msgs } = capture();
    for (let i = 0; i < 3; i++) log.info("polled");
    for (let i = 0; i < 3; i++) log.debug("tick");
    expect(msgs()).toEqual(["polled", "polled", "polled", "tick", "tick", "tick"]);
  });

  it("repeatWindowMs 0 writes every line", () => {
    const { log, msgs } = capture({ repeatWindowMs: 0 });
    log.warn("w");
    log.warn("w");
    expect(msgs()).toEqual(["w", "w"]);
  });
});

describe("pretty format", () => {
  afterEach(() => setDefaultLogFormat("json"));

  it("writes readable lines, not JSON, with the secrets scrubbed before they are made pretty", () => {
    const { log, lines } = capture({ format: "pretty" }, ["s3cr3t-token-value"]);
    log
      .child({ source: "pve" })
      .warn(
        { url: "https://root:s3cr3t-token-value@pve:8006" },
        "Proxmox source unreachable: token s3cr3t-token-value refused",
      );
    log.info({ token: "plain" }, "with a key that carries secrets");
    const text = lines.join("");
    expect(text).toMatch(/WARN.*Proxmox source unreachable: token \[redacted\] refused/);
    expect(text).toContain("source");
    expect(text).toContain("https://root:[redacted]@pve:8006");
    expect(text).toContain("[redacted]");
    expect(text).not.toContain("s3cr3t-token-value");
    expect(text).not.toContain("plain");
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });

  it("is used by loggers made without a format once the CLI sets it; JSON stays the default", () => {
    const plain = capture();
    plain.log.info("json by default");
    expect(JSON.parse(plain.lines[0]!)).toMatchObject({ msg: "json by default" });
    setDefaultLogFormat("pretty");
    const pretty = capture();
    pretty.log.info("now pretty");
    expect(pretty.lines[0]).toMatch(/INFO.*now pretty/);
  });
});
