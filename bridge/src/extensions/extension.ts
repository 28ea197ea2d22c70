/**
 * An extension is one feature on top of the engine (MQTT, HTTP, tier overrides, automatic
 * verification…): started with what it may use, stopped on shutdown. Extensions read the engine
 * only through the view, listen on the bus and act through the command router; the few engine
 * services some need are named here, so what each one touches is visible in its signature.
 */
import type { GuestActions } from "../actions/guest-actions.js";
import type { CommandRouter } from "../actions/router.js";
import type { Config } from "../config/load.js";
import type { Bus } from "../core/bus.js";
import type { Scheduler } from "../core/scheduler.js";
import type { View } from "../core/view.js";
import type { Logger } from "../log.js";
import type { FallbackPlan } from "../policy/fallback.js";
import type { DeviceEntry, DeviceRegistry } from "../state/devices.js";
import type { Store } from "../state/store.js";
import type { Clock } from "../util/clock.js";

export interface ExtensionContext {
  cfg: Config;
  view: View;
  bus: Bus;
  router: CommandRouter;
  scheduler: Scheduler;
  clock: Clock;
  log: Logger;
  /** Read every source now, then evaluate (the webhook, the refresh command). */
  refresh(opts?: { content?: boolean }): Promise<void>;
  /** Evaluate now without reading the sources (after a tier override, on Home Assistant's birth…). */
  reevaluate(): void;
  /** Engine services for the extensions that need them. */
  engine: {
    /** Devices published in this and earlier runs (MQTT device retention). */
    devices: DeviceRegistry;
    /** Whether a complete read of its source confirms a device's subject is gone. */
    confirmsGone(e: DeviceEntry): boolean;
    /** The guest actions (automatic verification). */
    actions: GuestActions;
    /** Durable state files (tier overrides). */
    store: Store;
    /** Tier overrides the policy applies. */
    setOverrides(overrides: Record<string, string>): void;
    /** The self-healing fallback's plan of the last evaluation (extensions/fallback.ts carries it out). */
    fallbackPlan(): FallbackPlan | null;
    /** MQTT connection state, shown by /healthz and the metrics. */
    setMqttConnected(connected: () => boolean): void;
  };
}

export interface Extension {
  readonly name: string;
  start(ctx: ExtensionContext): void | Promise<void>;
  stop?(): void | Promise<void>;
}
