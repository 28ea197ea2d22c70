/**
 * Property-based fuzzing (fast-check) of everything that reaches the bridge from outside:
 * MQTT command payloads (≥ 10,000 cases, through the real CommandRouter and schema), config
 * files, PVE HTTP answers (through the real PveHttp client over HTTPS) and request bodies of the
 * bridge's own HTTP API (through the real express app). Properties: no crash, no exception other
 * than the documented error types, every refusal carries a reason, and memory stays flat.
 */
import https from "node:https";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { CommandRouter, type ActionHandlers, type Outcome, type Target } from "../../bridge/src/actions/router.js";
import { ConfigError, parseConfigText } from "../../bridge/src/config/load.js";
import { createLogger } from "../../bridge/src/log.js";
import { labCertificate } from "backup2mqtt-lab";
import { PveError, PveHttp } from "../../bridge/src/sources/pve/http.js";
import { contentRowProblem } from "../../bridge/src/sources/pve/source.js";
import {
  contentItemSchema,
  contentSchema,
  resourcesSchema,
  tasksSchema,
  taskLogSchema,
} from "../../bridge/src/sources/pve/schemas.js";
import { schemaValidator } from "../../bridge/src/util/schemas.js";
import { startStack, type Stack } from "../support/stack.js";

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapMb = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
};
const quiet = createLogger("silent");

// ---------------------------------------------------------------------------------------------
// MQTT command payloads

const ACTIONS = ["backup", "verify", "restore_test", "set_tier", "refresh", "run", "explode", "", "BACKUP"];
const anyJson = fc.jsonValue({ maxDepth: 4 });
const commandLike = fc.record(
  {
    action: fc.oneof(fc.constantFrom(...ACTIONS), fc.string(), fc.integer(), fc.constant(null)),
    tier: fc.oneof(fc.constantFrom("P0", "P1", "P2", "none", "P9"), fc.string(), fc.integer()),
    storage: fc.oneof(fc.constantFrom("local", "nas", "../etc", "a b", ""), fc.string()),
    mode: fc.oneof(fc.constantFrom("snapshot", "suspend", "stop", "kill"), fc.string()),
    request_id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer()),
    origin: fc.oneof(fc.string({ maxLength: 80 }), anyJson),
    extra: anyJson,
  },
  { requiredKeys: [] },
);
const shortText = fc.string({ maxLength: 64 });
const validCommand = fc.oneof(
  fc.record(
    {
      action: fc.constant("backup"),
      storage: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
      mode: fc.constantFrom("snapshot", "suspend", "stop"),
      request_id: shortText,
      origin: shortText,
    },
    { requiredKeys: ["action"] },
  ),
  fc.record(
    { action: fc.constantFrom("verify", "restore_test", "refresh", "run"), request_id: shortText, origin: shortText },
    { requiredKeys: ["action"] },
  ),
  fc.record(
    {
      action: fc.constant("set_tier"),
      tier: fc.oneof(fc.constantFrom("P0", "P1", "P2", "none"), fc.string({ minLength: 1, maxLength: 20 })),
      request_id: shortText,
    },
    { requiredKeys: ["action", "tier"] },
  ),
);
const payload = fc.oneof(
  { weight: 3, arbitrary: validCommand.map((o) => JSON.stringify(o)) },
  { weight: 4, arbitrary: commandLike.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 4000, max: 20_000 })
      .map((n) => JSON.stringify({ action: "backup", request_id: "x".repeat(n) })),
  },
);
const target: fc.Arbitrary<Target> = fc.oneof(
  fc.constantFrom<Target>(
    { kind: "bridge" },
    { kind: "guest", id: "home_100" },
    { kind: "guest", id: "home_999" },
    { kind: "hyperbackup", id: "2" },
    { kind: "pbs", id: "store1" },
  ),
  fc.string({ maxLength: 30 }).map((id): Target => ({ kind: "guest", id })),
);

describe("MQTT command payloads", () => {
  it("≥ 10,000 payloads: never throws, every non-empty payload reported once, refusals carry a reason, handlers see only schema-valid commands; memory flat", async () => {
    const validate = schemaValidator("command");
    let handled = 0;
    let reports = 0;
    let empty = 0;
    let current: unknown;
    const seen = (cmd: unknown): Promise<Outcome> => {
      handled++;
      // A handler only ever receives what the schema accepts.
      if (!validate(cmd)) throw new Error(`handler got an invalid command: ${JSON.stringify(cmd)}`);
      current = cmd;
      // Handlers may fail in any way: the router must turn that into a refusal, not a crash.
      if (handled % 7 === 0) throw new Error("handler exploded");
      return Promise.resolve(handled % 3 ? { ok: true } : { ok: false, reason: "refused by the handler" });
    };
    const handlers: ActionHandlers = {
      backup: (_id, c) => seen(c),
      verify: (_id, c) => seen(c),
      restoreTest: (_id, c) => seen(c),
      setTier: (_id, tier) => seen({ action: "set_tier", tier }),
      refresh: () => seen({ action: "refresh" }),
      runHyperBackup: () => seen({ action: "run" }),
      verifyDatastore: () => seen({ action: "verify" }),
      report: (_t, _c, o) => {
        reports++;
        if (!o.ok && !(typeof o.reason === "string" && o.reason.length > 5))
          throw new Error("a refusal without a reason");
      },
    };
    const router = new CommandRouter(handlers, quiet);
    const run = async (runs: number, seed: number) =>
      fc.assert(
        fc.asyncProperty(target, payload, async (t, p) => {
          const before = reports;
          const outcome = await router.handle(t, Buffer.from(p, "latin1"), "mqtt");
          // An empty payload (a cleared retained command) is ignored: nothing to report.
          if (p === "") empty++;
          expect(reports).toBe(before + (p === "" ? 0 : 1));
          expect(typeof outcome.ok).toBe("boolean");
          if (!outcome.ok) expect(outcome.reason.length).toBeGreaterThan(5);
          if (p.length > 4096) expect(outcome.ok).toBe(false);
        }),
        { numRuns: runs, seed },
      );
    await run(1000, 1); // warm-up (JIT, schema compilation)
    const base = heapMb();
    await run(11_000, 42);
    const grown = heapMb() - base;
    expect(reports + empty).toBe(12_000);
    expect(handled).toBeGreaterThan(500); // the generator reaches the handlers, not only the validator
    expect(current).toBeDefined();
    expect(grown).toBeLessThan(8);
  }, 120_000);

  it("through the real bridge and broker: 300 hostile payloads leave it running and answering", async () => {
    const stack: Stack = await startStack({ broker: "embedded", lab: { scenario: "seed" } });
    try {
      const o = stack.observer;
      await o.until("state", () => o.json("backup2mqtt/guest/home_100/state"));
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on("unhandledRejection", onUnhandled);
      const samples = fc.sample(fc.tuple(fc.constantFrom("home_100", "home_999", "x/y", "home 100"), payload), {
        numRuns: 300,
        seed: 7,
      });
      for (const [id, p] of samples) {
        // Never a backup of a real guest: the lab must not run 300 vzdumps.
        const safe =
          id === "home_100" && /"backup"|restore_test/.test(p) ? p.replace(/backup|restore_test/g, "nope") : p;
        await o.publish(`backup2mqtt/guest/${id}/command`, safe);
      }
      await o.publish("backup2mqtt/bridge/command", '{"action":"refresh","request_id":"last"}');
      const t = Date.now();
      await o.publish("backup2mqtt/guest/home_100/command", '{"action":"set_tier","tier":"P2","request_id":"probe"}');
      await o.until("still answering", () => o.json("backup2mqtt/guest/home_100/state")?.tier === "P2", 10_000);
      expect(
        o.count((m) => m.topic === "backup2mqtt/guest/home_100/event" && m.payload.includes("command_rejected")),
      ).toBeGreaterThan(20);
      expect(o.last.get("backup2mqtt/bridge/state")).toBe("online");
      expect(Date.now() - t).toBeLessThan(10_000);
      process.off("unhandledRejection", onUnhandled);
      expect(unhandled).toEqual([]);
    } finally {
      await stack.stop();
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// Config files

const VALID = `site: home
mqtt: { url: "mqtt://127.0.0.1:1883", username: u, password: p }
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: "backup2mqtt@pve!bridge"
    token_secret: s3cret
    fingerprint: "AA:BB"
    poll_interval: 60s
tiers: { P2: { max_age: 9d } }
guests: { "100": { tier: P0 }, vaultwarden: { tier: P1 } }
http: { listen: 127.0.0.1:8080, token: t }
state_dir: /var/lib/backup2mqtt
log: { level: info }
`;

describe("config files", () => {
  it("any text: a Config or a ConfigError listing problems with key paths — never another exception", () => {
    const mutated = fc
      .tuple(fc.nat(VALID.length), fc.nat(40), fc.string({ maxLength: 30 }))
      .map(([at, del, ins]) => VALID.slice(0, at) + ins + VALID.slice(at + del));
    const yamlish = fc
      .dictionary(
        fc.constantFrom("site", "mqtt", "proxmox", "tiers", "guests", "http", "state_dir", "log", "bogus"),
        anyJson,
      )
      .map((o) => JSON.stringify(o));
    const env = { PVE: "x" };
    fc.assert(
      fc.property(fc.oneof(mutated, yamlish, fc.string({ maxLength: 400 }), fc.constant(VALID)), (text) => {
        try {
          const cfg = parseConfigText(text, "<fuzz>", env);
          expect(typeof cfg.site).toBe("string");
          expect(Array.isArray(cfg.proxmox)).toBe(true);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          expect(e.problems.length).toBeGreaterThan(0);
          for (const p of e.problems) expect(typeof p.message).toBe("string");
        }
      }),
      { numRuns: 3000, seed: 11 },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// PVE HTTP answers, over real HTTPS

describe("PVE HTTP answers", () => {
  let server: https.Server;
  let url = "";
  let next: { status: number; body: string } = { status: 200, body: "{}" };
  let fingerprint = "";
  beforeAll(async () => {
    const cert = await labCertificate();
    fingerprint = cert.fingerprint;
    server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => {
      res.statusCode = next.status;
      res.end(next.body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `https://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("any body and status: typed data or a PveError naming why — never a crash; content rows checked exactly like the schema", async () => {
    const http = new PveHttp({ url, tokenId: "t@pve!x", tokenSecret: "s", fingerprint, timeoutMs: 5000 }, 0);
    const row = fc.record(
      {
        volid: fc.oneof(fc.string(), fc.integer()),
        vmid: fc.oneof(fc.integer(), fc.double(), fc.string()),
        ctime: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 60)),
        size: fc.oneof(fc.integer(), fc.string()),
        format: fc.oneof(fc.string(), fc.constant(null)),
        protected: fc.oneof(fc.constantFrom(0, 1, 2, true)),
        notes: fc.oneof(fc.string(), fc.integer()),
        verification: fc.oneof(
          fc.record({ state: fc.oneof(fc.string(), fc.integer()) }),
          fc.string(),
          fc.constant(null),
        ),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.array(row, { maxLength: 5 }).map((data) => JSON.stringify({ data })),
      anyJson.map((data) => JSON.stringify({ data })),
      fc.string({ maxLength: 300 }),
      fc.constant('{"data": [ {"vmid": 10'),
    );
    const schemas: ZodType<unknown>[] = [contentSchema, resourcesSchema, tasksSchema, taskLogSchema];
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom(200, 200, 200, 400, 401, 403, 500, 596),
        fc.nat(3),
        async (b, status, which) => {
          next = { status, body: b };
          try {
            await http.get("/x", schemas[which]!);
            expect(status).toBe(200);
          } catch (e) {
            if (!(e instanceof PveError)) throw e;
            expect(e.message.length).toBeGreaterThan(5);
          }
        },
      ),
      { numRuns: 1500, seed: 5 },
    );
    await http.close();
    // The hand-written row check (big listings skip zod's copy) accepts exactly what the schema accepts.
    fc.assert(
      fc.property(fc.oneof(row, anyJson), (r) => {
        expect(contentRowProblem(r) === undefined).toBe(contentItemSchema.safeParse(r).success);
      }),
      { numRuns: 5000, seed: 9 },
    );
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------
// The bridge's own HTTP API

describe("HTTP API request bodies", () => {
  it("any body, content type and token on POST routes: a JSON or HTML answer with a 4xx/2xx status, never a 500, never a started backup without the token", async () => {
    const stack = await startStack({
      broker: "embedded",
      lab: { scenario: "seed" },
      configure: (cfg) => {
        cfg.http.token = "fuzz-token";
      },
    });
    try {
      await stack.observer.until("state", () => stack.observer.json("backup2mqtt/guest/home_100/state"));
      const base = stack.service.httpUrl!;
      const posts = () => stack.lab.requests.filter((r) => r.method === "POST").length;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            "/api/v1/guests/home_999/backup",
            "/api/v1/guests/home_100/backup",
            "/guests/home_100/backup",
            "/api/v1/webhook/pve",
            "/api/v1/guests/%ZZ/backup",
          ),
          fc.constantFrom(
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "",
            "application/json; charset=latin1",
          ),
          fc.oneof(
            anyJson.map((v) => JSON.stringify(v)),
            fc.string({ maxLength: 300 }),
            fc.constant("x".repeat(200_000)),
          ),
          fc.constantFrom(undefined, "Bearer wrong", "Bearer ", "Basic Zm9vOmJhcg=="),
          async (path, type, body, auth) => {
            const before = posts();
            const res = await fetch(base + path, {
              method: "POST",
              headers: { ...(type ? { "content-type": type } : {}), ...(auth ? { authorization: auth } : {}) },
              body,
            });
            const text = await res.text();
            expect(res.status).toBeGreaterThanOrEqual(200);
            expect(res.status).toBeLessThan(500);
            expect(text.length).toBeGreaterThan(0);
            expect(posts()).toBe(before); // no valid token → nothing reached Proxmox
          },
        ),
        { numRuns: 400, seed: 3 },
      );
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await stack.stop();
    }
  }, 120_000);
});
