/**
 * Command input, by category of bad input (issue 12, item 6). For each category: inputs tried,
 * handled (refused with the sentence of that category — or ignored, for empty payloads — and
 * never passed to a handler), crashes (an exception or a 5xx: must be 0) and lost (neither
 * handled nor carried out: must be 0). A summary line per category is printed.
 *
 * MQTT payloads go through the real CommandRouter (stub handlers that record what reaches them);
 * MQTT topics through the real publisher and a real broker; HTTP bodies through the real express
 * app over real HTTP on a bridge that reads the simulated lab.
 */
import fc from "fast-check";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandRouter, type ActionHandlers, type Outcome, type Target } from "../../bridge/src/actions/router.js";
import { createLogger } from "../../bridge/src/log.js";
import { MqttPublisher } from "../../bridge/src/extensions/mqtt/connection.js";
import { Topics } from "../../bridge/src/core/identity.js";
import { startBroker, startStack, type Stack } from "../support/stack.js";
import { startHttp, until, type TestHttp } from "../integration/http-helpers.js";

interface Tally {
  tried: number;
  handled: number;
  crashes: number;
  lost: number;
  failures: string[];
}
const tallies = new Map<string, Tally>();
const tally = (category: string): Tally => {
  let t = tallies.get(category);
  if (!t) {
    t = { tried: 0, handled: 0, crashes: 0, lost: 0, failures: [] };
    tallies.set(category, t);
  }
  return t;
};
const summary = (category: string) => {
  const t = tally(category);
  const line = `commands fuzz: ${category}: tried ${t.tried}, handled ${t.handled}, crashes ${t.crashes}, lost ${t.lost}`;
  process.stdout.write(`${line}\n`);
  if (t.failures.length)
    process.stdout.write(
      `  first failures:\n${t.failures
        .slice(0, 5)
        .map((f) => `    ${f}`)
        .join("\n")}\n`,
    );
  return t;
};
const expectClean = (category: string) => {
  const t = summary(category);
  expect(t.tried).toBeGreaterThan(0);
  expect(t.failures.slice(0, 5)).toEqual([]);
  expect({ handled: t.handled, crashes: t.crashes, lost: t.lost }).toEqual({ handled: t.tried, crashes: 0, lost: 0 });
};

const anyJson = fc.jsonValue({ maxDepth: 3 });
const ALL_ACTIONS = ["backup", "verify", "restore_test", "set_tier", "refresh", "run", "forget"];
/** The fields each action allows besides `action` (bridge/schemas/command.schema.json). */
const FIELDS: Record<string, string[]> = {
  backup: ["storage", "mode", "request_id", "origin"],
  verify: ["request_id", "origin"],
  restore_test: ["request_id", "origin"],
  set_tier: ["tier", "request_id", "origin"],
  refresh: ["request_id", "origin"],
  run: ["request_id", "origin"],
};
const VALID_FOR: Record<Target["kind"], string[]> = {
  guest: ["backup", "verify", "restore_test", "set_tier", "refresh"],
  bridge: ["refresh"],
  hyperbackup: ["run", "refresh"],
  pbs: ["verify", "refresh"],
};
const targetArb: fc.Arbitrary<Target> = fc.constantFrom<Target>(
  { kind: "guest", id: "home_100" },
  { kind: "bridge" },
  { kind: "hyperbackup", id: "2" },
  { kind: "pbs", id: "store1" },
);
/** A command valid for the target (set_tier carries its tier), as an object to spoil. */
const validFor = (t: Target) =>
  fc
    .constantFrom(...VALID_FOR[t.kind])
    .map((action) => ({ action, ...(action === "set_tier" ? { tier: "P1" } : {}) }) as Record<string, unknown>);

// ---------------------------------------------------------------------------------------------
// MQTT payloads through the real router

describe("MQTT command payloads, by category", () => {
  let dispatched = 0;
  let reports: Outcome[] = [];
  const dispatch = () => {
    dispatched++;
    return Promise.resolve<Outcome>({ ok: true });
  };
  const handlers: ActionHandlers = {
    backup: dispatch,
    verify: dispatch,
    restoreTest: dispatch,
    setTier: dispatch,
    refresh: dispatch,
    runHyperBackup: dispatch,
    verifyDatastore: dispatch,
    report: (_t, _c, o) => void reports.push(o),
  };
  const router = new CommandRouter(handlers, createLogger("silent"));

  /**
   * One input: handled when the router refused it with a reason matching `reason`, reported it
   * exactly once and passed nothing to a handler (or, with `ignored`, reported nothing at all).
   */
  async function attempt(category: string, target: Target, payload: Buffer, reason: RegExp | "ignored") {
    const t = tally(category);
    t.tried++;
    dispatched = 0;
    reports = [];
    let outcome: Outcome;
    try {
      outcome = await router.handle(target, payload, "fuzz");
    } catch (e) {
      t.crashes++;
      t.failures.push(`threw ${(e as Error).message} on ${payload.toString("utf8").slice(0, 80)}`);
      return;
    }
    const noRawText =
      outcome.ok || !/must be equal to|must NOT have|must match|oneOf|instancePath|\(payload\)/.test(outcome.reason);
    const ok =
      reason === "ignored"
        ? !outcome.ok && reports.length === 0 && dispatched === 0
        : !outcome.ok &&
          outcome.invalid === true &&
          reason.test(outcome.reason) &&
          noRawText &&
          reports.length === 1 &&
          reports[0] === outcome &&
          dispatched === 0;
    if (ok) t.handled++;
    else {
      // Lost: not carried out and not told (no report) — the user would never learn why.
      if (dispatched === 0 && reports.length === 0 && reason !== "ignored") t.lost++;
      t.failures.push(
        `${JSON.stringify(target)} ${payload.toString("utf8").slice(0, 80)} → ${JSON.stringify(outcome).slice(0, 200)} (reports ${reports.length}, dispatched ${dispatched})`,
      );
    }
  }

  const run = <T>(arb: fc.Arbitrary<T>, n: number, seed: number, each: (v: T) => Promise<void>) =>
    fc.assert(
      fc.asyncProperty(arb, async (v) => void (await each(v))),
      { numRuns: n, seed },
    );

  it("non-JSON", async () => {
    const text = fc.oneof(
      fc.string({ minLength: 1, maxLength: 300 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
      fc
        .constantFrom(
          "{",
          "{action:backup}",
          "{'action':'backup'}",
          "backup",
          '{"action":"backup",}',
          "NaN",
          "undefined",
          "\u0000",
        )
        .map((s) => Buffer.from(s)),
    );
    const notJson = text.filter((b) => {
      try {
        JSON.parse(b.toString("utf8"));
        return false;
      } catch {
        return true;
      }
    });
    await run(fc.tuple(targetArb, notJson), 2000, 101, ([t, p]) =>
      attempt("non-JSON", t, p, /^the command is not JSON; send an object such as \{"action":"[a-z_]+"\}$/),
    );
    expectClean("non-JSON");
  });

  it("JSON that is not an object", async () => {
    const nonObject = fc.oneof(
      fc.array(anyJson, { maxLength: 5 }),
      fc.string({ maxLength: 50 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    await run(fc.tuple(targetArb, nonObject), 2000, 102, ([t, v]) =>
      attempt(
        "JSON non-object",
        t,
        Buffer.from(JSON.stringify(v)),
        /^a command must be a JSON object such as \{"action":"[a-z_]+"\} \(got (an array|a string|a number|a boolean|null)\)$/,
      ),
    );
    expectClean("JSON non-object");
  });

  it("unknown action", async () => {
    const action = fc
      .oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom("delete_all", "BACKUP", "Backup", " backup", "backup ", "restore", "verify_now", ""),
      )
      .filter((a) => !ALL_ACTIONS.includes(a));
    await run(
      fc.tuple(targetArb, action, fc.option(fc.string({ maxLength: 20 }), { nil: undefined })),
      2000,
      103,
      ([t, a, rid]) =>
        attempt(
          "unknown action",
          t,
          Buffer.from(JSON.stringify({ action: a, ...(rid === undefined ? {} : { request_id: rid }) })),
          /^unknown action '.*'; valid actions for (a guest|the bridge|a Hyper Backup task|a PBS datastore): [a-z_, ]+$/s,
        ),
    );
    expectClean("unknown action");
  });

  it("wrong field types and values", async () => {
    const notString = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(anyJson, { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), anyJson, { maxKeys: 3 }),
    );
    const spoiled = targetArb.chain((t) =>
      fc.tuple(
        fc.constant(t),
        validFor(t).chain((cmd) =>
          fc.constantFrom("action", ...FIELDS[cmd.action as string]!).chain((field) => {
            const bad =
              field === "mode"
                ? fc.oneof(
                    notString,
                    fc.string({ maxLength: 20 }).filter((s) => !["snapshot", "suspend", "stop"].includes(s)),
                  )
                : field === "storage"
                  ? fc.oneof(notString, fc.constantFrom("../etc", "a b", "", "-x", "nas;rm", "é"))
                  : field === "request_id" || field === "origin"
                    ? fc.oneof(notString, fc.string({ minLength: 65, maxLength: 200 }))
                    : field === "tier"
                      ? fc.oneof(notString, fc.string({ minLength: 17, maxLength: 40 }))
                      : notString;
            return bad.map((v) => ({ ...cmd, [field]: v }));
          }),
        ),
      ),
    );
    await run(spoiled, 3000, 104, ([t, cmd]) =>
      attempt(
        "wrong field types",
        t,
        Buffer.from(JSON.stringify(cmd)),
        /^'(action|storage|mode|request_id|origin|tier)' (must|is missing)/,
      ),
    );
    expectClean("wrong field types");
  });

  it("extra fields", async () => {
    const withExtra = targetArb.chain((t) =>
      fc.tuple(
        fc.constant(t),
        validFor(t),
        fc.uniqueArray(
          fc.oneof(
            fc.string({ maxLength: 20 }),
            fc.constantFrom("foo", "__proto__", "constructor", "Action", "actions", "toString", "storage ", "tier"),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        anyJson,
      ),
    );
    let cases = 0;
    await run(withExtra, 3000, 105, async ([t, cmd, keys, value]) => {
      const extra = keys.filter((k) => k !== "action" && !FIELDS[cmd.action as string]!.includes(k));
      if (!extra.length) return;
      cases++;
      // Built as text: "__proto__" stays an own key of the parsed object, as it would from a broker.
      const text = `{${[...Object.entries(cmd).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`), ...extra.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value)}`)].join(",")}}`;
      await attempt("extra fields", t, Buffer.from(text), /^unknown fields? '.*' \(valid fields: [a-z_, ]+\)/s);
    });
    expect(cases).toBeGreaterThan(2500);
    expectClean("extra fields");
  });

  it("too large", async () => {
    const big = fc.oneof(
      fc
        .integer({ min: 4100, max: 60_000 })
        .map((n) => JSON.stringify({ action: "backup", request_id: "x".repeat(n) })),
      fc.integer({ min: 2049, max: 5000 }).map((n) => JSON.stringify({ action: "refresh", origin: "é".repeat(n) })), // fewer characters than bytes
      fc.integer({ min: 4097, max: 20_000 }).map((n) => "[".repeat(n)),
      fc.string({ minLength: 4097, maxLength: 6000 }),
    );
    await run(fc.tuple(targetArb, big), 400, 106, ([t, p]) => {
      const b = Buffer.from(p);
      return b.length > 4096
        ? attempt("too large", t, b, /^the command is too large \([\d,]+ bytes; at most 4,096\)$/)
        : Promise.resolve();
    });
    expectClean("too large");
  });

  it("empty payload", async () => {
    await run(targetArb, 200, 107, (t) => attempt("empty payload", t, Buffer.alloc(0), "ignored"));
    await attempt("empty payload", { kind: "guest", id: "home_100" }, Buffer.from(""), "ignored");
    expectClean("empty payload");
  });
});

// ---------------------------------------------------------------------------------------------
// MQTT topics through the real publisher and broker

describe("MQTT command topics, by category", () => {
  it("malformed topics are never run as commands and are logged at debug with the topic; odd but well-formed ids reach the router exactly", async () => {
    const broker = await startBroker("embedded");
    const logs: string[] = [];
    const sink = {
      write: (line: string) => {
        logs.push(line);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    const got: string[] = [];
    const pub = new MqttPublisher(
      { url: broker.url },
      new Topics("backup2mqtt", "homeassistant", "home"),
      createLogger("debug", () => [], sink),
      {
        onCommand: (t) => void got.push("id" in t ? `${t.kind}/${t.id}` : t.kind),
        republish: () => undefined,
      },
      50,
    );
    const client = await mqtt.connectAsync(broker.url, { clientId: `fuzz_${Math.random().toString(16).slice(2)}` });
    try {
      await pub.start();
      await until(
        "subscribed",
        async () => {
          await client.publishAsync("backup2mqtt/guest/ready/command", "{}", { qos: 1 });
          return got.includes("guest/ready");
        },
        10_000,
        200,
      );
      got.length = 0;
      // One MQTT topic level: no '/', no wildcards, no NUL (a broker refuses those in a PUBLISH).
      const level = fc.string({ minLength: 1, maxLength: 24 }).filter((s) => !/[/+#]/.test(s) && !s.includes("\u0000"));
      const kinds = fc.constantFrom("guest", "hyperbackup", "pbs");
      const malformed = fc.oneof(
        kinds.map((k) => `backup2mqtt/${k}//command`),
        fc.tuple(level, level).map(([a, b]) => `backup2mqtt/guest/${a}/${b}/command`),
      );
      const topics = fc.sample(malformed, { numRuns: 300, seed: 201 });
      const odd = fc
        .sample(fc.tuple(kinds, level), { numRuns: 200, seed: 202 })
        .map(([k, id]) => ({ topic: `backup2mqtt/${k}/${id}/command`, expect: `${k}/${id}` }));
      for (const t of topics) await client.publishAsync(t, '{"action":"backup"}', { qos: 1 });
      for (const o of odd) await client.publishAsync(o.topic, '{"action":"refresh"}', { qos: 1 });
      await client.publishAsync("backup2mqtt/guest/last/command", "{}", { qos: 1 });
      await until("all delivered", () => got.includes("guest/last"), 10_000);

      const logged = logs
        .map((l) => JSON.parse(l) as { level: number; msg: string; topic?: string })
        .filter((l) => /malformed command topic/.test(l.msg));
      const loggedTopics = new Map<string, number>();
      for (const l of logged) loggedTopics.set(l.topic!, (loggedTopics.get(l.topic!) ?? 0) + 1);
      const m = tally("malformed topic");
      const deep = topics.filter((t) => t.split("/").length === 5);
      for (const t of topics) {
        m.tried++;
        const n = loggedTopics.get(t) ?? 0;
        if (n > 0) {
          loggedTopics.set(t, n - 1);
          m.handled++;
        } else if (deep.includes(t))
          m.failures.push(`${t}: not delivered (start() must subscribe <base>/guest/+/+/command)`);
        else {
          m.lost++;
          m.failures.push(`${t}: delivered but not logged`);
        }
      }
      for (const l of logged) expect(l.level).toBe(20);
      // Nothing malformed was dispatched: every dispatched target is one of the well-formed odd ids (or the marker).
      const dispatchedMalformed = got.filter(
        (g) => g !== "guest/last" && g !== "guest/ready" && !odd.some((o) => o.expect === g),
      );
      expect(dispatchedMalformed).toEqual([]);
      const o = tally("odd but well-formed ids");
      for (const x of odd) {
        o.tried++;
        if (got.includes(x.expect)) o.handled++;
        else o.lost++;
      }
      expectClean("odd but well-formed ids");
      expectClean("malformed topic");
    } finally {
      await client.endAsync(true);
      await pub.stop();
      await broker.stop();
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// HTTP bodies through the real app over real HTTP

describe("HTTP command bodies, by category", () => {
  const TOKEN = "fuzz-http-token-8c2e4a";
  let stack: Stack;
  let http: TestHttp;
  const vzdumps = () => stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump")).length;
  beforeAll(async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed" } });
    await until("first evaluation", () => stack.service.engine.result?.guests.length === 5);
    http = await startHttp(stack, TOKEN, { rateLimit: { windowMs: 60_000, limit: 1_000_000 } });
  });
  afterAll(async () => {
    await http?.close();
    await stack?.stop();
  });

  async function send(
    category: string,
    path: string,
    body: string | Uint8Array,
    contentType: string | undefined,
    expected: (status: number, error: string) => boolean,
  ) {
    const t = tally(category);
    t.tried++;
    try {
      const res = await fetch(http.url + path, {
        method: "POST",
        body: typeof body === "string" ? body : new Uint8Array(body),
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(contentType === undefined ? {} : { "content-type": contentType }),
        },
      });
      const text = await res.text();
      if (res.status >= 500) {
        t.crashes++;
        t.failures.push(`${contentType} ${String(body).slice(0, 60)} → ${res.status} ${text.slice(0, 120)}`);
        return;
      }
      let error = "";
      try {
        error = (JSON.parse(text) as { error?: string }).error ?? "";
      } catch {
        /* not JSON: not handled */
      }
      if (error && expected(res.status, error) && !/entity|stack|at \w+ \(|Unexpected token|SyntaxError/.test(error))
        t.handled++;
      else {
        if (res.status < 300) t.lost++; // accepted although it should not have been
        t.failures.push(
          `${JSON.stringify(contentType)} ${String(body).slice(0, 60)} → ${res.status} ${text.slice(0, 160)}`,
        );
      }
    } catch (e) {
      t.crashes++;
      t.failures.push(`request failed: ${(e as Error).message}`);
    }
  }

  it("content types other than application/json (UTF-8): 415 with a sentence; JSON ones reach the command checks", async () => {
    const before = vzdumps();
    const printable = fc.string({ minLength: 1, maxLength: 60 }).filter((s) => /^[\x21-\x7e][\x20-\x7e]*$/.test(s));
    const types = fc.oneof(
      fc.constantFrom(
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-patch+json",
        "application/jsonx",
        "json",
        "text/json",
        "application/javascript",
        "application/json; charset=latin1",
        "application/json; charset=utf-16le",
        "application/octet-stream",
      ),
      printable,
      fc.constant(undefined), // a body without a Content-Type
    );
    const bodies = fc.oneof(
      fc.constant('{"storage":"nas"}'),
      fc.constant("[]"),
      fc.string({ minLength: 1, maxLength: 200 }),
    );
    const cases = fc.sample(fc.tuple(types, bodies), { numRuns: 400, seed: 301 });
    for (const [type, body] of cases) {
      const media = (type ?? "").split(";")[0]!.trim().toLowerCase();
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type ?? "")?.[1];
      const jsonType = media === "application/json" && (!charset || /^utf-?8$/i.test(charset));
      const bytes = type === undefined ? new TextEncoder().encode(body) : body;
      await send("HTTP content types", "/api/v1/guests/home_999/backup", bytes, type, (status, error) =>
        jsonType
          ? [400, 404].includes(status)
          : status === 415 &&
            /^the request body must be (JSON sent with Content-Type: application\/json \(got (no Content-Type|Content-Type .*)\); send no body at all for no options|UTF-8 \(got charset .*\))$/s.test(
              error,
            ),
      );
    }
    // Well-formed JSON types with a charset parameter are accepted as JSON (reach the router: unknown guest).
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "Application/JSON;charset=UTF-8",
      'application/json; charset="utf-8"',
    ])
      await send(
        "HTTP content types",
        "/api/v1/guests/home_999/backup",
        '{"mode":"stop"}',
        type,
        (status, error) => status === 404 && error === "unknown guest 'home_999'",
      );
    expect(vzdumps()).toBe(before);
    expectClean("HTTP content types");
  }, 120_000);

  it("JSON arrays and scalars: 400 'the request body must be a JSON object…', nothing starts (on a real, idle guest)", async () => {
    const before = vzdumps();
    const nonObject = fc.oneof(
      fc.array(anyJson, { maxLength: 5 }),
      fc.string({ maxLength: 40 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const cases = fc.sample(
      fc.tuple(nonObject, fc.constantFrom("application/json", "application/json; charset=utf-8")),
      { numRuns: 400, seed: 302 },
    );
    for (const [v, type] of cases)
      await send(
        "HTTP array/scalar bodies",
        "/api/v1/guests/home_100/backup",
        JSON.stringify(v),
        type,
        (status, error) =>
          status === 400 &&
          /^the request body must be a JSON object such as \{"storage":"nas"\} \(got (an array|a string|a number|a boolean|null)\)$/.test(
            error,
          ),
      );
    expect(vzdumps()).toBe(before);
    expectClean("HTTP array/scalar bodies");
  }, 120_000);
});
