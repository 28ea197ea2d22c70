/**
 * Command input, by category of bad input (issue 12, item 6): HTTP bodies through the real express
 * app over real HTTP on a bridge that reads the simulated lab. For each category: inputs tried,
 * handled, crashes (a 5xx) and lost, with a summary line printed (test/support/commands-fuzz.ts).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttp, type TestHttp, until } from "../integration/http-helpers.js";
import { anyJson, expectClean, tally } from "../support/commands-fuzz.js";
import { type Stack, startStack } from "../support/stack.js";

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
