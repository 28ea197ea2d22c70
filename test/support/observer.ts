import mqtt, { type MqttClient } from "mqtt";

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

/** What is left of T once a truthiness check passed. */
type Truthy<T> = Exclude<T, undefined | null | false | 0 | "">;

/** An MQTT client that records everything it sees, for exact-publish assertions. */
export class Observer {
  readonly messages: Seen[] = [];
  /** Last payload per topic ("" = cleared). */
  readonly last = new Map<string, string>();
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, topics: string[] = ["#"]): Promise<Observer> {
    const client = mqtt.connect(url, {
      reconnectPeriod: 200,
      clientId: `observer_${Math.random().toString(16).slice(2)}`,
    });
    const o = new Observer(client);
    client.on("message", (topic, payload, packet) => {
      const text = payload.toString();
      o.messages.push({ topic, payload: text, retain: packet.retain, at: Date.now() });
      o.last.set(topic, text);
    });
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    await client.subscribeAsync(topics, { qos: 1 });
    return o;
  }

  json<T = any>(topic: string): T | undefined {
    const p = this.last.get(topic);
    return p ? (JSON.parse(p) as T) : undefined;
  }

  count(pred: (m: Seen) => boolean, since = 0): number {
    return this.messages.filter((m) => m.at >= since && pred(m)).length;
  }

  /** Waits until pred returns something truthy, polling, and returns that. */
  async until<T>(what: string, pred: () => T, timeoutMs = 15_000): Promise<Truthy<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v as Truthy<T>;
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  publish(topic: string, payload: string, retain = false) {
    return this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  close() {
    return this.client.endAsync(true);
  }
}
