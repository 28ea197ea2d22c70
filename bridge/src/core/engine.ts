/**
 * The engine: sources → evidence → pure policy → a read-only view, and actions back in through
 * one command router. It owns the sources, the scheduler (every poll, the fast loop while backups
 * run, the change timer that turns a guest stale at its exact deadline) and the bus on which it
 * announces each evaluation. It publishes nothing itself: extensions (MQTT, HTTP…) do.
 */
import type { Config } from "../config/load.js";
import type { Evidence } from "../evidence.js";
import type { Logger } from "../log.js";
import { evaluate, GuestMemo } from "../policy/evaluate.js";
import { type FallbackPlan, planFallbacks, withFallbacks } from "../policy/fallback.js";
import { wordsOf } from "../words/render.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import { PveSource, type TaskEvent } from "../sources/pve/source.js";
import { CommandRouter, type Outcome, type Target } from "../actions/router.js";
import { GuestActions } from "../actions/guest-actions.js";
import { DeviceRegistry, type DeviceEntry } from "../state/devices.js";
import { Store } from "../state/store.js";
import { systemClock, type Clock } from "../util/clock.js";
import { earliest } from "../util/time.js";
import { Bus } from "./bus.js";
import { assembleEvidence, policyInput } from "./evidence.js";
import { guestId, objectIdOf, severalSources } from "./identity.js";
import { OffsiteSources } from "./offsite.js";
import { Scheduler } from "./scheduler.js";
import { taskEvents, rejectionEvent, overrunEvents } from "./events.js";
import { pveVersions } from "./pve-versions.js";
import type { SourceView, View } from "./view.js";

const FAST_POLL_MS = 2000;

export interface EngineOptions {
  clock?: Clock;
  /** Fast poll of running tasks (ms). */
  fastPollMs?: number;
}

export class Engine implements View {
  readonly sources: PveSource[];
  readonly offsite: OffsiteSources;
  readonly store: Store;
  readonly actions: GuestActions;
  readonly router: CommandRouter;
  readonly bus: Bus;
  readonly scheduler: Scheduler;
  /** Every device this bridge published (also in earlier runs): pins guest ids, remembers gone devices. */
  readonly devices: DeviceRegistry;
  readonly clock: Clock;
  result: PolicyResult | null = null;
  evaluatedAtMs = 0;
  lastRefreshMs: number | null = null;
  lastRefreshDurationMs: number | null = null;
  private mqttLink: () => boolean = () => false;
  /** Guests whose facts did not change are not judged again (see GuestMemo). */
  private readonly memo = new GuestMemo();
  private overrides: Record<string, string> = {};
  /** Guest + task of each backup_overrunning already sent (once per task). */
  private readonly overrunAnnounced = new Set<string>();
  private refreshing: Promise<void> | null = null;
  private stopping?: Promise<void>;
  /** Proxmox sources whose token may no longer see guests it saw before (set by hidingGuests). */
  private readonly hiding = new Map<string, number>();

  constructor(
    readonly cfg: Config,
    private readonly log: Logger,
    private readonly opts: EngineOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    const now = () => this.clock.now();
    this.bus = new Bus(log.child({ part: "bus" }));
    this.scheduler = new Scheduler(log);
    this.sources = cfg.proxmox.map((p) => new PveSource(p, log.child({ source: p.name }), now));
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
      publish: () => this.evaluate(),
      event: (id, payload) =>
        this.bus.emit("event", {
          target: { kind: "guest", id },
          payload: payload as { event_type: string; time: string },
        }),
      idOf: (source, vmid) => this.idOf(source, vmid),
    });
    this.offsite = new OffsiteSources(cfg, log.child({ part: "offsite" }), now, { fastPollMs: opts.fastPollMs });
    this.router = new CommandRouter(
      {
        backup: (id, cmd) =>
          this.actions.backup(
            id,
            { storage: cmd.storage, mode: cmd.mode, requestId: cmd.request_id },
            cmd.origin ?? "mqtt",
          ),
        verify: (id, cmd) => this.actions.verify(id, cmd.origin ?? "mqtt", cmd.request_id),
        restoreTest: (id, cmd) => this.actions.restoreTest(id, cmd.origin ?? "mqtt", cmd.request_id),
        stopBackup: (id, cmd) => this.actions.stopBackup(id, cmd.origin ?? "mqtt"),
        setTier: async () => ({ ok: false, reason: "tier overrides are not available" }),
        refresh: async () => {
          await this.refreshAll({ content: true });
          return { ok: true, detail: "refreshed" };
        },
        report: (target, cmd, outcome) => this.reportCommand(target, cmd, outcome),
        runHyperBackup: async (key, cmd) => {
          const r = await this.offsite.runHyperBackup(key, (e) => this.bus.emit("event", e), requester(cmd));
          this.evaluate();
          return r;
        },
        verifyDatastore: (key, cmd) => this.offsite.verifyDatastore(key, requester(cmd)),
      },
      log.child({ part: "router" }),
    );
  }

  /** Builds the sources whose modules load on demand (NAS, PBS); start() does it too, the service does it before its surfaces. */
  load(): Promise<void> {
    return this.offsite.load();
  }

  /** Reads every source once (after the caller connected its surfaces), then polls on the scheduler. */
  async start(): Promise<void> {
    await this.load();
    await this.actions.resume();
    await this.refreshAll({ content: true });
    for (const s of this.sources) this.scheduler.every(s.cfg.pollIntervalMs, () => this.refreshSource(s));
    this.scheduler.every(this.opts.fastPollMs ?? FAST_POLL_MS, async () => {
      const busy = this.sources.filter((s) => s.hasRunningTasks());
      if (!busy.length) return;
      await Promise.all(busy.map((s) => s.pollRunningTasks()));
      this.evaluate();
    });
    this.offsite.start(this.scheduler, () => this.evaluate());
  }

  /** Stops polling and closes the sources; a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.scheduler.stop();
      await this.refreshing?.catch(() => undefined);
      await this.offsite.stop();
      await Promise.all(this.sources.map((s) => s.close()));
    })();
    return this.stopping;
  }

  /** Refreshes every source, then evaluates once. Concurrent calls share one refresh. */
  async refreshAll(opts: { content?: boolean } = {}): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      const started = performance.now();
      await Promise.all([...this.sources.map((s) => s.refresh(opts)), this.offsite.refreshAll()]);
      this.lastRefreshDurationMs = performance.now() - started;
      this.lastRefreshMs = this.clock.now();
      this.evaluate();
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async refreshSource(s: PveSource): Promise<void> {
    const started = performance.now();
    await s.refresh();
    this.lastRefreshDurationMs = performance.now() - started;
    this.lastRefreshMs = this.clock.now();
    this.evaluate();
  }

  /** Whether the MQTT broker is connected, as the MQTT extension reports it. */
  get mqttConnected(): boolean {
    return this.mqttLink();
  }

  setMqttConnected(connected: () => boolean): void {
    this.mqttLink = connected;
  }

  /** Tier overrides set from Home Assistant (the tier-overrides extension owns them). */
  setOverrides(overrides: Record<string, string>): void {
    this.overrides = overrides;
  }

  evidence(): Evidence {
    return assembleEvidence(this.cfg, this.sources, this.store.evidence(), this.offsite);
  }

  /** Evaluates the policy at this instant, announces the view, and wakes up at the next change. */
  evaluate(): void {
    if (this.scheduler.isStopped) return;
    const now = this.clock.now();
    const evidence = this.evidence();
    this.result = evaluate(
      { ...policyInput(this.cfg, evidence, this.overrides, now, this.guestIds(evidence)), jobsDue: this.store.jobsDue },
      this.memo,
    );
    if (this.result.jobsDue) this.store.setJobsDue(this.result.jobsDue);
    this.result = this.withFallback(this.result, evidence, now);
    for (const ev of overrunEvents(this.result.guests, this.overrunAnnounced, now)) this.bus.emit("event", ev);
    this.evaluatedAtMs = now;
    this.bus.emit("evaluated", this);
    const taskChange = earliest(...this.hyperBackupTasks.map((t) => t.verdict.changesAt));
    this.scheduler.at(
      "change",
      earliest(this.result.nextChangeMs, taskChange, this.result.missedJobsChangeMs),
      now,
      () => this.evaluate(),
    );
  }

  /**
   * The self-healing fallback's plan (policy/fallback.ts) from this evaluation and the records in
   * state_dir fallback.json; extensions/fallback.ts carries it out. Each guest's `fallback` field
   * and the finding fallback_failed come from it.
   */
  fallbackPlan: FallbackPlan | null = null;

  private withFallback(result: PolicyResult, evidence: Evidence, now: number): PolicyResult {
    this.fallbackPlan = planFallbacks({
      guests: result.guests,
      tiers: this.cfg.tiers,
      guestInfo: evidence.guests,
      jobs: evidence.jobs,
      sources: evidence.sources,
      records: this.store.fallback,
      now,
      words: wordsOf(this.cfg),
      ...(evidence.jobTimeZones ? { jobTimeZones: evidence.jobTimeZones } : {}),
    });
    return withFallbacks(result, this.fallbackPlan);
  }

  guest(id: string): GuestState | undefined {
    return this.result?.guests.find((g) => g.id === id);
  }

  /**
   * Each guest's id: pinned in the device registry once given (adding a second Proxmox source
   * renames nobody), else `<site>_<vmid>`, or `<site>_<source>_<vmid>` with several sources.
   */
  private guestIds(evidence: Evidence): Map<string, string> {
    const names = new Set(this.cfg.proxmox.map((p) => p.name));
    const multi = severalSources(evidence.sources.map((s) => s.name));
    const out = new Map<string, string>();
    for (const g of evidence.guests) {
      if (g.template) continue;
      const preferred = guestId(this.cfg.site, g.source, g.vmid, multi);
      const legacy = guestId(this.cfg.site, g.source, g.vmid, false);
      out.set(
        `${g.source}/${g.vmid}`,
        this.devices.guestId(g.source, g.vmid, preferred, legacy, (s) => names.has(s)),
      );
    }
    return out;
  }

  /** The id of a guest of a source, as published (for task events). */
  idOf(source: string, vmid: number): string {
    const pinned = this.devices.guestIdOf(source, vmid);
    return pinned ?? guestId(this.cfg.site, source, vmid, severalSources(this.cfg.proxmox.map((p) => p.name)));
  }

  get proxmox(): SourceView[] {
    return this.sources.map((s) => ({
      health: s.health,
      requests: s.lastRefreshRequests,
      requestsTotal: s.http.requestCount,
      available: s.health.up && !s.health.degraded && !this.hidingGuests(s),
      url: s.cfg.url,
    }));
  }

  get offsiteSources(): SourceView[] {
    return this.offsite.sourceViews();
  }

  get hyperBackupTasks() {
    return this.offsite.hyperBackupViews(this.evaluatedAtMs);
  }

  get pbsDatastores() {
    return this.offsite.pbsDatastoreViews();
  }

  pendingRemoval() {
    return this.devices.pending();
  }

  get removalGraceMs(): number {
    return this.cfg.mqtt.removalGraceMs;
  }

  pveVersions(): Promise<Record<string, string | null>> {
    return pveVersions(this.sources, this.clock);
  }

  /** May a device that was not published now be taken as gone (a complete read of its source says so)? */
  confirmsGone(e: DeviceEntry): boolean {
    if (e.kind !== "guest") return this.offsite.confirmsAbsent(e.kind, e.source);
    if (e.vmid === undefined) return false;
    if (e.source === null) return this.sources.every((s) => s.confirmsAbsent(e.vmid!));
    const s = this.sources.find((x) => x.name === e.source);
    // Its Proxmox source was removed from the config: nothing will ever vouch for it again.
    return s ? s.confirmsAbsent(e.vmid) : true;
  }

  /**
   * A source that answers but whose token may no longer see guests it saw before (VM.Audit taken
   * away): their devices stay, and the source's guests are shown unavailable rather than as a
   * picture of the past. Logged once per change of the count.
   */
  private hidingGuests(s: PveSource): boolean {
    const hidden = this.devices
      .hiddenGuests(s.name, (vmid) => s.mayBeHidden(vmid))
      .map(objectIdOfDevice)
      .sort();
    if ((this.hiding.get(s.name) ?? 0) !== hidden.length) {
      this.hiding.set(s.name, hidden.length);
      if (!hidden.length)
        this.log.info({ proxmox: s.name }, `the token of Proxmox '${s.name}' sees every guest it saw before again`);
      else {
        const list = `${hidden.slice(0, 5).join(", ")}${hidden.length > 5 ? ", …" : ""}`;
        const count = hidden.length === 1 ? "1 guest" : `${hidden.length} guests`;
        this.log.warn(
          { proxmox: s.name },
          `the token of Proxmox '${s.name}' may no longer see ${count} it saw before (${list}); grant VM.Audit on /vms. ` +
            `Their devices are kept, and every guest of '${s.name}' is shown unavailable until the token sees them again`,
        );
      }
    }
    return hidden.length > 0;
  }

  private reportCommand(
    target: Target,
    cmd: { action?: string; request_id?: string } | undefined,
    outcome: Outcome,
  ): void {
    // Accepted backups report through backup_started / finished events.
    if (outcome.ok) return;
    const known = target.kind !== "guest" || !!this.guest(target.id);
    this.bus.emit(
      "event",
      rejectionEvent(known ? target : { kind: "bridge" }, target, cmd, outcome.reason, this.clock.now()),
    );
  }

  private onTaskEvent(e: TaskEvent): void {
    this.actions.onTaskEvent(e);
    for (const ev of taskEvents(e, (vmid) => this.idOf(e.source, vmid), this.clock.now())) this.bus.emit("event", ev);
  }
}

const objectIdOfDevice = objectIdOf;

/** Who asked, for the one-action-at-a-time refusals ("started by home_assistant, request abc"). */
function requester(cmd: { origin?: string; request_id?: string }): { origin: string; requestId?: string } {
  return { origin: cmd.origin ?? "mqtt", ...(cmd.request_id ? { requestId: cmd.request_id } : {}) };
}
