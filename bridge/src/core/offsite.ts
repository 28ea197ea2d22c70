/**
 * The off-site layer's sources (Synology NAS with Hyper Backup, Proxmox Backup Server) behind one
 * small interface for the engine: poll them (on the engine's scheduler), give the policy their
 * copy targets, list their tasks and datastores with their verdicts, and carry out "run now" /
 * "verify now". A NAS or PBS that is down or unreadable affects only its own devices and copies.
 */
import type { Config } from "../config/load.js";
import type { HyperBackupTaskEvidence, OffsiteEvidence } from "../evidence.js";
import type { Logger } from "../log.js";
import type { Outcome } from "../actions/router.js";
import { hyperBackupKey, pbsKey } from "./identity.js";
import { hyperBackupHealth } from "../policy/offsite.js";
import { pbsDatastoreHealth } from "../policy/datastore.js";
import { wordsOf, type RenderOptions } from "../words/render.js";
import type { HyperBackupView, PbsDatastoreView, SourceView } from "./view.js";
import type { Scheduler } from "./scheduler.js";
import type { DomainEvent } from "./bus.js";
import { ActionGuard, type GuardClaim } from "../actions/guard.js";
import type { SynologySource } from "../sources/dsm/source.js";
import type { PbsSource } from "../sources/pbs/source.js";

const FAST_POLL_MS = 3000;
/** A Hyper Backup run the NAS never showed as running is taken as over after this long. */
const HB_NEVER_SEEN_MS = 2 * 60_000;

/** Who asked for a run / verify (named when a second one is refused). */
export type Requester = Omit<GuardClaim, "what">;

export class OffsiteSources {
  /** Filled by load(): empty until then. */
  nas: SynologySource[] = [];
  pbs: PbsSource[] = [];
  private loading?: Promise<void>;
  /**
   * One "run now" per Hyper Backup task and one "verify now" per PBS datastore, from the command
   * to the end of the work (a NAS refresh that shows the task idle again, the PBS task stopped).
   */
  readonly guard: ActionGuard;
  /** Hyper Backup runs this bridge started: seen busy on the NAS yet? */
  private readonly hbRuns = new Map<string, { seenBusy: boolean }>();

  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly now: () => number,
    opts: { fastPollMs?: number } = {},
  ) {
    this.fastPollMs = opts.fastPollMs ?? FAST_POLL_MS;
    this.words = wordsOf(cfg);
    this.guard = new ActionGuard(now, log);
  }
  private readonly fastPollMs: number;
  /** Language and zone of the reasons (config `language`, `timezone`). */
  private readonly words: RenderOptions;

  /**
   * Builds the configured NAS and PBS sources; a second call waits for the first. Their modules
   * (and their HTTP client, undici) are imported only when the config has such a source: most
   * home labs have neither, and loading them costs a small machine ~15-20 MB of memory.
   */
  load(): Promise<void> {
    this.loading ??= (async () => {
      const { cfg, log, now } = this;
      const secret = (s: string) => {
        if (s && !cfg.secrets.includes(s)) cfg.secrets.push(s);
      };
      if (cfg.synology?.length) {
        const { SynologySource } = await import("../sources/dsm/source.js");
        this.nas = cfg.synology.map(
          (n) => new SynologySource(n, log.child({ source: n.name }), now, cfg.stateDir, secret),
        );
      }
      if (cfg.pbs?.length) {
        const { PbsSource } = await import("../sources/pbs/source.js");
        this.pbs = cfg.pbs.map((b) => new PbsSource(b, log.child({ source: b.name }), now));
      }
    })();
    return this.loading;
  }

  get configured(): boolean {
    return (this.cfg.synology?.length ?? 0) + (this.cfg.pbs?.length ?? 0) > 0;
  }

  async refreshAll(): Promise<void> {
    await this.load();
    await Promise.all([
      ...this.nas.map((s) => s.refresh()),
      ...this.pbs.map((s) => s.refresh().then(() => this.followVerifies(s))),
    ]);
    this.settleRuns();
  }

  /** Polls each source on its own interval (a NAS with a running task every few seconds); calls onChange after each poll. */
  start(scheduler: Scheduler, onChange: () => void): void {
    for (const s of this.nas)
      scheduler.every(
        () =>
          s.tasks.some((t) => t.status !== "none" || t.lastResult === "backingup")
            ? Math.min(this.fastPollMs, s.cfg.pollIntervalMs)
            : s.cfg.pollIntervalMs,
        async () => {
          await s.refresh();
          this.settleRuns();
          onChange();
        },
        "off-site refresh",
      );
    for (const s of this.pbs)
      scheduler.every(
        s.cfg.pollIntervalMs,
        () =>
          s
            .refresh()
            .then(() => this.followVerifies(s))
            .then(onChange),
        "off-site refresh",
      );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nas.map((s) => s.close()), ...this.pbs.map((s) => s.close())]);
  }

  /** For the policy; undefined when no off-site source is configured (3-2-1 is then not evaluated). */
  evidence(): OffsiteEvidence | undefined {
    if (!this.configured) return undefined;
    return {
      targets: [...this.nas.flatMap((s) => s.copyTargets()), ...this.pbs.flatMap((s) => s.copyTargets())],
      offsiteStorages: this.pbs.flatMap((s) => s.offsiteStorages()),
    };
  }

  /**
   * Every Hyper Backup task with what it backs up (folders, excludes, schedule) and the NAS's host
   * names, for the rules that find which guest disks a task covers; undefined when no Synology
   * source is configured.
   */
  hyperBackupEvidence(): HyperBackupTaskEvidence[] | undefined {
    if (!this.cfg.synology?.length) return undefined;
    return this.nas.flatMap((s) => s.hyperBackupEvidence());
  }

  private hbEntries() {
    const multi = this.nas.length > 1;
    return this.nas.flatMap((s) => s.tasks.map((t) => ({ s, t, key: hyperBackupKey(t, multi) })));
  }

  private pbsEntries() {
    const multi = this.pbs.length > 1;
    return this.pbs.flatMap((s) => s.datastores.map((d) => ({ s, d, key: pbsKey(d, multi) })));
  }

  /** Every NAS and PBS as the surfaces see it. */
  sourceViews(): SourceView[] {
    return [...this.nas, ...this.pbs].map((s) => ({
      health: s.health,
      requests: s.lastRefreshRequests,
      available: s.readable,
      url: s.cfg.url,
    }));
  }

  /** Every Hyper Backup task with its verdict at `now`. */
  hyperBackupViews(now: number): HyperBackupView[] {
    return this.hbEntries().map(({ s, t, key }) => ({
      key,
      task: t,
      verdict: hyperBackupHealth(t, s.readable, t.maxAgeMs, now, this.words),
      readable: s.readable,
      nasUrl: s.cfg.url,
    }));
  }

  /** Every PBS datastore with its verdict. */
  pbsDatastoreViews(): PbsDatastoreView[] {
    return this.pbsEntries().map(({ s, d, key }) => ({
      key,
      datastore: d,
      verdict: pbsDatastoreHealth(d, s.readable, this.words),
      readable: s.readable,
      pbsUrl: s.cfg.url,
    }));
  }

  /**
   * May a device of this kind and source that was not published be taken as gone? Only when its
   * NAS / PBS answered in full (a source removed from the config counts as an answer); null source =
   * found on the broker with no owner known: every source of that kind must have answered.
   */
  confirmsAbsent(kind: "hyperbackup" | "pbs", source: string | null): boolean {
    const all: Array<{ name: string; readable: boolean }> = kind === "hyperbackup" ? this.nas : this.pbs;
    if (source === null) return all.every((s) => s.readable);
    const s = all.find((x) => x.name === source);
    return !s || s.readable;
  }

  async runHyperBackup(
    key: string,
    announce: (e: DomainEvent) => void,
    by: Requester = { origin: "a command" },
  ): Promise<Outcome> {
    const e = this.hbEntries().find((x) => x.key === key);
    if (!e) return { ok: false, reason: `unknown Hyper Backup task '${key}'` };
    if (!e.s.readable)
      return { ok: false, reason: `NAS '${e.s.name}' is not reachable: ${e.s.health.error ?? "unknown error"}` };
    if (e.t.status !== "none" || e.t.lastResult === "backingup")
      return { ok: false, reason: `Hyper Backup task '${e.t.name}' is busy (${e.t.status})` };
    if (e.t.state !== "backupable")
      return { ok: false, reason: `Hyper Backup task '${e.t.name}' cannot back up (state '${e.t.state}')` };
    // Checked and claimed before the first await: presses while the NAS answers the first are refused.
    const gk = hbKey(key);
    const busy = this.guard.claim(gk, { what: `a run of Hyper Backup task '${e.t.name}'`, ...by });
    if (busy) return { ok: false, reason: busy };
    try {
      await e.s.runTask(e.t.taskId);
    } catch (err) {
      this.guard.release(gk);
      return { ok: false, reason: `the NAS refused to start '${e.t.name}': ${(err as Error).message}` };
    }
    // Held until a refresh shows the task idle again (settleRuns).
    this.hbRuns.set(gk, { seenBusy: false });
    announce({
      target: { kind: "hyperbackup", id: key },
      payload: { event_type: "run_started", time: new Date(this.now()).toISOString(), task: key, name: e.t.name },
    });
    await e.s.refresh();
    this.settleRuns();
    return { ok: true, detail: `Hyper Backup task '${e.t.name}' started` };
  }

  /** Releases the guard of each started Hyper Backup run whose task the NAS shows idle again (or never showed busy for a while). */
  private settleRuns(): void {
    const now = this.now();
    const entries = new Map(this.hbEntries().map((x) => [hbKey(x.key), x]));
    for (const { key, sinceMs } of this.guard.entries()) {
      const run = this.hbRuns.get(key);
      if (!run) continue; // still being started (runHyperBackup holds it)
      const e = entries.get(key);
      if (!e) {
        this.releaseRun(key);
        continue;
      }
      if (!e.s.readable) continue;
      const busy = e.t.status !== "none" || e.t.lastResult === "backingup";
      if (busy) run.seenBusy = true;
      else if (run.seenBusy || now - sinceMs >= HB_NEVER_SEEN_MS) this.releaseRun(key);
    }
  }

  private releaseRun(key: string): void {
    this.guard.release(key);
    this.hbRuns.delete(key);
  }

  async verifyDatastore(key: string, by: Requester = { origin: "a command" }): Promise<Outcome> {
    const e = this.pbsEntries().find((x) => x.key === key);
    if (!e) return { ok: false, reason: `unknown PBS datastore '${key}'` };
    if (!e.s.readable)
      return { ok: false, reason: `PBS '${e.s.name}' is not reachable: ${e.s.health.error ?? "unknown error"}` };
    const refused = e.s.verifyRefusal(e.d.store);
    if (refused) return { ok: false, reason: refused };
    // Checked and claimed before the first await, held until the PBS task is seen stopped (followVerifies).
    const gk = pbsVerifyKey(e.s.name, e.d.store);
    const busy = this.guard.claim(gk, { what: `a verification of PBS datastore '${e.d.store}'`, ...by });
    if (busy) return { ok: false, reason: busy };
    try {
      const upid = await e.s.startVerify(e.d.store);
      this.guard.bind(gk, upid);
      return { ok: true, upid, detail: `verify of ${e.d.store} started` };
    } catch (err) {
      this.guard.release(gk);
      return { ok: false, reason: `PBS refused the verify: ${(err as Error).message}` };
    }
  }

  /** After a PBS poll: release the guard of each verify this bridge started whose task stopped. */
  private async followVerifies(s: PbsSource): Promise<void> {
    const prefix = pbsVerifyKey(s.name, "");
    for (const { key, upid } of this.guard.entries()) {
      if (!upid || !key.startsWith(prefix)) continue;
      try {
        const st = await s.taskStatus(upid);
        if (st.status === "stopped") this.guard.release(key);
      } catch (err) {
        // PBS answered but will not tell (no such task, task access not allowed): nothing to wait
        // for. Network trouble: ask again on the next poll.
        const kind = (err as { kind?: string }).kind;
        if (kind === "http" || kind === "permission") {
          this.log.warn(
            { upid, err: (err as Error).message },
            "cannot follow the PBS verify this bridge started; a new verify of its datastore is accepted again",
          );
          this.guard.release(key);
        }
      }
    }
  }
}

const hbKey = (key: string) => `hyperbackup:${key}`;
const pbsVerifyKey = (source: string, store: string) => `pbs-verify:${source}/${store}`;
