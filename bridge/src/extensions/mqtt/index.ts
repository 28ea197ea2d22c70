/**
 * The MQTT extension: Home Assistant discovery and retained states for every guest, Hyper Backup
 * task and PBS datastore, the bridge device and info, events, and commands in from Home Assistant.
 * One connection (connection.ts); after each evaluation it publishes what changed.
 */
import { Topics, type TargetKind } from "../../core/identity.js";
import type { View } from "../../core/view.js";
import { VERSION } from "../../util/version.js";
import type { Extension, ExtensionContext } from "../extension.js";
import { MqttPublisher } from "./connection.js";
import { DeviceRetention } from "./device-retention.js";
import { publishBridge, publishGuests, publishOffsite } from "./devices.js";
import type { DiscoveryContext } from "./discovery.js";

export interface MqttExtensionOptions {
  /** Delay before republishing after Home Assistant's birth message (default 1–2 s, jittered). */
  birthDelayMs?: number;
  /** The bridge cannot go on (its MQTT topics turned out to be another bridge's). */
  onFatal?: (err: Error) => void;
}

export class MqttExtension implements Extension {
  readonly name = "mqtt";
  publisher?: MqttPublisher;

  constructor(private readonly opts: MqttExtensionOptions = {}) {}

  async start(ctx: ExtensionContext): Promise<void> {
    const { cfg, log } = ctx;
    const topics = new Topics(cfg.mqtt.baseTopic, cfg.mqtt.discoveryPrefix, cfg.site);
    const dctx: DiscoveryContext = {
      topics,
      version: VERSION,
      site: cfg.site,
      sourceUrls: Object.fromEntries(cfg.proxmox.map((p) => [p.name, p.url])),
      tierIds: Object.keys(cfg.tiers),
      language: cfg.language ?? "en",
      fallbackAskTiers: Object.entries(cfg.tiers)
        .filter(([, tier]) => tier.fallback.action === "ask")
        .map(([id]) => id),
      stopTiers: Object.entries(cfg.tiers)
        .filter(([, tier]) => tier.allowStop)
        .map(([id]) => id),
    };
    let retention: DeviceRetention | undefined;
    const publisher = new MqttPublisher(
      cfg.mqtt,
      topics,
      log.child({ part: "mqtt" }),
      {
        onCommand: (target, payload) => void ctx.router.handle(target, payload, "mqtt"),
        republish: () => ctx.reevaluate(),
        onFoundConfig: (topic, payload) => retention?.found(topic, payload),
        onFatal: (err) =>
          this.opts.onFatal ? this.opts.onFatal(err) : log.error({ err: err.message }, "the bridge cannot go on"),
      },
      this.opts.birthDelayMs,
    );
    this.publisher = publisher;
    retention = new DeviceRetention(ctx, publisher, topics);
    const r = retention;
    ctx.router.register({ forget: (id) => r.forget(id) });
    ctx.engine.setMqttConnected(() => publisher.connected);
    ctx.bus.on("evaluated", (view: View) => {
      const present = [...publishGuests(view, publisher, dctx), ...publishOffsite(view, publisher, dctx)];
      r.sweep(present, view.evaluatedAtMs);
      publishBridge(view, publisher, topics);
    });
    ctx.bus.on("event", (e) => {
      const topic =
        e.target.kind === "bridge" ? topics.bridgeEvent : topics.of(e.target.kind as TargetKind, e.target.id, "event");
      publisher.publishEvent(topic, e.payload);
    });
    await publisher.start();
  }

  async stop(): Promise<void> {
    await this.publisher?.stop();
  }
}
