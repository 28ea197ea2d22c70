/**
 * Reading what Home Assistant made of the bridge: its devices and entities (registries), its
 * states (REST) and every state change it went through (a WebSocket `state_changed` recorder, so
 * short-lived states such as "Backup running: on" are seen even between two polls).
 */
import type { HaDeviceRegistryEntry, HaEntityRegistryEntry, HaState, HomeAssistant } from "./runner.js";

export interface ExtendedEntity extends HaEntityRegistryEntry {
  original_device_class: string | null;
  capabilities: Record<string, unknown> | null;
}

export interface DeviceView {
  device: HaDeviceRegistryEntry;
  /** Entities of this device by their name (HA's original_name: the entity part only). */
  entities: Map<string, ExtendedEntity>;
}

/** The MQTT device with this identifier and its entities, or undefined when HA has no such device. */
export async function deviceView(ha: HomeAssistant, identifier: string): Promise<DeviceView | undefined> {
  const device = (await ha.ws.deviceRegistry()).find((d) =>
    d.identifiers.some(([dom, id]) => dom === "mqtt" && id === identifier),
  );
  if (!device) return undefined;
  const ids = (await ha.ws.entityRegistry()).filter((e) => e.device_id === device.id).map((e) => e.entity_id);
  const extended = ids.length
    ? await ha.ws.command<Record<string, ExtendedEntity | null>>({
        type: "config/entity_registry/get_entries",
        entity_ids: ids,
      })
    : {};
  const entities = new Map<string, ExtendedEntity>();
  for (const e of Object.values(extended)) if (e) entities.set(e.original_name ?? "", e);
  return { device, entities };
}

export interface StateChange {
  entity_id: string;
  /** null: the entity was removed */
  state: HaState | null;
  at: number;
}

/** Records every `state_changed` event of entities matching `filter`; call start() again after a HA restart. */
export class StateRecorder {
  readonly changes: StateChange[] = [];
  private unsubscribe?: () => Promise<void>;

  constructor(
    private readonly ha: HomeAssistant,
    private readonly filter: (entityId: string) => boolean = () => true,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.ha.ws.subscribeEvents("state_changed", (ev) => {
      const data = ev.data as { entity_id: string; new_state: HaState | null };
      if (this.filter(data.entity_id))
        this.changes.push({ entity_id: data.entity_id, state: data.new_state, at: Date.now() });
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.().catch(() => undefined);
  }

  /** The states this entity went through since `since` (ms), oldest first. */
  states(entityId: string, since = 0): HaState[] {
    return this.changes.filter((c) => c.entity_id === entityId && c.at >= since && c.state).map((c) => c.state!);
  }
}

/** WARNING/ERROR/CRITICAL lines of any logger, except those `allowed` explains away. */
export function logProblems(logText: string, allowed: { pattern: RegExp; why: string }[]): string[] {
  return logText
    .split("\n")
    .filter((l) => /^\S+ \S+ (WARNING|ERROR|CRITICAL) /.test(l))
    .filter((l) => !allowed.some((a) => a.pattern.test(l)));
}

/** HA timestamp states are whole seconds; compare instants at that resolution. */
export function sameSecond(haState: string, iso: string): boolean {
  const a = Date.parse(haState);
  const b = Date.parse(iso);
  return Number.isFinite(a) && Number.isFinite(b) && Math.floor(a / 1000) === Math.floor(b / 1000);
}
