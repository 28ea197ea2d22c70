import type { Config } from "./config/load.js";
import type { Evidence } from "./evidence.js";
import type { Logger } from "./log.js";
import { evaluate, GuestMemo, guestId } from "./policy/evaluate.js";
import type { GuestState, PolicyResult } from "./policy/types.js";
import { PveSource, type TaskEvent } from "./sources/pve/source.js";
import { mergeEvidence } from "./sources/pve/merge.js";
import { PveError } from "./sources/pve/http.js";
import { MqttPublisher } from "./publish/mqtt/publisher.js";
import { DEVICE_ID_PREFIX as DEVICE_PREFIX, Topics } from "./publish/mqtt/topics.js";
import { bridgeDiscovery, entitySlugs, guestDeviceId, guestDiscovery, type DiscoveryContext } from "./publish/mqtt/discovery.js";
import { CommandRouter, type Outcome, type Target } from "./actions/router.js";
import { JsonFile } from "./state/json-file.js";
import { DeviceRegistry, ownFoundDevice, type DeviceEntry, type PresentDevice } from "./state/devices.js";
import { Store } from "./state/store.js";
import { GuestActions } from "./actions/guest-actions.js";
import { OffsiteSources } from "./sources/offsite.js";
import { offsiteTopics } from "./publish/mqtt/offsite-discovery.js";
import { systemClock, type Clock } from "./util/clock.js";
import { VERSION } from "./util/version.js";

/** setTimeout cannot wait longer than 2^31-1 ms; a later deadline is re-armed on wake-up. */
const MAX_TIMER_MS = 2_147_483_647;
const FAST_POLL_MS = 2000;

export interface BridgeOptions {
  clock?: Clock;
  /** Fast poll of running tasks (ms). */
  fastPollMs?: number;
  birthDelayMs?: number;
  /** How often automatic verification looks for work (ms). */
  verifyTickMs?: number;
  /** The bridge cannot go on (its MQTT topics turned out to be another bridge's); the caller ends the process. */
  onFatal?: (err: Error) => void;
}

const DAY_MS = 86_400_000;

/**
 * The bridge: sources → evidence → pure policy → publishers, and actions back in through one
 * command router. Owns the timers: per-source polls, the fast loop while backups run, and the
 * "next change" timer that turns a guest stale at its exact deadline.
 */
export class Bridge {
  readonly sources: PveSource[];
  readonly topics: Topics;
  readonly publisher: MqttPublisher;
  readonly router: CommandRouter;
  readonly store: Store;
  readonly actions: GuestActions;
  /** Synology Hyper Backup and PBS sources (off-site layer, 3-2-1). */
  readonly offsite: OffsiteSources;
  result: PolicyResult | null = null;
  lastRefreshMs: number | null = null;
  /** How long the last refresh took (wall time, ms); for /metrics. */
  lastRefreshDurationMs: number | null = null;
  private readonly clock: Clock;
  private readonly ctx: DiscoveryContext;
  private readonly overridesFile: JsonFile<Record<string, string>>;
  private overrides: Record<string, string>;
  /** Guests whose facts did not change are not judged again (see GuestMemo). */
  private readonly memo = new GuestMemo();
  private readonly timers = new Set<NodeJS.Timeout>();
  private changeTimer?: NodeJS.Timeout;
  /** Every device this bridge published (also in earlier runs): removed only when confirmed gone for a grace period. */
  readonly devices: DeviceRegistry;
  private stopped = false;
  private refreshing: Promise<void> | null = null;

  constructor(
    readonly cfg: Config,
    private readonly log: Logger,
    private readonly opts: BridgeOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.topics = new Topics(cfg.mqtt.baseTopic, cfg.mqtt.discoveryPrefix, cfg.site);
    this.sources = cfg.proxmox.map((p) => new PveSource(p, log.child({ source: p.name }), () => this.clock.now()));
    for (const s of this.sources) s.onTask = (e) => this.onTaskEvent(e);
    this.store = new Store(cfg.stateDir, { log });
    this.devices = new DeviceRegistry(cfg.stateDir, log.child({ part: "devices" }));
    this.actions = new GuestActions({
      cfg,
      sources: this.sources,
      store: this.store,
      log: log.child({ part: "actions" }),
      clock: this.clock,
      guest: (id) => this.guest(id),
      publish: () => this.publish(),
      event: (id, payload) => this.publisher.publishEvent(this.topics.guestEvent(id), payload),
      idOf: (source, vmid) => this.idOf(source, vmid),
    });
    this.offsite = new OffsiteSources(cfg, log.child({ part: "offsite" }), () => this.clock.now(), { fastPollMs: opts.fastPollMs });
    this.ctx = {
      topics: this.topics,
      version: VERSION,
      site: cfg.site,
      sourceUrls: Object.fromEntries(cfg.proxmox.map((p) => [p.name, p.url])),
      tierIds: Object.keys(cfg.tiers),
    };
    this.overridesFile = this.store.tierOverridesFile;
    this.overrides = this.overridesFile.read();
    this.router = new CommandRouter(
      {
        backup: (id, cmd) => this.actions.backup(id, { storage: cmd.storage, mode: cmd.mode, requestId: cmd.request_id }, cmd.origin ?? "mqtt"),
        verify: (id, cmd) => this.actions.verify(id, cmd.origin ?? "mqtt", cmd.request_id),
        restoreTest: (id, cmd) => this.actions.restoreTest(id, cmd.origin ?? "mqtt", cmd.request_id),
        setTier: (id, tier) => this.setTier(id, tier),
        refresh: async () => {
          await this.refreshAll({ content: true });
          return { ok: true, detail: "refreshed" };
        },
        report: (target, cmd, outcome) => this.reportCommand(target, cmd, outcome),
        runHyperBackup: async (key, cmd) => {
          const r = await this.offsite.runHyperBackup(key, (topic, payload) => this.publisher.publishEvent(topic, payload), this.topics.base, requester(cmd));
          this.publish();
          return r;
        },
        verifyDatastore: (key, cmd) => this.offsite.verifyDatastore(key, requester(cmd)),
        forget: (id) => this.forgetDevice(id),
      },
      log.child({ part: "router" }),
    );
    this.publisher = new MqttPublisher(
      cfg.mqtt,
      this.topics,
      log.child({ part: "mqtt" }),
      {
        onCommand: (target, payload) => void this.router.handle(target, payload, "mqtt"),
        republish: () => this.publish(),
        onFoundConfig: (topic, payload) => this.foundConfig(topic, payload),
        onFatal: (err) => (opts.onFatal ? opts.onFatal(err) : this.log.error({ err: err.message }, "the bridge cannot go on")),
      },
      opts.birthDelayMs,
    );
  }

  async start(): Promise<void> {
    await this.publisher.start();
    await this.actions.resume();
    await this.refreshAll({ content: true });
    for (const s of this.sources) this.loop(s.cfg.pollIntervalMs, () => this.refreshSource(s));
    this.loop(this.opts.fastPollMs ?? FAST_POLL_MS, async () => {
      const busy = this.sources.filter((s) => s.hasRunningTasks());
      if (!busy.length) return;
      await Promise.all(busy.map((s) => s.pollRunningTasks()));
      this.publish();
    });
    this.offsite.start(() => this.publish());
    this.loop(this.opts.verifyTickMs ?? 60_000, async () => {
      if (this.result) await this.actions.autoVerifyTick(this.result.guests);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    await this.refreshing?.catch(() => undefined);
    await this.offsite.stop();
    await this.publisher.stop();
    await Promise.all(this.sources.map((s) => s.close()));
  }

  /** Refreshes every source, then evaluates and publishes once. */
  async refreshAll(opts: { content?: boolean } = {}): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      const started = performance.now();
      await Promise.all([...this.sources.map((s) => s.refresh(opts)), this.offsite.refreshAll()]);
      this.lastRefreshDurationMs = performance.now() - started;
      this.lastRefreshMs = this.clock.now();
      this.publish();
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async refreshSource(s: PveSource): Promise<void> {
    const started = performance.now();
    await s.refresh();
    this.lastRefreshDurationMs = performance.now() - started;
    this.lastRefreshMs = this.clock.now();
    this.publish();
  }

  /** Repeats fn every ms, never overlapping, never throwing out of the timer. */
  private loop(ms: number, fn: () => Promise<void>): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        await fn();
      } catch (e) {
        this.log.error({ err: (e as Error).message }, "refresh failed");
      }
      if (!this.stopped) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          void tick();
        }, ms);
        this.timers.add(t);
      }
    };
    const t = setTimeout(() => {
      this.timers.delete(t);
      void tick();
    }, ms);
    this.timers.add(t);
  }

  evidence(): Evidence {
    return {
      ...mergeEvidence(this.sources),
      ...this.actions.evidence(),
      ...(this.offsite.configured ? { offsite: this.offsite.evidence() } : {}),
    };
  }

  /**
   * Each guest's id: pinned in the device registry once given (adding a second Proxmox source
   * renames nobody), else `<site>_<vmid>`, or `<site>_<source>_<vmid>` with several sources.
   */
  private guestIds(evidence: Evidence): Map<string, string> {
    const names = new Set(this.cfg.proxmox.map((p) => p.name));
    const multi = new Set(evidence.sources.map((s) => s.name)).size > 1;
    const out = new Map<string, string>();
    for (const g of evidence.guests) {
      if (g.template) continue;
      const preferred = guestId(this.cfg.site, g.source, g.vmid, multi);
      out.set(`${g.source}/${g.vmid}`, this.devices.guestId(g.source, g.vmid, preferred, guestId(this.cfg.site, g.source, g.vmid, false), (s) => names.has(s)));
    }
    return out;
  }

  /** The id of a guest of a source, as published (for task events). */
  idOf(source: string, vmid: number): string {
    const pinned = this.devices.guestIdOf(source, vmid);
    return pinned ?? guestId(this.cfg.site, source, vmid, this.sources.length > 1);
  }

  /** A retained discovery config of ours found at start: remembered, so it is removed only when confirmed gone. */
  private foundConfig(topic: string, payload: string): void {
    const own = ownFoundDevice(topic, payload, { discoveryPrefix: this.topics.discoveryPrefix, base: this.topics.base, site: this.cfg.site });
    if (own) this.devices.found(own.deviceId, own.entry);
  }

  /** May a device that was not published now be taken as gone (see DeviceRegistry.sweep)? */
  private confirmedGone(e: DeviceEntry): boolean {
    if (e.kind !== "guest") return this.offsite.confirmsAbsent(e.kind, e.source);
    if (e.vmid === undefined) return false;
    if (e.source === null) return this.sources.every((s) => s.confirmsAbsent(e.vmid!));
    const s = this.sources.find((x) => x.name === e.source);
    // Its Proxmox source was removed from the config: nothing will ever vouch for it again.
    return s ? s.confirmsAbsent(e.vmid) : true;
  }

  /** Evaluates the policy at this instant and publishes what changed. */
  publish(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const evidence = this.evidence();
    const result = evaluate({ site: this.cfg.site, tiers: this.cfg.tiers, guestTiers: this.cfg.guestTiers, overrides: this.overrides, evidence, now, guestIds: this.guestIds(evidence) }, this.memo);
    this.result = result;
    const p = this.publisher;
    const t = this.topics;
    p.publishRetained(t.deviceConfig(guestDeviceId(this.ctx, `${this.cfg.site}_bridge`)), bridgeDiscovery(this.ctx, [...this.sources.map((s) => s.name), ...this.offsite.health().map((h) => h.health.name)]));
    const slugs = entitySlugs(result.guests);
    const present: PresentDevice[] = [];
    for (const g of result.guests) {
      // guestDiscovery reads only these fields of the guest (and the fixed context).
      const slug = slugs.get(g.id);
      const deviceId = guestDeviceId(this.ctx, g.id);
      const configTopic = t.deviceConfig(deviceId);
      p.publishDerived(configTopic, JSON.stringify([g.id, g.name, g.source, g.type, g.vmid, slug]), () => guestDiscovery(this.ctx, g, slug));
      p.publishRetained(t.guestState(g.id), g);
      present.push({ deviceId, kind: "guest", source: g.source, vmid: g.vmid, name: g.name, configTopic, stateTopic: t.guestState(g.id) });
    }
    present.push(...this.offsite.publish(p, this.ctx, now));
    this.removeGoneDevices(present, now);
    for (const s of this.sources) p.publishRetained(t.sourceAvailability(s.name), s.health.up && !s.health.degraded && !this.hidesGuests(s) ? "online" : "offline");
    p.publishRetained(t.bridgeInfo, this.bridgeInfo(result));
    const hbChange = this.offsite.nextChangeMs(now);
    this.armChangeTimer(hbChange !== null && (result.nextChangeMs === null || hbChange < result.nextChangeMs) ? hbChange : result.nextChangeMs, now);
  }

  /**
   * Devices this publish did not produce: each waits out mqtt.removal_grace from the moment a
   * complete read of its source first showed it gone, then its retained config and state are
   * cleared (Home Assistant deletes the device then). Unconfirmed absences never remove anything.
   */
  private removeGoneDevices(present: PresentDevice[], now: number): void {
    const ids = new Set<string>();
    for (const d of present) {
      this.devices.present(d);
      ids.add(d.deviceId);
    }
    const grace = this.removalGraceMs;
    const { remove, newlyGone } = this.devices.sweep(ids, now, grace, (e) => this.confirmedGone(e));
    for (const e of newlyGone) {
      if (grace === 0) continue;
      this.log.info({ device: e.deviceId }, `${describeDevice(e)} is gone from ${e.source ? `'${e.source}'` : "its source"}; its Home Assistant device will be removed ${this.whenText(e.removeAtMs)} unless it comes back`);
    }
    for (const e of remove) {
      this.log.info({ device: e.deviceId }, `removing the Home Assistant device of ${describeDevice(e)}: gone from ${e.source ? `'${e.source}'` : "its source"} since ${this.whenText(e.goneSinceMs ?? now)}`);
      this.clearDevice(e);
    }
    this.devices.save();
  }

  /** mqtt.removal_grace (the loader always sets it; a config built in code may not). */
  private get removalGraceMs(): number {
    return this.cfg.mqtt.removalGraceMs ?? DAY_MS;
  }

  private hiding = new Map<string, number>();

  /**
   * A source that answers but whose token may no longer see guests it saw before (VM.Audit taken
   * away): their devices stay, and the source's guests are shown unavailable rather than as a
   * picture of the past. Logged once per change of the count.
   */
  private hidesGuests(s: PveSource): boolean {
    const hidden = this.devices.hiddenGuests(s.name, (vmid) => s.mayBeHidden(vmid)).map((id) => id.slice(DEVICE_PREFIX.length)).sort();
    if ((this.hiding.get(s.name) ?? 0) !== hidden.length) {
      this.hiding.set(s.name, hidden.length);
      if (!hidden.length) this.log.info({ proxmox: s.name }, `the token of Proxmox '${s.name}' sees every guest it saw before again`);
      else
        this.log.warn(
          { proxmox: s.name },
          `the token of Proxmox '${s.name}' may no longer see ${hidden.length === 1 ? "1 guest" : `${hidden.length} guests`} it saw before (${hidden.slice(0, 5).join(", ")}${hidden.length > 5 ? ", …" : ""}); grant VM.Audit on /vms. Their devices are kept, and every guest of '${s.name}' is shown unavailable until the token sees them again`,
        );
    }
    return hidden.length > 0;
  }

  private clearDevice(e: { configTopic: string; stateTopic?: string }): void {
    this.publisher.clearRetained(e.configTopic);
    if (e.stateTopic) this.publisher.clearRetained(e.stateTopic);
  }

  private whenText(ms: number): string {
    return new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
  }

  /**
   * Forgets a device at once (bridge command `forget`, `backup2mqtt forget <id>`): clears its
   * retained config and state. A guest that still exists is refused: it would come back at the
   * next poll (exclude it with tier none instead).
   */
  async forgetDevice(id: string): Promise<Outcome> {
    const deviceId = id.startsWith(DEVICE_PREFIX) ? id : DEVICE_PREFIX + id;
    const objectId = deviceId.slice(DEVICE_PREFIX.length);
    const live = this.guest(objectId);
    if (live) return { ok: false, reason: `${live.name} (${live.id}) still exists in Proxmox '${live.source}', so its device would come back at the next poll; to stop watching it, set its tier to none` };
    const e = this.devices.get(deviceId);
    if (!e) {
      const pending = this.devices.pending().map((d) => d.deviceId.slice(DEVICE_PREFIX.length));
      return { ok: false, reason: `this bridge knows no device '${objectId}'${pending.length ? `; devices waiting to be removed: ${pending.join(", ")}` : ""}` };
    }
    if (this.devices.isPresent(deviceId)) return { ok: false, reason: `${describeDevice({ ...e, deviceId })} still exists, so its device would come back at the next poll` };
    this.devices.forget(deviceId);
    this.devices.save();
    this.clearDevice(e);
    this.log.info({ device: deviceId }, `forgot the Home Assistant device of ${describeDevice({ ...e, deviceId })}, as asked`);
    this.publisher.publishEvent(this.topics.bridgeEvent, { event_type: "device_forgotten", time: new Date(this.clock.now()).toISOString(), device: objectId });
    this.publish();
    return { ok: true, detail: `forgot ${objectId}` };
  }

  /** A guest turns stale at an exact instant: wake up then, not at the next poll. */
  private armChangeTimer(nextChangeMs: number | null, now: number): void {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.changeTimer = undefined;
    if (nextChangeMs === null || this.stopped) return;
    const wait = Math.min(Math.max(0, nextChangeMs - now) + 5, MAX_TIMER_MS);
    this.changeTimer = setTimeout(() => this.publish(), wait);
  }

  bridgeInfo(result: PolicyResult) {
    const iso = (ms?: number | null) => (ms ? new Date(ms).toISOString() : null);
    return {
      version: VERSION,
      site: this.cfg.site,
      base_topic: this.topics.base,
      sources: Object.fromEntries(
        this.sources.map((s) => [
          s.name,
          {
            kind: s.health.kind,
            up: s.health.up,
            degraded: s.health.degraded,
            ...(s.health.error ? { error: s.health.error } : {}),
            last_success: iso(s.health.lastSuccessMs),
            requests_last_refresh: s.lastRefreshRequests,
          },
        ]).concat(
          this.offsite.health().map(({ health: h, requests }) => [
            h.name,
            { kind: h.kind, up: h.up, degraded: h.degraded, ...(h.error ? { error: h.error } : {}), last_success: iso(h.lastSuccessMs), requests_last_refresh: requests },
          ]),
        ),
      ),
      counts: {
        guests: result.guests.length,
        ok: result.counts.ok,
        stale: result.counts.stale,
        failed: result.counts.failed,
        missing: result.counts.missing,
        running: result.counts.running,
        unknown: result.counts.unknown,
        problem: result.counts.problem,
        untiered: result.counts.untiered,
        orphaned: result.orphans.length,
      },
      last_refresh: iso(this.lastRefreshMs),
      pending_removal: this.devices.pending().map((d) => ({
        device: d.deviceId.slice(DEVICE_PREFIX.length),
        ...(d.name ? { name: d.name } : {}),
        gone_since: iso(d.goneSinceMs),
        remove_after: iso((d.goneSinceMs ?? 0) + this.removalGraceMs),
      })),
    };
  }

  guest(id: string): GuestState | undefined {
    return this.result?.guests.find((g) => g.id === id);
  }

  // --- actions -------------------------------------------------------------------------------

  private async setTier(id: string, tier: string): Promise<Outcome> {
    if (!this.guest(id)) return { ok: false, reason: `unknown guest '${id}'` };
    if (!this.cfg.tiers[tier]) return { ok: false, reason: `unknown tier '${tier}' (known: ${Object.keys(this.cfg.tiers).join(", ")})` };
    this.overrides = { ...this.overrides, [id]: tier };
    const err = this.overridesFile.write(this.overrides);
    if (err) this.log.error({ err }, "could not save the tier override; it holds until restart");
    this.publish();
    return { ok: true, detail: `tier ${tier}` };
  }

  private reportCommand(target: Target, cmd: { action?: string; request_id?: string } | undefined, outcome: Outcome): void {
    if (outcome.ok) return; // accepted backups report through backup_started / finished events
    const off = offsiteTopics(this.topics.base);
    const topic =
      target.kind === "guest" && this.guest(target.id)
        ? this.topics.guestEvent(target.id)
        : target.kind === "hyperbackup"
          ? off.hbEvent(target.id)
          : target.kind === "pbs"
            ? off.pbsEvent(target.id)
            : this.topics.bridgeEvent;
    this.publisher.publishEvent(topic, {
      event_type: "command_rejected",
      time: new Date(this.clock.now()).toISOString(),
      ...(target.kind === "guest" ? { guest: target.id } : {}),
      ...(cmd?.action ? { action: cmd.action } : {}),
      ...(cmd?.request_id ? { request_id: cmd.request_id } : {}),
      reason: outcome.reason,
    });
  }

  private onTaskEvent(e: TaskEvent): void {
    this.actions.onTaskEvent(e);
    for (const o of e.outcomes) {
      const id = this.idOf(e.source, o.vmid);
      const base = { time: new Date(this.clock.now()).toISOString(), guest: id, upid: e.upid, ...(e.requestId ? { request_id: e.requestId } : {}) };
      if (e.phase === "started") this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_started", ...base });
      else if (e.phase === "unknown") this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_unknown", ...base, reason: e.reason ?? "Proxmox does not know the task" });
      else if (o.result === "failed") this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_failed", ...base, result: "failed", error: o.error ?? e.exitstatus ?? "unknown error" });
      else this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_finished", ...base, result: o.result });
    }
  }
}

function describeDevice(e: { kind: string; name?: string; deviceId: string }): string {
  const id = e.deviceId.slice(DEVICE_PREFIX.length);
  const what = e.kind === "hyperbackup" ? "Hyper Backup task " : e.kind === "pbs" ? "PBS datastore " : "";
  return e.name ? `${what}${e.name} (${id})` : `${what}${id}`;
}

/** Who asked, for the one-action-at-a-time refusals ("started by home_assistant, request abc"). */
function requester(cmd: { origin?: string; request_id?: string }): { origin: string; requestId?: string } {
  return { origin: cmd.origin ?? "mqtt", ...(cmd.request_id ? { requestId: cmd.request_id } : {}) };
}
