/**
 * Command input, by category of bad input (issue 12, item 6): MQTT command topics through the
 * real publisher and a real broker. Malformed topics are never run as commands; odd but
 * well-formed ids reach the router exactly. Tallies and summary lines: test/support/commands-fuzz.ts.
 */
import fc from "fast-check";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { Topics } from "../../bridge/src/core/identity.js";
import { MqttPublisher } from "../../bridge/src/extensions/mqtt/connection.js";
import { createLogger } from "../../bridge/src/log.js";
import { until } from "../integration/http-helpers.js";
import { expectClean, tally } from "../support/commands-fuzz.js";
import { startBroker } from "../support/stack.js";

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
