/**
 * The heartbeat extension with a fake view and a recording pinger: which URL after which refresh,
 * nothing without a new successful refresh, no overlapping pings, failures logged (host only) and
 * never thrown. The HTTP(S) pinger against real servers is in test/integration/heartbeat.test.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfigText } from "../config/load.js";
import type { HeartbeatConfig } from "../config/types.js";
import { Bus } from "../core/bus.js";
import type { View } from "../core/view.js";
import { createLogger } from "../log.js";
import type { ExtensionContext } from "./extension.js";
import { heartbeat, type PingResult, pingUrl, type Pinger } from "./heartbeat.js";

const URL_ = "https://hc-ping.com/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

interface FakeView {
  result: { guests: { problem: boolean }[] } | null;
  lastRefreshMs: number | null;
  proxmox: { health: { up: boolean } }[];
  hyperBackupTasks: { verdict: { problem: boolean } }[];
  pbsDatastores: { verdict: { problem: boolean } }[];
}

function setup(hb: HeartbeatConfig | undefined) {
  const lines: string[] = [];
  const sink = { write: (l: string) => lines.push(l) > 0 } as unknown as NodeJS.WritableStream;
  const log = createLogger("debug", () => (hb ? [hb.url] : []), sink, { repeatWindowMs: 0 });
  const bus = new Bus(log);
  const view: FakeView = {
    result: { guests: [{ problem: false }] },
    lastRefreshMs: 1000,
    proxmox: [{ health: { up: true } }],
    hyperBackupTasks: [],
    pbsDatastores: [],
  };
  const ctx = { cfg: { heartbeat: hb }, view, bus, log } as unknown as ExtensionContext;
  const refresh = (patch: Partial<FakeView> = {}) => {
    Object.assign(view, patch, { lastRefreshMs: (view.lastRefreshMs ?? 0) + 1000 });
    bus.emit("evaluated", view as unknown as View);
  };
  return { ctx, view, bus, lines, refresh };
}

const cfg = (o: Partial<HeartbeatConfig> = {}): HeartbeatConfig => ({
  url: URL_,
  onProblem: "fail",
  timeoutMs: 10_000,
  ...o,
});

function recorder(answer: (url: string) => PingResult | Promise<PingResult> = () => ({ ok: true, status: 200 })) {
  const urls: string[] = [];
  const pinger: Pinger = async (url) => {
    urls.push(url);
    return answer(url);
  };
  return { urls, pinger };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("pingUrl", () => {
  it("appends /fail to the path (before a query string), Healthchecks style", () => {
    expect(pingUrl(URL_, false)).toBe(URL_);
    expect(pingUrl(URL_, true)).toBe(`${URL_}/fail`);
    expect(pingUrl("https://hc.example/ping/abc/", true)).toBe("https://hc.example/ping/abc/fail");
    expect(pingUrl("https://hc.example/ping/key/slug?create=1", true)).toBe(
      "https://hc.example/ping/key/slug/fail?create=1",
    );
  });
});

describe("heartbeat extension", () => {
  it("pings once for the first reading, then once per successful refresh, not for other evaluations", async () => {
    const r = recorder();
    const s = setup(cfg());
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    await tick();
    expect(r.urls).toEqual([URL_]);
    // An evaluation without a new refresh (a command, the change timer): no ping.
    s.bus.emit("evaluated", s.view as unknown as View);
    await tick();
    expect(r.urls).toHaveLength(1);
    s.refresh();
    await tick();
    s.refresh();
    await tick();
    expect(r.urls).toEqual([URL_, URL_, URL_]);
    await ext.stop?.();
  });

  it("pings <url>/fail while a guest or an off-site device has a problem (on_problem fail), <url> again when none has", async () => {
    const r = recorder();
    const s = setup(cfg());
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    await tick();
    s.refresh({ result: { guests: [{ problem: false }, { problem: true }] } });
    await tick();
    s.refresh({ result: { guests: [{ problem: false }] }, hyperBackupTasks: [{ verdict: { problem: true } }] });
    await tick();
    s.refresh({ hyperBackupTasks: [], pbsDatastores: [{ verdict: { problem: true } }] });
    await tick();
    s.refresh({ pbsDatastores: [] });
    await tick();
    expect(r.urls).toEqual([URL_, `${URL_}/fail`, `${URL_}/fail`, `${URL_}/fail`, URL_]);
    await ext.stop?.();
  });

  it("on_problem ok: always <url>, problems or not", async () => {
    const r = recorder();
    const s = setup(cfg({ onProblem: "ok" }));
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    s.refresh({ result: { guests: [{ problem: true }] } });
    await tick();
    expect(r.urls).toEqual([URL_, URL_]);
    await ext.stop?.();
  });

  it("sends nothing after a refresh in which a Proxmox source could not be read, nor before the first reading", async () => {
    const r = recorder();
    const s = setup(cfg());
    s.view.result = null;
    s.view.lastRefreshMs = null;
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    await tick();
    expect(r.urls).toEqual([]);
    s.refresh({ result: { guests: [] }, proxmox: [{ health: { up: true } }, { health: { up: false } }] });
    await tick();
    expect(r.urls).toEqual([]);
    s.refresh({ proxmox: [{ health: { up: true } }, { health: { up: true } }] });
    await tick();
    expect(r.urls).toEqual([URL_]);
    await ext.stop?.();
  });

  it("never overlaps pings: refreshes during a slow ping are answered by one more ping with the newest state", async () => {
    let release: (() => void) | undefined;
    let active = 0;
    let maxActive = 0;
    const r = recorder(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((res) => {
        release = res;
      });
      active--;
      return { ok: true, status: 200 };
    });
    const s = setup(cfg());
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    await tick();
    expect(r.urls).toHaveLength(1);
    s.refresh();
    s.refresh();
    s.refresh({ result: { guests: [{ problem: true }] } });
    await tick();
    expect(r.urls).toHaveLength(1);
    release!();
    await tick();
    await tick();
    expect(r.urls).toEqual([URL_, `${URL_}/fail`]);
    release!();
    await tick();
    expect(maxActive).toBe(1);
    await ext.stop?.();
  });

  it("logs a failed ping with the host and the reason, never the URL's path, and keeps pinging", async () => {
    let down = true;
    const r = recorder(() => (down ? { ok: false, error: "connection refused" } : { ok: true, status: 200 }));
    const s = setup(cfg());
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    await tick();
    s.refresh();
    await tick();
    down = false;
    s.refresh();
    await tick();
    expect(r.urls).toHaveLength(3);
    const warns = s.lines.filter((l) => JSON.parse(l).level === 40);
    expect(warns.length).toBe(2);
    expect(JSON.parse(warns[0]!).msg).toBe("heartbeat ping to hc-ping.com failed: connection refused");
    expect(s.lines.some((l) => JSON.parse(l).msg === "heartbeat ping works again")).toBe(true);
    for (const l of s.lines) expect(l).not.toContain("0f1e2d3c");
    await ext.stop?.();
  });

  it("a pinger that throws is logged, not fatal", async () => {
    const pinger: Pinger = async () => {
      throw new TypeError("boom");
    };
    const s = setup(cfg());
    const ext = heartbeat({ pinger });
    await ext.start(s.ctx);
    await tick();
    s.refresh();
    await tick();
    expect(s.lines.filter((l) => JSON.parse(l).msg === "heartbeat ping failed")).toHaveLength(2);
    await ext.stop?.();
  });

  it("does nothing without heartbeat: in the config", async () => {
    const r = recorder();
    const s = setup(undefined);
    const ext = heartbeat({ pinger: r.pinger });
    await ext.start(s.ctx);
    s.refresh();
    await tick();
    expect(r.urls).toEqual([]);
    await ext.stop?.();
  });
});

const BASE = `
mqtt: { url: mqtt://127.0.0.1:1883 }
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: backup2mqtt@pve!bridge
    token_secret: 11111111-2222-3333-4444-555555555555
    fingerprint: ${"ab:".repeat(31)}ab
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfigText(text, "test.yaml", env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.key}: ${p.message}`);
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("heartbeat config", () => {
  it("url with defaults: on_problem fail, timeout 10 s; the URL and its path are secrets", () => {
    const c = parseConfigText(`${BASE}heartbeat: { url: "${URL_}" }\n`, "x.yaml", {});
    expect(c.heartbeat).toEqual({ url: URL_, onProblem: "fail", timeoutMs: 10_000 });
    expect(c.secrets).toEqual(expect.arrayContaining([URL_, "/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"]));
  });

  it("url from an environment variable and from url_file (relative to the config's folder); on_problem and timeout", () => {
    const c = parseConfigText(`${BASE}heartbeat: { url: "\${HC_URL}", on_problem: ok, timeout: 3s }\n`, "x.yaml", {
      HC_URL: URL_,
    });
    expect(c.heartbeat).toEqual({ url: URL_, onProblem: "ok", timeoutMs: 3000 });
    expect(c.secrets).toContain(URL_);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-hb-"));
    fs.writeFileSync(path.join(dir, "hc-url"), `${URL_}\n`);
    const file = path.join(dir, "config.yaml");
    const f = parseConfigText(`${BASE}heartbeat: { url_file: hc-url }\n`, file, {});
    expect(f.heartbeat?.url).toBe(URL_);
    expect(f.secrets).toContain(URL_);
    fs.rmSync(dir, { recursive: true });
  });

  it("refuses a heartbeat without a URL, with both, a wrong URL or timeout — and never repeats the URL", () => {
    expect(problemsOf(`${BASE}heartbeat: { on_problem: fail }\n`)).toEqual([
      "heartbeat: give url (or url_file): the URL to ping",
    ]);
    expect(problemsOf(`${BASE}heartbeat: { url: "${URL_}", url_file: x }\n`)).toEqual([
      "heartbeat.url_file: give either url or url_file, not both",
    ]);
    const bad = problemsOf(`${BASE}heartbeat: { url: "ftp://hc/0f1e2d3c-secret", timeout: 2m }\n`);
    expect(bad).toEqual([
      "heartbeat.url: the ping URL must start with https:// or http:// (it starts with ftp://); write e.g. https://hc-ping.com/<uuid>",
      "heartbeat.timeout: 2m is too long: the heartbeat timeout must be between 1s and 60s",
    ]);
    expect(problemsOf(`${BASE}heartbeat: { url: "not a url 0f1e2d3c" }\n`).join()).not.toContain("0f1e2d3c");
    expect(problemsOf(`${BASE}heartbeat: { url: "${URL_}", on_problem: maybe }\n`)).toEqual([
      'heartbeat.on_problem: must be one of "fail", "ok"',
    ]);
    const missing = problemsOf(`${BASE}heartbeat: { url_file: /nonexistent/hc-url }\n`);
    expect(missing).toEqual(["heartbeat.url_file: cannot read: ENOENT"]);
  });
});
