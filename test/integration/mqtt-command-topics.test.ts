/**
 * What reaches the MQTT publisher's command topics that is not a command, over a real broker
 * (embedded, and Mosquitto where installed): an empty payload — the user clearing a retained
 * command — is ignored without a rejection; a retained command from before the start is not run;
 * a command on a malformed topic is logged at debug with the topic instead of vanishing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../bridge/src/log.js";
import { MqttPublisher } from "../../bridge/src/extensions/mqtt/connection.js";
import { Topics } from "../../bridge/src/core/identity.js";
import { Observer } from "../support/observer.js";
import { brokerKinds, startBroker, type Broker } from "../support/stack.js";
import { until } from "./http-helpers.js";

type Received = { target: string; payload: string };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(kind: Parameters<typeof startBroker>[0], before?: (o: Observer) => Promise<unknown>) {
  const broker: Broker = await startBroker(kind);
  cleanups.push(() => broker.stop());
  const observer = await Observer.connect(broker.url);
  cleanups.push(() => observer.close());
  await before?.(observer);
  const logs: string[] = [];
  const sink = {
    write: (line: string) => {
      logs.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const received: Received[] = [];
  const pub = new MqttPublisher(
    { url: broker.url },
    new Topics("backup2mqtt", "homeassistant", "home"),
    createLogger("debug", () => [], sink),
    {
      onCommand: (target, payload) =>
        void received.push({
          target: "id" in target ? `${target.kind}:${target.id}` : target.kind,
          payload: payload.toString(),
        }),
      republish: () => undefined,
    },
    50,
  );
  await pub.start();
  cleanups.push(() => pub.stop());
  let probes = 0;
  /** Sends a real command and waits until it arrived: every message published before it has been handled. */
  const probe = async () => {
    const id = `probe${++probes}`;
    await until(
      `probe ${id}`,
      async () => {
        if (received.some((r) => r.target === `guest:${id}`)) return true;
        await observer.publish(`backup2mqtt/guest/${id}/command`, '{"action":"refresh"}');
        return received.some((r) => r.target === `guest:${id}`);
      },
      10_000,
      200,
    );
    const i = received.findIndex((r) => r.target === `guest:${id}`);
    received.splice(i, received.length - i); // the probe (and repeats of it) are not what is asserted
  };
  const lines = (msg: RegExp) =>
    logs
      .map((l) => JSON.parse(l) as { level: number | string; msg: string; topic?: string })
      .filter((l) => msg.test(l.msg));
  return { observer, received, logs, probe, lines };
}

for (const kind of brokerKinds()) {
  describe(`command topics that carry no command (${kind} broker)`, () => {
    it("a retained command is not run at start; clearing it (an empty retained message) and any empty payload are ignored without a rejection", async () => {
      const CMD = "backup2mqtt/guest/home_100/command";
      const s = await setup(kind, (o) => o.publish(CMD, '{"action":"backup"}', true));
      await s.probe();
      expect(s.received).toEqual([]); // the retained backup did not run
      expect(s.lines(/retained from before the bridge started/).map((l) => l.topic)).toEqual([CMD]);

      await s.observer.publish(CMD, "", true); // the user clears the retained command
      await s.observer.publish("backup2mqtt/bridge/command", "");
      await s.observer.publish("backup2mqtt/hyperbackup/2/command", "");
      await s.observer.publish("backup2mqtt/pbs/store1/command", "");
      await s.probe();
      expect(s.received).toEqual([]); // nothing reached the router, so no "not JSON" rejection
      expect(
        s
          .lines(/empty command ignored/)
          .map((l) => l.topic)
          .sort(),
      ).toEqual(
        [
          "backup2mqtt/bridge/command",
          CMD,
          "backup2mqtt/hyperbackup/2/command",
          "backup2mqtt/pbs/store1/command",
        ].sort(),
      );
      // Debug, not a warning: nothing is wrong.
      for (const l of s.lines(/empty command ignored/)) expect(l.level).toBe(20);

      // A real command still arrives.
      await s.observer.publish(CMD, '{"action":"verify"}');
      await s.probe();
      expect(s.received).toEqual([{ target: "guest:home_100", payload: '{"action":"verify"}' }]);
    });

    it("a command on a topic with an empty id (guest//command) is logged at debug with the topic, never run", async () => {
      const s = await setup(kind);
      await s.probe();
      const bad = ["backup2mqtt/guest//command", "backup2mqtt/hyperbackup//command", "backup2mqtt/pbs//command"];
      for (const t of bad) await s.observer.publish(t, '{"action":"backup"}');
      await s.probe();
      expect(s.received).toEqual([]);
      const logged = s.lines(/malformed command topic/);
      expect(logged.map((l) => l.topic).sort()).toEqual([...bad].sort());
      for (const l of logged) {
        expect(l.level).toBe(20);
        expect(l.msg).toBe("ignoring a message on a malformed command topic (expected backup2mqtt/guest/<id>/command)");
      }
    });

    it("a command one level too deep (guest/a/b/command) is logged at debug with the topic, never run", async () => {
      const s = await setup(kind);
      await s.probe();
      await s.observer.publish("backup2mqtt/guest/home_100/x/command", '{"action":"backup"}');
      await s.probe();
      expect(s.received).toEqual([]);
      expect(s.lines(/malformed command topic/).map((l) => l.topic)).toEqual(["backup2mqtt/guest/home_100/x/command"]);
    });
  });
}
