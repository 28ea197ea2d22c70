import type { Config } from "../config/load.js";
import type { Archive, Evidence } from "../evidence.js";
import type { Logger } from "../log.js";
import type { GuestState } from "../policy/types.js";
import { PveError } from "../sources/pve/http.js";
import type { PveSource, TaskEvent } from "../sources/pve/source.js";
import { preloadSsh, SshError, sshExec, sshTargetFor, shq } from "../sources/ssh/client.js";
import type { Store } from "../state/store.js";
import type { Clock } from "../util/clock.js";
import { ActionGuard } from "./guard.js";
import { RestoreTester } from "./restore-test.js";
import type { Outcome } from "./router.js";
import { Verifier } from "./verifier.js";

export interface ActionDeps {
  cfg: Config;
  sources: PveSource[];
  store: Store;
  log: Logger;
  clock: Clock;
  guest(id: string): GuestState | undefined;
  /** Re-evaluate and publish now. */
  publish(): void;
  /** A guest event on its event topic (not retained). */
  event(guestId: string, payload: Record<string, unknown>): void;
  /** The published id of a guest of a source (pinned ids: see the device registry). */
  idOf(source: string, vmid: number): string;
}

/** "01:00-06:00" → is `at` (local time) inside it? Windows may wrap midnight. */
export function inQuietHours(window: string | undefined, at: Date): boolean {
  if (!window) return false;
  const [from, to] = window.split("-").map((t) => {
    const [h, m] = t.split(":").map(Number);
    return h! * 60 + m!;
  }) as [number, number];
  const now = at.getHours() * 60 + at.getMinutes();
  return from <= to ? now >= from && now < to : now >= from || now < to;
}

/**
 * Back up now, verify, restore test: the work behind the command router's guest actions, with
 * durable in-flight state and an audit of every manual action. Results flow back as evidence
 * (verifications, restore tests) and as events on the guest's event topic.
 */
export class GuestActions {
  private readonly verifiers = new Map<string, Verifier>();
  private readonly restorers = new Map<string, RestoreTester>();
  /**
   * One backup, one verification and one restore test per guest at a time, from the command's
   * acceptance to the end of its work (and one restore test per source: its scratch VMID).
   */
  readonly guard: ActionGuard;

  constructor(private readonly d: ActionDeps) {
    this.guard = new ActionGuard(() => d.clock.now(), d.log);
    for (const s of d.sources) {
      if (s.cfg.ssh) {
        preloadSsh();
        this.verifiers.set(
          s.name,
          new Verifier(s.name, s.cfg.ssh, d.log.child({ action: "verify", source: s.name }), () => d.clock.now()),
        );
      }
      if (s.cfg.restoreTest)
        this.restorers.set(
          s.name,
          new RestoreTester(
            s.http,
            s.cfg.restoreTest,
            s.name,
            d.log.child({ action: "restore_test", source: s.name }),
            () => d.clock.now(),
            500,
          ),
        );
    }
  }

  /** Evidence the bridge produced itself. */
  evidence(): Pick<Evidence, "verifications" | "verifiable" | "restoreTests"> {
    return {
      ...this.d.store.evidence(),
      verifiable: Object.fromEntries(this.d.sources.map((s) => [s.name, this.verifiers.has(s.name)])),
    };
  }

  /** After a restart (also after kill -9): follow the backups still in flight, clean up interrupted restore tests. */
  async resume(): Promise<void> {
    for (const t of this.d.store.inflight) {
      const source = this.d.sources.find((s) => s.name === t.source);
      if (!source) continue;
      if (t.kind === "backup") {
        this.d.log.info({ upid: t.upid, vmid: t.vmid }, "resuming a backup started before the restart");
        // Its guard again, so "Back up now" stays refused until its end is seen.
        const g = source.guest(t.vmid);
        const id = this.d.idOf(source.name, t.vmid);
        if (
          !this.guard.claim(backupKey(id), {
            what: `a backup of ${g?.name ?? `guest ${t.vmid}`} (${t.vmid})`,
            origin: t.origin,
          })
        )
          this.guard.bind(backupKey(id), t.upid);
        source.resumeTask(t.upid, t.node, t.vmid);
      } else {
        const tester = this.restorers.get(t.source);
        // Before the first poll the guest's type is not known yet: look for a scratch VM and container both.
        const kinds = [source.guest(t.vmid)?.type ?? ["qemu", "lxc"]].flat() as Array<"qemu" | "lxc">;
        let cleaned = false;
        try {
          if (tester) {
            let all = true;
            for (const kind of kinds) all = (await tester.cleanupAfterRestart(t.node, kind)) && all;
            cleaned = all;
          }
        } catch (e) {
          this.d.log.error({ err: (e as Error).message }, "cleanup after an interrupted restore test failed");
        }
        this.d.store.addRestore({
          source: t.source,
          vmid: t.vmid,
          volid: "",
          scratchVmid: source.cfg.restoreTest?.scratchVmid ?? 0,
          timeMs: this.d.clock.now(),
          durationMs: this.d.clock.now() - t.startedMs,
          ok: false,
          reason: "interrupted by a bridge restart",
          cleanedUp: cleaned,
        });
        this.d.store.removeInflight(t.upid);
      }
    }
  }

  private locate(id: string): { g: GuestState; source: PveSource } | { refusal: string } {
    const g = this.d.guest(id);
    if (!g) return { refusal: `unknown guest '${id}'` };
    const source = this.d.sources.find((s) => s.name === g.source);
    if (!source) return { refusal: `unknown source '${g.source}'` };
    if (!source.health.up || source.health.degraded)
      return { refusal: `Proxmox source '${source.name}' is not reachable: ${source.health.error ?? "unknown error"}` };
    return { g, source };
  }

  async backup(
    id: string,
    opts: { storage?: string; mode?: string; requestId?: string },
    origin: string,
  ): Promise<Outcome> {
    const at = this.locate(id);
    if ("refusal" in at) return this.refuse("backup", id, origin, at.refusal);
    const { g, source } = at;
    const tier = g.tier ? this.d.cfg.tiers[g.tier] : undefined;
    if (tier && !tier.allowManual)
      return this.refuse("backup", id, origin, `tier ${tier.id} does not allow manual backups (allow_manual: false)`);
    const what = `a backup of ${g.name} (${g.vmid})`;
    // Check and claim in one synchronous step, before the first await: a burst of presses while
    // Proxmox still answers the first POST finds the guard taken, and its refusal names the first request.
    const key = backupKey(g.id);
    const busy = this.guard.claim(key, { what, origin, ...(opts.requestId ? { requestId: opts.requestId } : {}) });
    if (busy) return this.refuse("backup", id, origin, busy);
    if (g.running) {
      // Not ours (ours hold the guard until their task ends): a scheduled job, the GUI, another client.
      this.guard.release(key);
      return this.refuse(
        "backup",
        id,
        origin,
        `${what} is already running (started outside this bridge, e.g. by a backup job or in the Proxmox web interface)`,
      );
    }
    const b = source.cfg.backup;
    const options = {
      storage: opts.storage ?? b.storage,
      mode: opts.mode ?? b.mode,
      compress: b.compress,
      notesTemplate: b.notesTemplate,
      ...(opts.requestId ? { requestId: opts.requestId } : {}),
    };
    // Released here unless handed to the task's end (onTaskEvent) or to the SSH session's end.
    let handedOver = false;
    try {
      if (b.method === "ssh") {
        const out = await this.backupOverSsh(g, source, options, origin, key);
        handedOver = out.ok;
        return out;
      }
      const upid = await source.startBackup(g.vmid, options);
      if (!upid)
        return this.refuse(
          "backup",
          id,
          origin,
          `Proxmox answered "OK" without starting a task: guest ${g.vmid} is not on node '${g.node}' any more`,
        );
      this.guard.bind(key, upid);
      // A poll may have seen the task end while the POST's answer was on its way.
      handedOver = !source.taskEnded(upid);
      if (
        handedOver &&
        !this.d.store.addInflight({
          kind: "backup",
          source: source.name,
          upid,
          node: g.node,
          vmid: g.vmid,
          startedMs: this.d.clock.now(),
          origin,
        })
      ) {
        this.d.log.error(
          { err: this.d.store.lastError, upid },
          "could not persist the running backup; a restart now would not report its end",
        );
      }
      this.d.store.audit({
        time: new Date(this.d.clock.now()).toISOString(),
        action: "backup",
        target: id,
        origin,
        result: "accepted",
        detail: upid,
      });
      this.d.publish();
      return { ok: true, upid };
    } catch (e) {
      const msg =
        e instanceof PveError && e.kind === "permission"
          ? `${e.message} — the token needs VM.Backup on /vms/${g.vmid} and Datastore.AllocateSpace on the target storage`
          : (e as Error).message;
      return this.refuse("backup", id, origin, `Proxmox refused the backup: ${msg}`);
    } finally {
      if (!handedOver) this.guard.release(key);
    }
  }

  /** method: ssh — vzdump on the node; the task it registers is followed like any other (the poll sees it running). */
  private async backupOverSsh(
    g: GuestState,
    source: PveSource,
    o: { storage?: string; mode: string; compress: string; notesTemplate: string; requestId?: string },
    origin: string,
    key: string,
  ): Promise<Outcome> {
    const ssh = source.cfg.ssh;
    if (!ssh) return this.refuse("backup", g.id, origin, "backup.method is ssh but no ssh section is configured");
    const storage = o.storage ?? source.defaultBackupStorage(source.guest(g.vmid)!);
    const flags: [string, string][] = [
      ["mode", o.mode],
      ["compress", o.compress],
      ...(storage
        ? ([["storage", storage], ...(o.notesTemplate ? [["notes-template", o.notesTemplate]] : [])] as [
            string,
            string,
          ][])
        : []),
    ];
    const cmd = `vzdump ${g.vmid} ${flags.map(([k, v]) => `--${k} ${shq(v)}`).join(" ")}`;
    this.d.store.audit({
      time: new Date(this.d.clock.now()).toISOString(),
      action: "backup",
      target: g.id,
      origin,
      result: "accepted",
      detail: "ssh",
    });
    this.d.event(g.id, {
      event_type: "backup_started",
      time: new Date(this.d.clock.now()).toISOString(),
      guest: g.id,
      ...(o.requestId ? { request_id: o.requestId } : {}),
    });
    void sshExec(sshTargetFor(ssh, g.node), cmd)
      .then((r) => {
        if (r.code !== 0) this.d.log.warn({ vmid: g.vmid, code: r.code }, "vzdump over SSH ended with an error");
      })
      .catch((e: Error) =>
        this.d.event(g.id, {
          event_type: "backup_failed",
          time: new Date(this.d.clock.now()).toISOString(),
          guest: g.id,
          result: "failed",
          error: e.message,
        }),
      )
      .finally(() => {
        // vzdump over SSH returns when the backup ended: the guard's end.
        this.guard.release(key);
        void source.refresh({ content: true }).then(() => this.d.publish());
      });
    // Let the next poll find the task PVE registered for it.
    setTimeout(() => void source.refresh().then(() => this.d.publish()), 500).unref();
    return { ok: true, detail: "vzdump started over SSH" };
  }

  async verify(id: string, origin: string, requestId?: string): Promise<Outcome> {
    const at = this.locate(id);
    if ("refusal" in at) return this.refuse("verify", id, origin, at.refusal);
    const { g, source } = at;
    const archives = source.archivesOf(g.vmid).sort((a, b) => b.ctimeMs - a.ctimeMs);
    const newest = archives[0];
    if (!newest) return this.refuse("verify", id, origin, `${g.name} has no archive to verify`);
    if (newest.format.startsWith("pbs-")) {
      return this.refuse(
        "verify",
        id,
        origin,
        `the newest archive is on Proxmox Backup Server, which verifies it itself (state: ${newest.verification ?? "not verified yet"})`,
      );
    }
    const verifier = this.verifiers.get(source.name);
    if (!verifier)
      return this.refuse(
        "verify",
        id,
        origin,
        `verification needs SSH to the nodes: add an ssh section to proxmox '${source.name}'`,
      );
    const node = newest.node ?? g.node;
    const key = verifyKey(g.id);
    const busy = this.guard.claim(key, {
      what: `a verification of ${g.name} (${g.vmid})`,
      origin,
      ...(requestId ? { requestId } : {}),
    });
    if (busy) return this.refuse("verify", id, origin, busy);
    if (verifier.isBusy(node)) {
      this.guard.release(key);
      return this.refuse("verify", id, origin, `a verification is already running on node '${node}'`);
    }
    this.d.store.audit({
      time: new Date(this.d.clock.now()).toISOString(),
      action: "verify",
      target: id,
      origin,
      result: "accepted",
      detail: newest.volid,
    });
    void this.runVerify(verifier, g, newest, node, origin, key);
    return { ok: true, detail: `verifying ${newest.volid}` };
  }

  /** Runs one verification; releases the guard `key` (claimed by the caller) at its end, whatever happens. */
  private async runVerify(
    verifier: Verifier,
    g: GuestState,
    archive: Archive,
    node: string,
    origin: string,
    key: string,
  ): Promise<void> {
    const time = () => new Date(this.d.clock.now()).toISOString();
    try {
      this.d.event(g.id, { event_type: "verify_started", time: time(), guest: g.id, volid: archive.volid });
      const rec = await verifier.verify(archive, node);
      this.d.store.addVerification(rec);
      this.d.store.audit({
        time: time(),
        action: "verify",
        target: g.id,
        origin,
        result: rec.ok ? "finished" : "failed",
        detail: rec.reason ?? archive.volid,
      });
      this.d.event(g.id, {
        event_type: rec.ok ? "verify_finished" : "verify_failed",
        time: time(),
        guest: g.id,
        volid: archive.volid,
        result: rec.ok ? "ok" : "failed",
        ...(rec.reason ? { error: rec.reason } : {}),
      });
    } catch (e) {
      // SSH trouble (wrong host key, auth, network) says nothing about the archive: no record, an event.
      const reason = e instanceof SshError ? e.message : `verification could not run: ${(e as Error).message}`;
      this.d.log.warn({ vmid: g.vmid, reason }, "verification did not run");
      this.d.store.audit({ time: time(), action: "verify", target: g.id, origin, result: "failed", detail: reason });
      this.d.event(g.id, {
        event_type: "verify_failed",
        time: time(),
        guest: g.id,
        volid: archive.volid,
        result: "not_run",
        error: reason,
      });
    } finally {
      this.guard.release(key);
    }
    this.d.publish();
  }

  async restoreTest(id: string, origin: string, requestId?: string): Promise<Outcome> {
    const at = this.locate(id);
    if ("refusal" in at) return this.refuse("restore_test", id, origin, at.refusal);
    const { g, source } = at;
    const tier = g.tier ? this.d.cfg.tiers[g.tier] : undefined;
    if (!tier?.restoreTest)
      return this.refuse(
        "restore_test",
        id,
        origin,
        `tier ${g.tier ?? "(none)"} has not opted in to restore tests (restore_test: true)`,
      );
    const tester = this.restorers.get(source.name);
    if (!tester)
      return this.refuse(
        "restore_test",
        id,
        origin,
        `no restore_test section (scratch VMID and storage) for proxmox '${source.name}'`,
      );
    const info = source.guest(g.vmid)!;
    const archive = source
      .archivesOf(g.vmid)
      .filter((a) => a.verification !== "failed")
      .sort((a, b) => b.ctimeMs - a.ctimeMs)[0];
    if (!archive) return this.refuse("restore_test", id, origin, `${g.name} has no archive to restore`);
    // The guest's guard and the source's (one scratch VMID per source), claimed before the first await.
    const claim = { what: `a restore test of ${g.name} (${g.vmid})`, origin, ...(requestId ? { requestId } : {}) };
    const key = restoreKey(g.id);
    const sourceKey = `restore_test@${source.name}`;
    const busy = this.guard.claim(key, claim);
    if (busy) return this.refuse("restore_test", id, origin, busy);
    const sourceBusy = this.guard.claim(sourceKey, claim);
    if (sourceBusy) {
      this.guard.release(key);
      return this.refuse(
        "restore_test",
        id,
        origin,
        `${sourceBusy.replace(/ is already running/, ` is already running on proxmox '${source.name}'`)}; one restore test at a time uses its scratch VMID`,
      );
    }
    const release = () => {
      this.guard.release(key);
      this.guard.release(sourceKey);
    };
    let refusal: string | undefined;
    try {
      refusal = await tester.precheck(info);
    } catch (e) {
      refusal = `cannot check the scratch VMID: ${(e as Error).message}`;
    }
    if (refusal) {
      release();
      return this.refuse("restore_test", id, origin, refusal);
    }
    const time = () => new Date(this.d.clock.now()).toISOString();
    this.d.store.audit({
      time: time(),
      action: "restore_test",
      target: id,
      origin,
      result: "accepted",
      detail: archive.volid,
    });
    this.d.event(g.id, { event_type: "restore_test_started", time: time(), guest: g.id, volid: archive.volid });
    let inflight: string | undefined;
    void tester
      .run(info, archive, {
        started: (upid, node) => {
          inflight = upid;
          this.d.store.addInflight({
            kind: "restore_test",
            source: source.name,
            upid,
            node,
            vmid: g.vmid,
            startedMs: this.d.clock.now(),
            origin,
          });
        },
      })
      .then((rec) => {
        this.d.store.addRestore(rec);
        this.d.store.audit({
          time: time(),
          action: "restore_test",
          target: id,
          origin,
          result: rec.ok ? "finished" : "failed",
          detail: rec.reason ?? archive.volid,
        });
        this.d.event(g.id, {
          event_type: rec.ok ? "restore_test_finished" : "restore_test_failed",
          time: time(),
          guest: g.id,
          volid: archive.volid,
          result: rec.ok ? "ok" : "failed",
          ...(rec.reason ? { error: rec.reason } : {}),
        });
      })
      .catch((e: Error) => {
        this.d.log.error({ vmid: g.vmid, err: e.message }, "restore test could not run");
        this.d.event(g.id, {
          event_type: "restore_test_failed",
          time: time(),
          guest: g.id,
          volid: archive.volid,
          result: "not_run",
          error: e.message,
        });
      })
      .finally(() => {
        release();
        if (inflight) this.d.store.removeInflight(inflight);
        this.d.publish();
      });
    return { ok: true, detail: `restoring ${archive.volid} to scratch VMID ${source.cfg.restoreTest!.scratchVmid}` };
  }

  /** Task ends: forget the in-flight record, audit the result. Events are sent by the bridge for every task. */
  onTaskEvent(e: TaskEvent): void {
    if (e.phase === "started") return;
    this.guard.releaseTask(e.upid);
    const mine = this.d.store.inflight.find((t) => t.upid === e.upid);
    if (!mine) return;
    if (e.phase === "unknown") {
      for (const o of e.outcomes) {
        this.d.store.audit({
          time: new Date(this.d.clock.now()).toISOString(),
          action: "backup",
          target: this.d.idOf(e.source, o.vmid),
          origin: mine.origin,
          result: "finished",
          detail: e.reason ?? "Proxmox does not know the task",
        });
      }
      this.d.store.removeInflight(e.upid);
      return;
    }
    for (const o of e.outcomes) {
      this.d.store.audit({
        time: new Date(this.d.clock.now()).toISOString(),
        action: "backup",
        target: this.d.idOf(e.source, o.vmid),
        origin: mine.origin,
        result: o.result === "failed" ? "failed" : "finished",
        detail: o.error ?? e.exitstatus ?? o.result,
      });
    }
    this.d.store.removeInflight(e.upid);
  }

  /** Automatic verification: archives whose tier wants it and that have not been verified, one per node, outside quiet hours. */
  async autoVerifyTick(guests: GuestState[]): Promise<void> {
    for (const source of this.d.sources) {
      const verifier = this.verifiers.get(source.name);
      if (!verifier || !source.cfg.verify.automatic || !source.health.up || source.health.degraded) continue;
      if (inQuietHours(source.cfg.verify.quietHours, new Date(this.d.clock.now()))) continue;
      // The last verdict per archive: a failed archive stays failed, so checking it again cannot clear verify_overdue.
      const verdicts = new Map(
        this.d.store.verifications.filter((v) => v.source === source.name).map((v) => [v.volid, v.ok]),
      );
      const startedOn = new Set<string>();
      for (const g of guests.filter(
        (x) => x.source === source.name && x.tier && this.d.cfg.tiers[x.tier]?.verifyEveryMs && !x.running,
      )) {
        const overdue = g.findings.some((f) => f.code === "verify_overdue");
        const newest = source
          .archivesOf(g.vmid)
          .filter((a) => !a.format.startsWith("pbs-"))
          .sort((a, b) => b.ctimeMs - a.ctimeMs)[0];
        if (!newest || (verdicts.has(newest.volid) && (!overdue || verdicts.get(newest.volid) === false))) continue;
        const node = newest.node ?? g.node;
        if (verifier.isBusy(node) || startedOn.has(node)) continue;
        // A verification of this guest that a command started is not repeated beside it.
        if (this.guard.claim(verifyKey(g.id), { what: `a verification of ${g.name} (${g.vmid})`, origin: "scheduler" }))
          continue;
        startedOn.add(node);
        void this.runVerify(verifier, g, newest, node, "scheduler", verifyKey(g.id));
      }
    }
  }

  private refuse(action: string, id: string, origin: string, reason: string): Outcome {
    this.d.store.audit({
      time: new Date(this.d.clock.now()).toISOString(),
      action,
      target: id,
      origin,
      result: "rejected",
      detail: reason,
    });
    return { ok: false, reason };
  }
}

const backupKey = (guest: string) => `backup:${guest}`;
const verifyKey = (guest: string) => `verify:${guest}`;
const restoreKey = (guest: string) => `restore_test:${guest}`;
