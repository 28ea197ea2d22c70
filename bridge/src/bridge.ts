import path from "node:path";
import type { Config } from "./config/load.js";
import type { Evidence } from "./evidence.js";
import type { Logger } from "./log.js";
import { evaluate, GuestMemo, guestId } from "./policy/evaluate.js";
import type { GuestState, PolicyResult } from "./policy/types.js";
import { PveSource, type TaskEvent } from "./sources/pve/source.js";
import { mergeEvidence } from "./sources/pve/merge.js";
import { PveError } from "./sources/pve/http.js";
import { MqttPublisher } from "./publish/mqtt/publisher.js";
import { Topics } from "./publish/mqtt/topics.js";
import { bridgeDiscovery, entitySlugs, guestDeviceId, guestDiscovery, type DiscoveryContext } from "./publish/mqtt/discovery.js";
import { CommandRouter, type Outcome, type Target } from "./actions/router.js";
import { JsonFile } from "./state/json-file.js";
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
}

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
  private publishedGuests = new Set<string>();
  private stopped = false;
  private refreshing: Promise<void> | null = null;
  private firstPublishDone = false;

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
    this.actions = new GuestActions({
      cfg,
      sources: this.sources,
      store: this.store,
      log: log.child({ part: "actions" }),
      clock: this.clock,
      guest: (id) => this.guest(id),
      publish: () => this.publish(),
      event: (id, payload) => this.publisher.publishEvent(this.topics.guestEvent(id), payload),
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
        verify: (id, cmd) => this.actions.verify(id, cmd.origin ?? "mqtt"),
        restoreTest: (id, cmd) => this.actions.restoreTest(id, cmd.origin ?? "mqtt"),
        setTier: (id, tier) => this.setTier(id, tier),
        refresh: async () => {
          await this.refreshAll({ content: true });
          return { ok: true, detail: "refreshed" };
        },
        report: (target, cmd, outcome) => this.reportCommand(target, cmd, outcome),
        runHyperBackup: async (key) => {
          const r = await this.offsite.runHyperBackup(key, (topic, payload) => this.publisher.publishEvent(topic, payload), this.topics.base);
          this.publish();
          return r;
        },
        verifyDatastore: (key) => this.offsite.verifyDatastore(key),
      },
      log.child({ part: "router" }),
    );
    this.publisher = new MqttPublisher(
      cfg.mqtt,
      this.topics,
      log.child({ part: "mqtt" }),
      { onCommand: (target, payload) => void this.router.handle(target, payload, "mqtt"), republish: () => this.publish() },
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

  /** Evaluates the policy at this instant and publishes what changed. */
  publish(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const result = evaluate({ site: this.cfg.site, tiers: this.cfg.tiers, guestTiers: this.cfg.guestTiers, overrides: this.overrides, evidence: this.evidence(), now }, this.memo);
    this.result = result;
    const p = this.publisher;
    const t = this.topics;
    for (const s of this.sources) p.publishRetained(t.sourceAvailability(s.name), s.health.up && !s.health.degraded ? "online" : "offline");
    p.publishRetained(t.deviceConfig(guestDeviceId(this.ctx, `${this.cfg.site}_bridge`)), bridgeDiscovery(this.ctx, [...this.sources.map((s) => s.name), ...this.offsite.health().map((h) => h.health.name)]));
    const slugs = entitySlugs(result.guests);
    const current = new Set<string>();
    for (const g of result.guests) {
      current.add(g.id);
      // guestDiscovery reads only these fields of the guest (and the fixed context).
      const slug = slugs.get(g.id);
      p.publishDerived(t.deviceConfig(guestDeviceId(this.ctx, g.id)), JSON.stringify([g.id, g.name, g.source, g.type, g.vmid, slug]), () => guestDiscovery(this.ctx, g, slug));
      p.publishRetained(t.guestState(g.id), g);
    }
    // Guests that left their cluster: clear their device. Only when their source answered (a source
    // that is down keeps its last inventory, so nothing is removed by an outage).
    for (const id of this.publishedGuests) {
      if (!current.has(id)) {
        this.log.info({ guest: id }, "guest no longer exists: removing its device");
        this.removeGuestTopics(id);
      }
    }
    this.publishedGuests = current;
    p.publishRetained(t.bridgeInfo, this.bridgeInfo(result));
    if (!this.firstPublishDone) {
      this.firstPublishDone = true;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        p.cleanupLeftovers((configTopic) => {
          const m = /\/device\/backup2mqtt_([^/]+)\/config$/.exec(configTopic);
          if (m) p.clearRetained(t.guestState(m[1]!));
        });
      }, 3000);
      this.timers.add(timer);
    }
    this.offsite.publish(p, this.ctx, now);
    const hbChange = this.offsite.nextChangeMs(now);
    this.armChangeTimer(hbChange !== null && (result.nextChangeMs === null || hbChange < result.nextChangeMs) ? hbChange : result.nextChangeMs, now);
  }

  private removeGuestTopics(id: string): void {
    this.publisher.publishRetained(this.topics.deviceConfig(guestDeviceId(this.ctx, id)), "");
    this.publisher.publishRetained(this.topics.guestState(id), "");
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
    const multi = this.sources.length > 1;
    for (const o of e.outcomes) {
      const id = guestId(this.cfg.site, e.source, o.vmid, multi);
      const base = { time: new Date(this.clock.now()).toISOString(), guest: id, upid: e.upid, ...(e.requestId ? { request_id: e.requestId } : {}) };
      if (e.phase === "started") this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_started", ...base });
      else if (e.phase === "unknown") this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_unknown", ...base, reason: e.reason ?? "Proxmox does not know the task" });
      else if (o.result === "failed") this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_failed", ...base, result: "failed", error: o.error ?? e.exitstatus ?? "unknown error" });
      else this.publisher.publishEvent(this.topics.guestEvent(id), { event_type: "backup_finished", ...base, result: o.result });
    }
  }
}
