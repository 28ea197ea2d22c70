/**
 * Command input, by category of bad input (issue 12, item 6): MQTT payloads through the real
 * CommandRouter (stub handlers that record what reaches them). For each category: inputs tried,
 * handled, crashes and lost, with a summary line printed (test/support/commands-fuzz.ts). MQTT
 * topics are in commands-topics.fuzz.test.ts, HTTP bodies in commands-http.fuzz.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ActionHandlers, CommandRouter, type Outcome, type Target } from "../../bridge/src/actions/router.js";
import { createLogger } from "../../bridge/src/log.js";
import { ALL_ACTIONS, anyJson, expectClean, FIELDS, tally, targetArb, validFor } from "../support/commands-fuzz.js";

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
