/**
 * The demo's embedded broker speaks MQTT 5 and MQTT 3.1.1. Home Assistant's MQTT integration
 * connects with MQTT 5 unless told otherwise, so "add the MQTT integration, give it the demo
 * broker's host and port" only works when the broker accepts MQTT 5.
 *
 * First the demo itself (the same runDemo the `demo` command calls): a late MQTT 5 client and a
 * late 3.1.1 client both get every device's discovery config and every state the configs point
 * at, retained, byte for byte the same. Then the broker alone, for each protocol version: the
 * MQTT features the bridge and Home Assistant rely on (retained messages, last will, QoS 1,
 * wildcard subscriptions, clean and persistent sessions).
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "backup2mqtt-lab";
import { runDemo } from "../../bridge/src/commands/demo.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";

type Version = 4 | 5;
/** What is left of T once a truthiness check passed. */
type Truthy<T> = Exclude<T, undefined | null | false | 0 | "">;
const NAME: Record<Version, string> = { 4: "MQTT 3.1.1", 5: "MQTT 5" };

interface Received {
  payload: string;
  retain: boolean;
  qos: number;
}

/** An MQTT client of one protocol version that keeps every message it receives, per topic. */
class Client {
  readonly messages = new Map<string, Received[]>();
  /** Whether the broker said, in its CONNACK, that it still had a session for this client id. */
  sessionPresent = false;
  private constructor(readonly mqtt: MqttClient) {
    mqtt.on("message", (topic, payload, packet) => {
      const list = this.messages.get(topic) ?? [];
      list.push({ payload: payload.toString(), retain: packet.retain, qos: packet.qos });
      this.messages.set(topic, list);
    });
  }

  static async connect(url: string, version: Version, o: IClientOptions = {}): Promise<Client> {
    const c = new Client(mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0, ...o }));
    await new Promise<void>((resolve, reject) => {
      c.mqtt.once("connect", (connack) => {
        c.sessionPresent = connack.sessionPresent;
        resolve();
      });
      c.mqtt.once("error", reject);
    });
    return c;
  }

  /** The last message on a topic. */
  last(topic: string): Received | undefined {
    return this.messages.get(topic)?.at(-1);
  }

  all(topic: string): Received[] {
    return this.messages.get(topic) ?? [];
  }

  /** Waits until pred holds (polling), then returns its value. */
  async until<T>(what: string, pred: () => T, timeoutMs = 10_000): Promise<Truthy<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v as Truthy<T>;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): Promise<void> {
    return this.mqtt.endAsync();
  }
}

const clients: Client[] = [];
async function connect(url: string, version: Version, o: IClientOptions = {}): Promise<Client> {
  const c = await Client.connect(url, version, o);
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the demo over MQTT 5 and MQTT 3.1.1", () => {
  let demo: Awaited<ReturnType<typeof runDemo>>;
  beforeAll(async () => {
    demo = await runDemo({
      scenario: "demo",
      mqttPort: 0,
      httpPort: 0,
      taskSpeed: 10,
      logLevel: "warn",
      pollSeconds: 2,
    });
  }, 30_000);
  afterAll(async () => {
    await demo?.stop();
  });

  /** Every device the demo scenario yields: its guests, its Hyper Backup tasks, its PBS datastores and the bridge. */
  function expectedConfigTopics(): string[] {
    const sc = loadScenario("demo");
    const ids = [
      ...sc.guests.map((g) => `home_${g.vmid}`),
      ...(sc.synology?.tasks ?? []).map((t) => `home_hyperbackup_${t.id}`),
      ...(sc.pbs?.datastores ?? []).map((d) => `home_pbs_${d.name}`),
      "home_bridge",
    ];
    return ids.map((id) => `homeassistant/device/backup2mqtt_${id}/config`).sort();
  }

  /**
   * The topics a discovery config tells Home Assistant to read a device's state from: every
   * component's state and attributes topic, and the availability topics. Event entities' topics
   * are left out: an event is news when it happens and is published without retain.
   */
  function stateTopicsOf(config: string): string[] {
    const c = JSON.parse(config) as {
      availability?: { topic: string }[];
      components: Record<string, Record<string, unknown>>;
    };
    const topics = new Set<string>((c.availability ?? []).map((a) => a.topic));
    for (const comp of Object.values(c.components))
      for (const key of ["state_topic", "json_attributes_topic"])
        if (typeof comp[key] === "string" && (comp.platform ?? comp.p) !== "event") topics.add(comp[key] as string);
    return [...topics].sort();
  }

  it("a late MQTT 5 client and a late MQTT 3.1.1 client get every device's discovery and states, retained and identical", async () => {
    const configTopics = expectedConfigTopics();
    expect(configTopics.length).toBe(5 + 2 + 1 + 1);
    // An MQTT 5 client that follows the demo until every device and every state it points at is published.
    const watcher = await connect(demo.broker.url, 5);
    await watcher.mqtt.subscribeAsync(["homeassistant/device/#", "backup2mqtt/#"], { qos: 1 });
    let missing: string[] = [];
    const stateTopics = await watcher
      .until(
        "every device's config and states",
        () => {
          const configs = configTopics.map((t) => watcher.last(t)?.payload);
          const states = [...new Set(configs.flatMap((c) => (c ? stateTopicsOf(c) : [])))].sort();
          missing = [...configTopics, ...states].filter((t) => !watcher.last(t)?.payload);
          return configs.every(Boolean) && !missing.length && states;
        },
        30_000,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; still missing: ${missing.join(", ")}`);
      });
    expect(stateTopics).toEqual(
      expect.arrayContaining([
        "backup2mqtt/bridge/state",
        "backup2mqtt/guest/home_100/state",
        "backup2mqtt/guest/home_105/state",
        "backup2mqtt/hyperbackup/2/state",
        "backup2mqtt/pbs/store1/state",
      ]),
    );

    // Two clients that connect now see only what the broker retained.
    const late = { 5: await connect(demo.broker.url, 5), 4: await connect(demo.broker.url, 4) };
    await Promise.all(
      Object.values(late).map((c) => c.mqtt.subscribeAsync(["homeassistant/device/#", "backup2mqtt/#"], { qos: 1 })),
    );
    for (const c of Object.values(late))
      await c.until("the retained messages", () => [...configTopics, ...stateTopics].every((t) => c.last(t)), 5_000);
    const retained = (c: Client, t: string) => c.all(t).find((m) => m.retain)?.payload;
    for (const version of [5, 4] as const) {
      const c = late[version];
      for (const t of [...configTopics, ...stateTopics])
        expect(retained(c, t), `${NAME[version]}: a retained message on ${t}`).toBeTruthy();
      // Every discovery config parses and names the device of its topic.
      for (const t of configTopics) {
        const config = JSON.parse(retained(c, t)!) as { device: { identifiers: string[] } };
        expect(config.device.identifiers).toContain(/device\/([^/]+)\/config$/.exec(t)![1]);
      }
    }
    // Both protocol versions get the very same retained discovery (payloads byte for byte).
    for (const t of configTopics) expect(retained(late[4], t), t).toBe(retained(late[5], t));
    // And every state (it may change between the two subscriptions: each must be one the watcher saw published).
    for (const t of stateTopics) {
      const history = watcher.all(t).map((m) => m.payload);
      expect(history, `${t} retained for MQTT 3.1.1`).toContain(retained(late[4], t));
      expect(history, `${t} retained for MQTT 5`).toContain(retained(late[5], t));
    }
  }, 60_000);

  it("a Back up now command sent over MQTT 5 runs, and both versions see the guest go through running", async () => {
    const topic = "backup2mqtt/guest/home_103/state";
    const watchers = { 5: await connect(demo.broker.url, 5), 4: await connect(demo.broker.url, 4) };
    for (const c of Object.values(watchers)) await c.mqtt.subscribeAsync(topic, { qos: 1 });
    await watchers[5].until("103's state", () => watchers[5].last(topic));
    await watchers[5].mqtt.publishAsync("backup2mqtt/guest/home_103/command", '{"action":"backup"}', { qos: 1 });
    for (const [version, c] of Object.entries(watchers))
      await c.until(
        `${NAME[Number(version) as Version]}: 103 running`,
        () => c.all(topic).some((m) => JSON.parse(m.payload).running === true),
        15_000,
      );
  }, 30_000);
});

describe.each([4, 5] as const)("the embedded broker with %s clients (4 = MQTT 3.1.1, 5 = MQTT 5)", (version) => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker(0);
  });
  afterAll(async () => {
    await broker?.close();
  });
  const as = (o: IClientOptions = {}) => connect(broker.url, version, o);
  /** Session options that keep a session after disconnecting: Clean Session 0 in 3.1.1, a Session Expiry Interval in MQTT 5. */
  const persistent: IClientOptions =
    version === 5 ? { clean: false, properties: { sessionExpiryInterval: 300 } } : { clean: false };

  it("keeps a retained message for later subscribers (also through a + wildcard) and forgets it on an empty retained payload", async () => {
    const pub = await as();
    await pub.mqtt.publishAsync("r/a/x", "kept", { qos: 1, retain: true });
    const sub = await as();
    await sub.mqtt.subscribeAsync("r/+/x", { qos: 1 });
    const got = await sub.until("the retained message", () => sub.last("r/a/x"));
    expect(got).toEqual({ payload: "kept", retain: true, qos: 1 });

    await pub.mqtt.publishAsync("r/a/x", "", { qos: 1, retain: true });
    const later = await as();
    await later.mqtt.subscribeAsync("r/#", { qos: 1 });
    await pub.mqtt.publishAsync("r/marker", "m", { qos: 1 });
    await later.until("the marker", () => later.last("r/marker"));
    expect(later.all("r/a/x")).toEqual([]);
  });

  it("delivers a QoS 1 message live through a # wildcard, without the retain flag", async () => {
    const sub = await as();
    await sub.mqtt.subscribeAsync("q/#", { qos: 1 });
    const pub = await as();
    await pub.mqtt.publishAsync("q/b/c/d", "live", { qos: 1 });
    expect(await sub.until("the message", () => sub.last("q/b/c/d"))).toEqual({
      payload: "live",
      retain: false,
      qos: 1,
    });
  });

  it("publishes the last will (retained) when a client's connection drops, and not when it disconnects cleanly", async () => {
    const sub = await as();
    await sub.mqtt.subscribeAsync(["w/dropped", "w/clean"], { qos: 1 });
    const dropped = await as({ will: { topic: "w/dropped", payload: Buffer.from("offline"), qos: 1, retain: true } });
    const clean = await as({ will: { topic: "w/clean", payload: Buffer.from("offline"), qos: 1, retain: true } });
    await clean.close();
    dropped.mqtt.stream.destroy();
    expect(await sub.until("the will", () => sub.last("w/dropped"))).toMatchObject({ payload: "offline", qos: 1 });
    const later = await as();
    await later.mqtt.subscribeAsync("w/#", { qos: 1 });
    expect(await later.until("the retained will", () => later.last("w/dropped"))).toMatchObject({
      payload: "offline",
      retain: true,
    });
    await sleep(200);
    expect(sub.all("w/clean")).toEqual([]);
    expect(later.all("w/clean")).toEqual([]);
  });

  it("a persistent session keeps its subscription and queues QoS 1 messages while the client is away", async () => {
    const clientId = `persistent-${version}`;
    const first = await as({ clientId, ...persistent });
    await first.mqtt.subscribeAsync("p/t", { qos: 1 });
    await first.close();
    expect(first.sessionPresent).toBe(false);
    const pub = await as();
    await pub.mqtt.publishAsync("p/t", "queued", { qos: 1 });
    const again = await as({ clientId, ...persistent });
    expect(again.sessionPresent).toBe(true);
    expect(await again.until("the queued message", () => again.last("p/t"))).toMatchObject({
      payload: "queued",
      qos: 1,
    });
  });

  it("a clean session starts empty: no subscription, nothing queued", async () => {
    const clientId = `clean-${version}`;
    const first = await as({ clientId, clean: true });
    await first.mqtt.subscribeAsync("c/t", { qos: 1 });
    await first.close();
    const pub = await as();
    await pub.mqtt.publishAsync("c/t", "lost", { qos: 1 });
    const again = await as({ clientId, clean: true });
    expect(again.sessionPresent).toBe(false);
    // A message published now arrives only if a subscription had survived: it must not.
    await pub.mqtt.publishAsync("c/t", "after", { qos: 1 });
    await sleep(300);
    expect(again.all("c/t")).toEqual([]);
  });

  it(`carries messages between ${NAME[version]} and ${NAME[version === 5 ? 4 : 5]} clients`, async () => {
    const other: Version = version === 5 ? 4 : 5;
    const sub = await connect(broker.url, other);
    await sub.mqtt.subscribeAsync("x/#", { qos: 1 });
    const pub = await as();
    await pub.mqtt.publishAsync("x/y", '{"from":"the other version"}', { qos: 1, retain: true });
    expect(await sub.until("the message", () => sub.last("x/y"))).toEqual({
      payload: '{"from":"the other version"}',
      retain: false,
      qos: 1,
    });
    const late = await connect(broker.url, other);
    await late.mqtt.subscribeAsync("x/#", { qos: 1 });
    expect(await late.until("the retained message", () => late.last("x/y"))).toMatchObject({ retain: true });
  });
});
