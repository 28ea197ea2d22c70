import fs from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "../../log.js";
import type { Target } from "../../actions/router.js";
import { DEVICE_ID_PREFIX, type Topics } from "../../core/identity.js";
import { RetainedCache } from "./retained-cache.js";

export { stableStringify } from "./retained-cache.js";

export interface MqttOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  caFile?: string;
}

export interface PublisherHandlers {
  /** A message on a guest or bridge command topic. */
  onCommand(target: Target, payload: Buffer): void;
  /**
   * Publish every retained topic again (broker restarted, Home Assistant came online). The
   * publisher keeps only digests of what it sent, not the payloads — with thousands of devices
   * those were the largest strings in the process — so the owner regenerates them.
   */
  republish(): void;
  /** A retained discovery config found on the broker at start, under this bridge's device-id prefix. */
  onFoundConfig?(topic: string, payload: string): void;
  /** The topics turned out to belong to another bridge after start() had returned (broker was down at start). */
  onFatal?(err: Error): void;
}

/** Another bridge (another site) already owns this base topic. */
export class TopicOwnerError extends Error {}

/**
 * The MQTT side: LWT and online state, retained diff-only publishing, Home Assistant birth
 * handling, command subscriptions, and clearing retained discovery of devices that are gone
 * (also those left over from before a restart).
 */
export class MqttPublisher {
  private client?: MqttClient;
  /** What each retained topic we own last carried (digests), so unchanged payloads are not sent. */
  private readonly retained = new RetainedCache();
  /** While true (inside republishAll), unchanged payloads are sent anyway. */
  private forcing = false;
  private birthTimer?: NodeJS.Timeout;
  private connectedOnce = false;
  /**
   * False until the retained `<base>/bridge/info` on the broker was read and names this site (or
   * nothing): until then nothing is published, so a bridge started with another site's base topic
   * never touches that bridge's topics.
   */
  private owned = false;
  private scanned!: Promise<void>;
  private markScanned!: (err?: Error) => void;
  published = 0;
  onHaOnline?: () => void;

  constructor(
    private readonly opts: MqttOptions,
    private readonly topics: Topics,
    private readonly log: Logger,
    private readonly handlers: PublisherHandlers,
    /** Delay before republishing after Home Assistant's birth message (HA asks for some jitter). */
    private readonly birthDelayMs = 1000 + Math.floor(Math.random() * 1000),
  ) {}

  /**
   * Connects, checks that the base topic is this bridge's own, and collects the retained discovery
   * configs found under this bridge's prefix (handed to onFoundConfig). Resolves when that is done,
   * or after 5 s if the broker cannot be reached (publishing waits until it can); rejects with a
   * TopicOwnerError when the base topic belongs to a bridge of another site.
   */
  async start(): Promise<void> {
    const t = this.topics;
    this.scanned = new Promise<void>((resolve, reject) => {
      this.markScanned = (err) => (err ? reject(err) : resolve());
    });
    this.client = mqtt.connect(this.opts.url, {
      username: this.opts.username,
      password: this.opts.password,
      clientId: this.opts.clientId ?? `${DEVICE_ID_PREFIX}${t.site}_${Math.random().toString(16).slice(2, 8)}`,
      ...(this.opts.caFile ? { ca: fs.readFileSync(this.opts.caFile) } : {}),
      will: { topic: t.bridgeState, payload: Buffer.from("offline"), retain: true, qos: 1 },
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      clean: true,
      // Without this, mqtt-packet pre-builds a 2-byte Buffer for each of the 65,536 message ids at
      // the first publish: ~6 MB of heap for a speed-up that a bridge publishing now and then never needs.
      writeCache: false,
    });
    const client = this.client;
    client.on("connect", () => {
      this.log.info({ url: redactUrl(this.opts.url) }, this.connectedOnce ? "MQTT reconnected" : "MQTT connected");
      if (!this.owned) return void this.claimTopics(client);
      this.goOnline(client);
    });
    client.on("message", (topic, payload, packet) => {
      if (!this.owned) return this.onScanMessage(topic, payload, packet.retain);
      this.onMessage(topic, payload, packet.retain);
    });
    client.on("error", (err) => this.log.warn({ err: err.message }, "MQTT error"));
    client.on("offline", () => this.log.warn("MQTT broker unreachable; will retry"));
    let timer: NodeJS.Timeout | undefined;
    try {
      // Start anyway after a while when the broker cannot be reached: publishing waits until it can.
      await Promise.race([this.scanned, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
    } catch (e) {
      await settleWithin(client.endAsync(), STOP_GRACE_MS);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.scanned.catch((e: Error) => {
      // The broker came back after start() returned and the topics are another bridge's.
      void settleWithin(client.endAsync(), STOP_GRACE_MS);
      this.handlers.onFatal?.(e);
    });
  }

  /** Resolves once the broker's retained state was read at start (the found configs are all in). */
  whenScanned(): Promise<void> {
    return this.scanned.catch(() => undefined);
  }

  private goOnline(client: MqttClient): void {
    const t = this.topics;
    client.publish(t.bridgeState, "online", { retain: true, qos: 1 });
    // The `+/+` command filters only exist to log a command sent one level too deep (a malformed topic) instead of losing it silently.
    client.subscribe(
      [t.haStatus, ...t.commandFilters],
      { qos: 1 },
      (err) => err && this.log.error({ err: err.message }, "MQTT subscribe failed"),
    );
    // A broker that restarted without persistence lost our retained messages (and before the first
    // connection nothing was sent at all): send them again.
    if (this.connectedOnce || this.retained.size > 0) this.republishAll();
    this.connectedOnce = true;
  }

  private foreignSite: string | undefined;
  private scanQuietTimer?: NodeJS.Timeout;

  /**
   * First connection: read the retained bridge info under our base topic and our retained device
   * configs. The broker sends retained messages right after the subscription; they are taken as
   * complete once none arrived for SCAN_QUIET_MS after the SUBACK (and at most SCAN_MAX_MS).
   */
  private claimTopics(client: MqttClient): void {
    const t = this.topics;
    const configs = t.deviceConfigFilter;
    const started = Date.now();
    let subscribed = false;
    const finish = () => {
      this.scanQuietTimer = undefined;
      client.unsubscribe([t.bridgeInfo, configs]);
      if (this.foreignSite !== undefined) {
        const err = new TopicOwnerError(
          `the MQTT topics under '${t.base}' belong to the bridge of site '${this.foreignSite}' (its retained ${t.bridgeInfo} says so), and this bridge is site '${t.site}'. ` +
            `Give this bridge a base topic of its own, for example mqtt.base_topic: ${t.base}_${t.site}`,
        );
        this.log.error({ base_topic: t.base, other_site: this.foreignSite }, err.message);
        this.markScanned(err);
        return;
      }
      this.owned = true;
      this.goOnline(client);
      this.markScanned();
    };
    this.rearmScan = () => {
      if (!subscribed) return;
      if (this.scanQuietTimer) clearTimeout(this.scanQuietTimer);
      this.scanQuietTimer = setTimeout(
        finish,
        Math.max(0, Math.min(SCAN_QUIET_MS, started + SCAN_MAX_MS - Date.now())),
      );
    };
    client.subscribe([t.bridgeInfo, configs], { qos: 1 }, (err) => {
      if (err) {
        this.log.error({ err: err.message }, "MQTT subscribe failed; cannot check who owns the base topic");
        return;
      }
      subscribed = true;
      this.rearmScan();
    });
  }
  private rearmScan = () => {};

  private onScanMessage(topic: string, payload: Buffer, retain: boolean): void {
    const t = this.topics;
    if (!retain) return;
    if (topic === t.bridgeInfo) {
      let site: unknown;
      try {
        site = (JSON.parse(payload.toString("utf8")) as { site?: unknown })?.site;
      } catch {
        site = undefined;
      }
      this.foreignSite = typeof site === "string" && site !== t.site ? site : undefined;
    } else if (payload.length && topic.startsWith(t.deviceConfigPrefix)) {
      this.handlers.onFoundConfig?.(topic, payload.toString("utf8"));
    }
    this.rearmScan();
  }

  get connected(): boolean {
    return !!this.client?.connected;
  }

  /** Publishes a retained message unless the same payload is already retained. "" clears it. */
  publishRetained(topic: string, payload: string | object): void {
    const text = this.retained.changed(topic, payload, this.forcing);
    if (text !== null) this.send(topic, text, true);
  }

  /**
   * publishRetained for a payload that is a pure function of `inputs`: when they are the same as
   * last time, the payload is not even built.
   */
  publishDerived(topic: string, inputs: string, build: () => object): void {
    if (!this.forcing && this.retained.sameInputs(topic, inputs)) return;
    this.publishRetained(topic, build());
    this.retained.setInputs(topic, inputs);
  }

  /** Clears a retained topic whether or not we published it in this run. */
  clearRetained(topic: string): void {
    this.retained.forget(topic);
    this.send(topic, "", true);
  }

  publishEvent(topic: string, payload: object): void {
    this.send(topic, JSON.stringify(payload), false);
  }

  /** Retained topics currently owned whose names start with prefix. */
  ownedTopics(prefix: string): string[] {
    return this.retained.topics().filter((k) => k.startsWith(prefix));
  }

  async stop(): Promise<void> {
    if (this.birthTimer) clearTimeout(this.birthTimer);
    const client = this.client;
    if (!client) return;
    // Bounded: if the broker vanished a moment ago, `connected` may still be true and a QoS 1
    // PUBACK (or a graceful end waiting for in-flight messages) would never come.
    if (this.scanQuietTimer) clearTimeout(this.scanQuietTimer);
    if (client.connected && this.owned)
      await settleWithin(
        client.publishAsync(this.topics.bridgeState, "offline", { retain: true, qos: 1 }),
        STOP_GRACE_MS,
      );
    if (!(await settleWithin(client.endAsync(), STOP_GRACE_MS))) await client.endAsync(true).catch(() => undefined);
  }

  private send(topic: string, payload: string, retain: boolean): void {
    // Not yet known to be ours: nothing goes out (retained topics are all sent again once it is).
    if (!this.owned) return;
    this.published++;
    this.client?.publish(topic, payload, { retain, qos: 1 }, (err) => {
      if (err) this.log.warn({ topic, err: err.message }, "MQTT publish failed");
    });
  }

  private republishAll(): void {
    this.client?.publish(this.topics.bridgeState, "online", { retain: true, qos: 1 });
    this.forcing = true;
    try {
      this.handlers.republish();
    } finally {
      this.forcing = false;
    }
  }

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    const t = this.topics;
    if (topic === t.haStatus) {
      if (payload.toString().trim().toLowerCase() === "online") {
        // Home Assistant (re)started: after a short jittered delay, send discovery and states again.
        if (this.birthTimer) clearTimeout(this.birthTimer);
        this.birthTimer = setTimeout(() => {
          this.log.info("Home Assistant is online: republishing discovery and states");
          this.republishAll();
          this.onHaOnline?.();
        }, this.birthDelayMs);
      }
      return;
    }
    if (topic.startsWith(`${t.discoveryPrefix}/device/`)) {
      return;
    }
    // An empty message clears a retained command: nothing was asked.
    if (!payload.length)
      return void this.log.debug({ topic }, "empty command ignored (a retained command was cleared)");
    if (retain)
      return void this.log.info(
        { topic },
        "ignoring a command retained from before the bridge started (clear it by publishing an empty retained message)",
      );
    // <base>/bridge/command or <base>/<guest|hyperbackup|pbs>/<id>/command, the id one non-empty level.
    const parsed = t.parse(topic);
    if (parsed?.leaf === "command") {
      this.handlers.onCommand(
        parsed.kind === "bridge" ? { kind: "bridge" } : { kind: parsed.kind, id: parsed.id },
        payload,
      );
      return;
    }
    this.log.debug(
      { topic },
      `ignoring a message on a malformed command topic (expected ${t.base}/guest/<id>/command)`,
    );
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid url)";
  }
}

const STOP_GRACE_MS = 2_000;
/** Retained messages follow the SUBACK at once; this long without one more ends the start-up scan. */
const SCAN_QUIET_MS = 400;
const SCAN_MAX_MS = 5_000;

/** True when the promise settled (either way) within `ms`; never rejects. */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      p.then(
        () => true as const,
        () => true as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
