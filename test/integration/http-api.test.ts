/**
 * The HTTP API over real HTTP: the express app on a bridge that reads the simulated lab (HTTPS)
 * and publishes to a real broker. Auth, limits, schemas, no CORS, no secrets.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, startStack, type Stack } from "../support/stack.js";
import { startEmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { parseConfigText } from "../../bridge/src/config/load.js";
import { expectSchema, startHttp, until, type TestHttp, startHttpStack } from "./http-helpers.js";

const TOKEN = "http-test-token-4f1e9c2b7a";
const IDS = ["home_100", "home_101", "home_102", "home_103", "home_105"];

describe("HTTP API", () => {
  let stack: Stack;
  let http: TestHttp;
  const bodies: string[] = [];
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(http.url + path, init);
    const text = await res.text();
    bodies.push(text);
    return { res, text, json: () => JSON.parse(text) };
  };
  const post = (path: string, body: string | undefined, headers: Record<string, string> = {}) =>
    get(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  beforeAll(async () => {
    ({ stack, http } = await startHttpStack({ broker: "embedded", lab: { scenario: "demo", taskSpeed: 20 } }, TOKEN, {
      rateLimit: { windowMs: 60_000, limit: 100 },
    }));
  });
  afterAll(async () => {
    await http?.close();
    await stack?.stop();
  });

  it("binds to 127.0.0.1 unless told otherwise", () => {
    const cfg = parseConfigText(
      `mqtt: { url: "mqtt://x:1883" }\nproxmox: [{ name: pve, url: "https://pve:8006", token_id: "a@pve!b", token_secret: s }]\n`,
    );
    expect(cfg.http).toEqual({ host: "127.0.0.1", port: 8080, token: undefined });
    expect(stack.service.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("config: http.webhook_secret(_file) is read, counted as a secret, and must be long enough", () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "b2m-cfg-")), "hook");
    fs.writeFileSync(f, "0123456789abcdef-secret\n");
    const base = `mqtt: { url: "mqtt://x:1883" }\nproxmox: [{ name: pve, url: "https://pve:8006", token_id: "a@pve!b", token_secret: s }]\n`;
    const cfg = parseConfigText(`${base}http: { listen: "0.0.0.0:9000", webhook_secret_file: ${f} }\n`);
    expect(cfg.http).toMatchObject({ host: "0.0.0.0", port: 9000, webhookSecret: "0123456789abcdef-secret" });
    expect(cfg.secrets).toContain("0123456789abcdef-secret");
    expect(() => parseConfigText(`${base}http: { webhook_secret: short }\n`)).toThrow(
      /http\.webhook_secret: must NOT have fewer than 16 characters/,
    );
  });

  it("GET /healthz, /api/v1/guests and /api/v1/guests/<id> answer schema-valid JSON", async () => {
    const h = await get("/healthz");
    expect(h.res.status).toBe(200);
    expectSchema("http-health", h.json());
    expect(h.json()).toEqual({
      status: "ok",
      mqtt: true,
      sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    });
    const live = await get("/livez");
    expect(live.res.status).toBe(200);
    expectSchema("http-live", live.json());

    const all = await get("/api/v1/guests");
    expect(all.res.status).toBe(200);
    expect(all.res.headers.get("content-type")).toMatch(/^application\/json/);
    expectSchema("http-guests", all.json());
    expect(all.json().guests.map((g: { id: string }) => g.id)).toEqual(IDS);

    for (const id of IDS) {
      const one = await get(`/api/v1/guests/${id}`);
      expect(one.res.status).toBe(200);
      expectSchema("guest-state", one.json());
      expect(one.json().id).toBe(id);
    }
    const missing = await get("/api/v1/guests/home_999");
    expect(missing.res.status).toBe(404);
    expectSchema("http-error", missing.json());
    expect(missing.json().error).toBe("unknown guest 'home_999'");

    const nope = await get("/api/v2/anything");
    expect(nope.res.status).toBe(404);
    expectSchema("http-error", nope.json());
  });

  it("POST backup: no token → 401, wrong token → 401, right token → 202 and the backup runs", async () => {
    const none = await post("/api/v1/guests/home_103/backup", "{}");
    expect(none.res.status).toBe(401);
    expect(none.res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expectSchema("http-error", none.json());
    const wrong = await post("/api/v1/guests/home_103/backup", "{}", { authorization: `Bearer ${TOKEN}x` });
    expect(wrong.res.status).toBe(401);
    const prefix = await post("/api/v1/guests/home_103/backup", "{}", {
      authorization: `Bearer ${TOKEN.slice(0, -1)}`,
    });
    expect(prefix.res.status).toBe(401);
    const basic = await post("/api/v1/guests/home_103/backup", "{}", {
      authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`,
    });
    expect(basic.res.status).toBe(401);
    expect(stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump"))).toEqual([]);

    const ok = await post("/api/v1/guests/home_103/backup", "{}", { authorization: `Bearer ${TOKEN}` });
    expect(ok.res.status).toBe(202);
    expectSchema("http-accepted", ok.json());
    expect(ok.json().upid).toMatch(/^UPID:proxmox-home:.*:vzdump:103:/);
    expect(stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump"))).toHaveLength(1);
    await until("103 running", async () => (await get("/api/v1/guests/home_103")).json().running === true);

    const again = await post("/api/v1/guests/home_103/backup", "{}", { authorization: `Bearer ${TOKEN}` });
    expect(again.res.status).toBe(409);
    expect(again.json().error).toMatch(/already running/);
    const unknown = await post("/api/v1/guests/home_999/backup", "", { authorization: `Bearer ${TOKEN}` });
    expect(unknown.res.status).toBe(404);
  });

  it("bad input is a clear 4xx error, never a crash", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const vzdumpsBefore = stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump")).length;
    const malformed = await post("/api/v1/guests/home_101/backup", "{not json", auth);
    expect(malformed.res.status).toBe(400);
    expect(malformed.json()).toEqual({
      error: 'the request body is not valid JSON; send a JSON object such as {"storage":"nas"}, or no body at all',
    });
    const badMode = await post("/api/v1/guests/home_101/backup", JSON.stringify({ mode: "turbo" }), auth);
    expect(badMode.res.status).toBe(400);
    expect(badMode.json().error).toBe("'mode' must be one of snapshot, suspend, stop (got 'turbo')");
    const big = await post("/api/v1/guests/home_101/backup", JSON.stringify({ request_id: "x".repeat(20_000) }), auth);
    expect(big.res.status).toBe(413);
    expect(big.json()).toEqual({ error: "the request body is too large (at most 16 KiB)" });
    // The route decides the action: a body cannot turn a backup into something else.
    const sneaky = await post(
      "/api/v1/guests/home_101/backup",
      JSON.stringify({ action: "set_tier", tier: "none" }),
      auth,
    );
    expect(sneaky.res.status).toBe(400);
    expect(sneaky.json().error).toBe("this route only starts backups: leave 'action' out of the body (got 'set_tier')");
    expect(stack.service.engine.guest("home_101")!.tier).toBe("P2");
    const verify = await post("/api/v1/guests/home_101/backup", JSON.stringify({ action: "verify" }), auth);
    expect(verify.res.status).toBe(400);
    const extra = await post("/api/v1/guests/home_101/backup", JSON.stringify({ storage: "local", foo: 1 }), auth);
    expect(extra.res.status).toBe(400);
    expect(extra.json().error).toBe("unknown field 'foo' (valid fields: storage, mode, request_id, origin)");
    for (const r of [malformed, badMode, big, sneaky, verify, extra]) expectSchema("http-error", r.json());
    expect(stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump")).length).toBe(
      vzdumpsBefore,
    );
    const h = await get("/healthz");
    expect(h.res.status).toBe(200);
  });

  it("POST bodies: empty needs no Content-Type; otherwise a JSON object as application/json (415 for other types, 400 for arrays and scalars) — nothing starts", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const vzdumps = () => stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump")).length;
    const before = vzdumps();
    const send = (body: BodyInit | undefined, headers: Record<string, string> = {}) =>
      get("/api/v1/guests/home_100/backup", { method: "POST", body, headers: { ...auth, ...headers } });
    // JSON that is not an object: 400 with the sentence, never a backup.
    for (const [body, kind] of [
      ["[]", "an array"],
      ['["nas"]', "an array"],
      ['"nas"', "a string"],
      ["5", "a number"],
      ["null", "null"],
      ["true", "a boolean"],
    ] as const) {
      const r = await send(body, { "content-type": "application/json" });
      expect([body, r.res.status]).toEqual([body, 400]);
      expect(r.json()).toEqual({
        error: `the request body must be a JSON object such as {"storage":"nas"} (got ${kind})`,
      });
    }
    // A body in another type is refused, not ignored: 415 with what to send.
    const plain = await send('{"storage":"nas"}', { "content-type": "text/plain" });
    expect(plain.res.status).toBe(415);
    expect(plain.json().error).toBe(
      "the request body must be JSON sent with Content-Type: application/json (got Content-Type text/plain); send no body at all for no options",
    );
    const untyped = await send(new Uint8Array(Buffer.from('{"storage":"nas"}'))); // a body without Content-Type
    expect(untyped.res.status).toBe(415);
    expect(untyped.json().error).toMatch(
      /^the request body must be JSON sent with Content-Type: application\/json \(got no Content-Type\)/,
    );
    const form = await send("storage=nas", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.res.status).toBe(415);
    const latin1 = await send('{"storage":"nas"}', { "content-type": "application/json; charset=latin1" });
    expect(latin1.res.status).toBe(415);
    expect(latin1.json().error).toBe("the request body must be UTF-8 (got charset latin1)");
    for (const r of [plain, untyped, form, latin1]) expectSchema("http-error", r.json());
    expect(vzdumps()).toBe(before);
    // A charset parameter is fine: the body reaches the router (unknown guest → 404, nothing started).
    const charset = await get("/api/v1/guests/home_999/backup", {
      method: "POST",
      body: '{"mode":"snapshot"}',
      headers: { ...auth, "content-type": "application/json; charset=UTF-8" },
    });
    expect(charset.res.status).toBe(404);
    expect(charset.json().error).toBe("unknown guest 'home_999'");
    // An empty body without any Content-Type (the README's curl) means "no options": the backup starts.
    const empty = await send(undefined);
    expect(empty.res.status).toBe(202);
    expectSchema("http-accepted", empty.json());
    expect(vzdumps()).toBe(before + 1);
  });

  it("sends no CORS headers, on simple requests and on preflights", async () => {
    const g = await get("/api/v1/guests", { headers: { origin: "https://evil.example" } });
    expect(g.res.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await get("/api/v1/guests/home_100/backup", {
      method: "OPTIONS",
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
      },
    });
    expect(pre.res.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.res.headers.get("access-control-allow-headers")).toBeNull();
  });

  it("mutating routes are off (403) when no token is configured", async () => {
    const open = await startHttp(stack, undefined);
    try {
      const res = await fetch(`${open.url}/api/v1/guests/home_100/backup`, {
        method: "POST",
        headers: { authorization: "Bearer " },
      });
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatch(/set http\.token/);
    } finally {
      await open.close();
    }
  });

  it("rate-limits POSTs per client address (429), before the token is even checked", async () => {
    const limited = await startHttp(stack, TOKEN, { rateLimit: { windowMs: 60_000, limit: 3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${limited.url}/api/v1/guests/home_999/backup`, {
          method: "POST",
          headers: { authorization: `Bearer wrong-${i}` },
        });
        statuses.push(res.status);
        if (res.status === 429) {
          const body = await res.json();
          expectSchema("http-error", body);
          expect(body.error).toMatch(/too many POST requests: at most 3 per 60 s/);
          expect(res.headers.get("ratelimit")).toMatch(/limit=3/);
        } else await res.arrayBuffer();
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // GETs are not limited.
      for (let i = 0; i < 6; i++) expect((await fetch(`${limited.url}/api/v1/guests`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("no secret ever appears in an answer or a log line", async () => {
    await get("/");
    await get("/metrics");
    await get("/report.md");
    const secrets = [TOKEN, ...stack.cfg.secrets];
    expect(secrets.every((s) => s.length >= 8)).toBe(true);
    for (const b of bodies) for (const s of secrets) expect(b).not.toContain(s);
    for (const l of [...http.logs, ...stack.logs]) for (const s of secrets) expect(l).not.toContain(s);
  });
});

describe("GET /healthz and /livez against real faults", () => {
  let stack: Stack | undefined;
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  afterAll(async () => {
    await stack?.stop();
    await broker?.stop();
  });

  it("200 only with MQTT connected and a readable source; 503 with the reason when the source is down or the broker stopped; /livez 200 throughout", async () => {
    broker = await startBroker("embedded");
    const port = Number(new URL(broker.url).port);
    stack = await startStack({ broker, lab: { scenario: "seed" }, pollMs: 300 });
    const base = stack.service.httpUrl!;
    const health = async () => {
      const res = await fetch(`${base}/healthz`);
      const body = await res.json();
      expectSchema("http-health", body);
      return { status: res.status, body };
    };
    const live = async () => {
      const res = await fetch(`${base}/livez`);
      const body = await res.json();
      expectSchema("http-live", body);
      expect(body).toEqual({ status: "alive" });
      return res.status;
    };
    const healthIs = (status: number) =>
      until(`healthz ${status}`, async () => ((await health()).status === status ? health() : undefined), 15_000);

    // Both fine.
    const ok = await healthIs(200);
    expect(ok.body).toEqual({
      status: "ok",
      mqtt: true,
      sources: [{ name: "pve", kind: "proxmox", up: true, degraded: false }],
    });
    expect(await live()).toBe(200);

    // The only Proxmox source is down: 503 with the reason.
    stack.lab.control.setFault({ kind: "http500" });
    const down = await healthIs(503);
    expect(down.body.status).toBe("unhealthy");
    expect(down.body.mqtt).toBe(true);
    expect(down.body.reason).toMatch(/^no source is readable: proxmox 'pve' is unreachable: .*HTTP 500/);
    expect(down.body.sources[0]).toMatchObject({ name: "pve", up: false, error: expect.stringMatching(/HTTP 500/) });
    expect(await live()).toBe(200);
    stack.lab.control.setFault(null);
    await healthIs(200);

    // Unreadable answers (degraded) are not readable either.
    stack.lab.control.setFault({ kind: "garbage", pathPrefix: "/api2/json/cluster/resources" });
    const garbage = await healthIs(503);
    expect(garbage.body.reason).toMatch(
      /^no source is readable: proxmox 'pve' (is unreachable|answers but could not be read): .*not JSON/,
    );
    stack.lab.control.setFault(null);
    await healthIs(200);

    // The broker stopped: 503 "MQTT broker not connected"; and with the source down as well, both reasons.
    await broker.stop();
    const noMqtt = await healthIs(503);
    expect(noMqtt.body).toMatchObject({ status: "unhealthy", mqtt: false, reason: "MQTT broker not connected" });
    expect(await live()).toBe(200);
    stack.lab.control.setFault({ kind: "http500" });
    const both = await until(
      "both reasons",
      async () => ((await health()).body.reason?.includes("no source") ? health() : undefined),
      15_000,
    );
    expect(both.body.reason).toMatch(
      /^MQTT broker not connected; no source is readable: proxmox 'pve' is unreachable: /,
    );
    expect(await live()).toBe(200);

    // Everything back (a broker on the same port): 200 again.
    stack.lab.control.setFault(null);
    const again = await startEmbeddedBroker(port);
    broker = { url: again.url, stop: again.close };
    await healthIs(200);
  }, 60_000);
});
