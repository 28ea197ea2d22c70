/**
 * Shared by the device retention suites (test/integration/device-retention*.test.ts): the topics
 * of a guest's device, what is retained of this bridge and what changed of it since a moment, the
 * wait for every guest to be published, and cleaning the shared broker between tests.
 */
import path from "node:path";
import type { Config } from "../../bridge/src/config/load.js";
import type { Observer } from "./observer.js";
import { afterAll, afterEach, beforeAll } from "vitest";
import { type Broker, type BrokerKind, type Stack, startBroker } from "./stack.js";

export const CONFIG = (id: string) => `homeassistant/device/backup2mqtt_${id}/config`;
export const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
export const GUESTS = ["home_100", "home_101", "home_102", "home_103", "home_105"];
export const CLI = path.resolve("bridge/dist/cli.js");

/** Every retained device config and guest state of this bridge, as last seen. */
export function retainedDevices(o: Observer, base = "backup2mqtt", site = "home"): Map<string, string> {
  return new Map(
    [...o.last].filter(
      ([t]) =>
        t.startsWith(`homeassistant/device/backup2mqtt_${site}_`) ||
        (t.startsWith(`${base}/guest/`) && t.endsWith("/state")),
    ),
  );
}

/** What Home Assistant keys a device and its entities by: identifiers, unique ids and the topics they read. */
export function identity(config: string | undefined): unknown {
  if (!config) return config;
  const c = JSON.parse(config) as {
    device: { identifiers: string[] };
    components: Record<string, { unique_id: string; state_topic?: string; command_topic?: string }>;
  };
  return {
    ids: c.device.identifiers,
    cmps: Object.values(c.components).map((x) => [x.unique_id, x.state_topic, x.command_topic]),
  };
}

/** Messages on device topics since `t` that cleared or changed what was retained before. */
export function changedSince(o: Observer, before: Map<string, string>, t: number): string[] {
  return o.messages
    .filter(
      (m) => m.at >= t && before.has(m.topic) && m.topic.includes("/device/") && m.payload !== before.get(m.topic),
    )
    .map((m) => `${m.topic} → ${m.payload.slice(0, 40) || "(cleared)"}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until this bridge itself (live messages, not retained ones from an earlier run) published every guest. */
export async function allPublished(s: Stack): Promise<Map<string, string>> {
  const live = (topic: string) => s.observer.messages.some((m) => !m.retain && m.topic === topic && m.payload);
  await s.observer.until("every guest's config and state", () =>
    GUESTS.every((id) => live(CONFIG(id)) && live(STATE(id)) && s.observer.json(STATE(id))?.status !== "unknown"),
  );
  await s.observer.until("the bridge's config", () => live("homeassistant/device/backup2mqtt_home_bridge/config"));
  return retainedDevices(s.observer);
}

/** A config fixed by the user is read at the next start. */
export async function restartWithGoodConfig(s: Stack, good: Config["proxmox"][number]): Promise<void> {
  await s.stopBridge();
  s.cfg.proxmox[0] = good;
  await s.startBridge();
}

/** Clears everything retained on the shared broker, so the next test starts from an empty one. */
export async function clearBroker(s: Stack): Promise<void> {
  await s.service?.stop().catch(() => undefined);
  for (const [topic, payload] of s.observer.last) if (payload) await s.observer.publish(topic, "", true);
}

/**
 * The hooks every device-retention file needs: one broker of `kind` for the describe block, and the
 * stack of the running test (set `ctx.stack`), cleared from the broker and stopped after it.
 */
export function brokerAndStack(kind: BrokerKind): { broker: Broker; stack: Stack | undefined } {
  const ctx: { broker: Broker; stack: Stack | undefined } = {
    broker: undefined as unknown as Broker,
    stack: undefined,
  };
  beforeAll(async () => {
    ctx.broker = await startBroker(kind);
  });
  afterAll(async () => {
    await ctx.broker.stop();
  });
  afterEach(async () => {
    if (ctx.stack) await clearBroker(ctx.stack);
    await ctx.stack?.stop();
    ctx.stack = undefined;
  });
  return ctx;
}
