/**
 * Heartbeat out, end to end: the real bridge reads the real lab over HTTPS and pings a real local
 * HTTP or HTTPS server after each refresh — <url>/fail while a guest has a problem, <url> with
 * on_problem ok; a monitor that is down or never answers is logged (host only, never the URL's
 * path) and the bridge goes on publishing; pings never overlap.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { labCertificate } from "backup2mqtt-lab";
import { afterEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";

const UUID = "5e1c0b7a-93d2-4f6e-8a41-0c2b7d9e3f58";
const STATE = "backup2mqtt/guest/home_102/state";

interface Monitor {
  port: number;
  /** Paths of the requests, in order of arrival (method GET checked). */
  paths: string[];
  /** When each request arrived (ms). */
  times: number[];
  close(): Promise<void>;
}

/** A Healthchecks-like monitor: answers 200 "OK" (or never, with `hang`), records each ping. */
async function startMonitor(o: { tls?: { key: string; cert: string }; hang?: boolean; port?: number } = {}) {
  const m: Monitor = { port: 0, paths: [], times: [], close: async () => undefined };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    expect(req.method).toBe("GET");
    m.paths.push(req.url ?? "");
    m.times.push(Date.now());
    if (o.hang) return; // never answers
    res.end("OK");
  };
  const server = o.tls ? https.createServer({ key: o.tls.key, cert: o.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(o.port ?? 0, "127.0.0.1", r));
  m.port = (server.address() as AddressInfo).port;
  m.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return m;
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

let stack: Stack | undefined;
const monitors: Monitor[] = [];
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  for (const m of monitors.splice(0)) await m.close();
});

/** The demo lab (102 failed, 103 missing: problems) with a heartbeat; the URL is deliberately not a registered secret, so the log shows what the extension itself writes. */
async function bridgeWith(heartbeat: NonNullable<Stack["cfg"]["heartbeat"]>, pollMs = 300): Promise<Stack> {
  stack = await startStack({
    broker: "embedded",
    lab: { scenario: "demo", taskSpeed: 10 },
    pollMs,
    configure: (cfg) => {
      cfg.heartbeat = heartbeat;
    },
  });
  return stack;
}

const logsOf = (s: Stack) => s.logs.map((l) => JSON.parse(l) as { level: number; msg: string; host?: string });

describe("heartbeat out", () => {
  it("pings <url>/fail over HTTP after each refresh while guests have problems; the URL's path is never logged", async () => {
    const m = await startMonitor();
    monitors.push(m);
    const s = await bridgeWith({ url: `http://127.0.0.1:${m.port}/ping/${UUID}`, onProblem: "fail", timeoutMs: 5000 });
    await s.observer.until("102 failed", () => s.observer.json(STATE)?.status === "failed");
    await s.observer.until("3 pings", () => m.paths.length >= 3, 10_000);
    expect(new Set(m.paths)).toEqual(new Set([`/ping/${UUID}/fail`]));
    const sent = logsOf(s).find((l) => l.msg === "heartbeat ping sent");
    expect(sent?.host).toBe(`127.0.0.1:${m.port}`);
    expect(s.logs.filter((l) => l.includes(UUID))).toEqual([]);
  }, 30_000);

  it("on_problem ok: pings <url> itself, over HTTPS with ca_file", async () => {
    const cert = await labCertificate();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-hb-"));
    const caFile = path.join(dir, "ca.pem");
    fs.writeFileSync(caFile, cert.cert);
    const m = await startMonitor({ tls: cert });
    monitors.push(m);
    try {
      await bridgeWith({ url: `https://127.0.0.1:${m.port}/${UUID}`, onProblem: "ok", timeoutMs: 5000, caFile });
      await stack!.observer.until("2 pings", () => m.paths.length >= 2, 10_000);
      expect(new Set(m.paths)).toEqual(new Set([`/${UUID}`]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("an HTTPS monitor whose certificate is not trusted: the ping fails with a reason, nothing is sent", async () => {
    const cert = await labCertificate();
    const m = await startMonitor({ tls: cert });
    monitors.push(m);
    const s = await bridgeWith({ url: `https://127.0.0.1:${m.port}/${UUID}`, onProblem: "fail", timeoutMs: 5000 });
    const warn = await s.observer.until("a warning", () =>
      logsOf(s).find((l) => l.level === 40 && l.msg.startsWith("heartbeat ping")),
    );
    expect(warn.msg).toMatch(/^heartbeat ping to 127\.0\.0\.1:\d+ failed: .*certificate/);
    expect(m.paths).toEqual([]);
  }, 30_000);

  it("a monitor that is down: each failure logged, the bridge goes on; once it is up, pings arrive and the log says so", async () => {
    const port = await freePort();
    const s = await bridgeWith({ url: `http://127.0.0.1:${port}/ping/${UUID}`, onProblem: "fail", timeoutMs: 2000 });
    const warn = await s.observer.until("a warning", () =>
      logsOf(s).find((l) => l.level === 40 && l.msg.startsWith("heartbeat ping")),
    );
    expect(warn.msg).toBe(`heartbeat ping to 127.0.0.1:${port} failed: connection refused`);
    // The bridge is unaffected: it still publishes and still refreshes.
    const before = s.service.engine.lastRefreshMs!;
    await s.observer.until("another refresh", () => s.service.engine.lastRefreshMs! > before);
    expect(s.observer.json(STATE)?.status).toBe("failed");
    const m = await startMonitor({ port });
    monitors.push(m);
    await s.observer.until("a ping after the monitor came up", () => m.paths.length >= 1, 10_000);
    expect(m.paths[0]).toBe(`/ping/${UUID}/fail`);
    await s.observer.until("works again", () => logsOf(s).some((l) => l.msg === "heartbeat ping works again"));
    expect(s.logs.filter((l) => l.includes(UUID))).toEqual([]);
  }, 30_000);

  it("a monitor that never answers: the ping times out after heartbeat.timeout, pings never overlap, the bridge goes on", async () => {
    const m = await startMonitor({ hang: true });
    monitors.push(m);
    const t0 = Date.now();
    const s = await bridgeWith({ url: `http://127.0.0.1:${m.port}/ping/${UUID}`, onProblem: "fail", timeoutMs: 1000 });
    const warn = await s.observer.until(
      "a timeout warning",
      () => logsOf(s).find((l) => l.level === 40 && l.msg.startsWith("heartbeat ping")),
      10_000,
    );
    expect(warn.msg).toBe(`heartbeat ping to 127.0.0.1:${m.port} failed: no answer within 1 s`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    // Refreshes every 300 ms, but the next ping starts only after the last one timed out (1 s).
    await s.observer.until("3 pings", () => m.paths.length >= 3, 10_000);
    const gaps = m.times.slice(1).map((t, i) => t - m.times[i]!);
    expect(Math.min(...gaps), `gaps ${gaps}`).toBeGreaterThanOrEqual(950);
    const before = s.service.engine.lastRefreshMs!;
    await s.observer.until("another refresh", () => s.service.engine.lastRefreshMs! > before);
  }, 30_000);
});
