import mqtt, { type MqttClient } from "mqtt";

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

/** An MQTT client that records everything it sees, for exact-publish assertions. */
export class Observer {
  readonly messages: Seen[] = [];
  /** Last payload per topic ("" = cleared). */
  readonly last = new Map<string, string>();
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, topics: string[] = ["#"]): Promise<Observer> {
    const client = mqtt.connect(url, { reconnectPeriod: 200, clientId: `observer_${Math.random().toString(16).slice(2)}` });
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

  /** Waits until pred holds, polling; fails with what was last seen. */
  async until<T>(what: string, pred: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
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
