import { describe, expect, it } from "vitest";
import { ActionGuard } from "./guard.js";
import type { Logger } from "../log.js";

function logger() {
  const lines: { obj: unknown; msg: string }[] = [];
  const log = { warn: (obj: unknown, msg: string) => lines.push({ obj, msg }) } as unknown as Logger;
  return { log, lines };
}

describe("ActionGuard", () => {
  it("the second claim of a key is refused with a sentence naming the first request; other keys are free", () => {
    let now = Date.parse("2026-03-01T10:00:00Z");
    const { log } = logger();
    const g = new ActionGuard(() => now, log);
    expect(g.claim("backup:home_102", { what: "a backup of vaultwarden (102)", origin: "home_assistant", requestId: "req-1" })).toBeUndefined();
    now += 3000;
    const refusal = g.claim("backup:home_102", { what: "a backup of vaultwarden (102)", origin: "mqtt" });
    expect(refusal).toMatch(/^a backup of vaultwarden \(102\) is already running \(started by home_assistant, request req-1 at \d\d:\d\d:\d\d, 3 seconds ago\)$/);
    expect(g.claim("verify:home_102", { what: "a verification of vaultwarden (102)", origin: "mqtt" })).toBeUndefined();
    expect(g.claim("backup:home_100", { what: "a backup of dns (100)", origin: "mqtt" })).toBeUndefined();
  });

  it("without a request id the origin and the time are named", () => {
    let now = 0;
    const g = new ActionGuard(() => now, logger().log);
    g.claim("k", { what: "a run of Hyper Backup task 'Nightly'", origin: "http" });
    now = 61_000;
    expect(g.claim("k", { what: "x", origin: "mqtt" })).toMatch(/^a run of Hyper Backup task 'Nightly' is already running \(started by http at \d\d:\d\d:\d\d, 1 minute ago\)$/);
  });

  it("release and releaseTask free the key; a task id frees only its own key", () => {
    const g = new ActionGuard(() => 0, logger().log);
    g.claim("a", { what: "A", origin: "o" });
    g.claim("b", { what: "B", origin: "o" });
    g.bind("a", "UPID:1");
    expect(g.releaseTask("UPID:2")).toBeUndefined();
    expect(g.isHeld("a")).toBe(true);
    expect(g.releaseTask("UPID:1")).toBe("a");
    expect(g.isHeld("a")).toBe(false);
    expect(g.isHeld("b")).toBe(true);
    g.release("b");
    expect(g.claim("b", { what: "B", origin: "o" })).toBeUndefined();
  });

  it("a claim whose end is never seen stops blocking after the safety expiry, with one log line", () => {
    let now = 0;
    const { log, lines } = logger();
    const g = new ActionGuard(() => now, log, 3_600_000);
    g.claim("backup:x", { what: "a backup of x (100)", origin: "mqtt", requestId: "r" });
    now = 3_599_999;
    expect(g.claim("backup:x", { what: "a backup of x (100)", origin: "mqtt" })).toMatch(/already running/);
    expect(lines).toHaveLength(0);
    now = 3_600_000;
    expect(g.isHeld("backup:x")).toBe(false);
    expect(g.claim("backup:x", { what: "a backup of x (100)", origin: "mqtt" })).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe("no end was seen of a backup of x (100) 1 hour after it started; it no longer blocks new commands");
  });
});
