/**
 * The simulated Proxmox Backup Server's state: its datastores (snapshots per namespace with owner
 * and verification, the last GC, verify and sync job runs), the ACL (acl.cfg), the UPIDs it hands
 * out and the verify tasks POST …/verify starts. A verify task settles on the lab clock: when it
 * ends, it marks the snapshots it verified (ok, or failed for the scenario's corrupt ones).
 */
import type { z } from "zod";
import { isBackupOwner, userOf, type PbsAcl } from "./acl.js";
import { DEFAULT_PBS_ACL, type LastRun, type ResolvedPbs } from "./scenario.js";

const AGE_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const ageMs = (t: string) =>
  [...t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)].reduce((a, m) => a + Number(m[1]) * AGE_UNIT[m[2]!]! * 1000, 0);
const at = (w: { age?: string; time?: string }, start: number) =>
  w.time ? Date.parse(w.time) : start - ageMs(w.age ?? "0s");
/** Epoch seconds of a millisecond time, as PBS answers times. */
export const sec = (ms: number) => Math.floor(ms / 1000);
const hex = (n: number, w = 8) => n.toString(16).toUpperCase().padStart(w, "0");
/** systemd unit escaping of a worker id, as in UPIDs (`store1:vm/100` → `store1\x3avm-100`). */
const escapeId = (s: string) =>
  s.replace(/[^A-Za-z0-9_./]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).replace(/\//g, "-");

/** Whether a PBS version string ("3.2.4", "4.0.11") is at least major.minor. */
export function pbsVersionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return true; // not a release number: the newest behaviour
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

export interface SnapState {
  ns: string;
  type: string;
  id: string;
  time: number;
  size: number;
  verification?: { upid: string; state: string };
  comment?: string;
  owner: string;
  encrypted: boolean;
}

/** A job's last run; all null when it never ran. */
export interface JobState {
  endMs: number | null;
  state: string | null;
  upid: string | null;
}

export interface DatastoreState {
  cfg: ResolvedPbs["datastores"][number];
  snaps: SnapState[];
  gc: JobState;
  /** Verify and sync jobs' last runs by job id. */
  verify: Map<string, JobState>;
  sync: Map<string, JobState>;
}

/** A verify task started by POST …/verify. `owner`: only this caller's groups (Datastore.Backup alone), null = all. */
export interface VerifyTask {
  store: string;
  endMs: number;
  done: boolean;
  failed: boolean;
  auth: string;
  owner: string | null;
}

export class PbsState {
  /** acl.cfg: every token's and user's entries (a user not listed gets its token's entries). */
  readonly acl: PbsAcl = new Map();
  readonly stores: Map<string, DatastoreState>;
  readonly tasks = new Map<string, VerifyTask>();
  /** Push sync jobs and the `sync-direction` parameter of GET /admin/sync: proxmox-backup 3.3.0. */
  readonly hasPush: boolean;
  private taskCounter = 1;

  /** `start`: the lab clock at startup, from which the scenario's ages count back; `speed`: the lab's task speed. */
  constructor(
    readonly sc: ResolvedPbs,
    start: number,
    readonly speed: number,
  ) {
    for (const t of sc.tokens) this.acl.set(t.id, t.acl ?? DEFAULT_PBS_ACL);
    for (const t of sc.tokens) if (!this.acl.has(userOf(t.id))) this.acl.set(userOf(t.id), this.acl.get(t.id)!);
    for (const u of sc.users) this.acl.set(u.id, u.acl);
    this.stores = new Map(sc.datastores.map((d) => [d.name, this.datastoreState(d, start)] as const));
    this.hasPush = pbsVersionAtLeast(sc.version, 3, 3);
  }

  /** A task's UPID; every call takes the next task number. */
  upid(type: string, id: string, startMs: number, auth = "root@pam"): string {
    return `UPID:pbs:${hex(1234)}:${hex(6699)}:${hex(this.taskCounter++)}:${hex(sec(startMs))}:${type}:${escapeId(id)}:${auth}:`;
  }

  /** A group's owner (the lab keeps it per snapshot; its first snapshot decides, as for /groups). */
  groupOwner(st: { snaps: SnapState[] }, s: SnapState): string {
    return st.snaps.find((x) => x.ns === s.ns && x.type === s.type && x.id === s.id)!.owner;
  }

  /** Finishes the verify tasks that have ended by `now`, marking the snapshots they verified. */
  settle(now: number): void {
    for (const [id, t] of this.tasks) {
      if (t.done || now < t.endMs) continue;
      t.done = true;
      const st = this.stores.get(t.store)!;
      for (const s of st.snaps) {
        if (s.verification) continue; // ignore-verified
        if (t.owner !== null && !isBackupOwner(this.groupOwner(st, s), t.owner)) continue; // Datastore.Backup only: own groups
        const bad = st.cfg.corrupt.includes(`${s.type}/${s.id}`);
        s.verification = { upid: id, state: bad ? "failed" : "ok" };
        if (bad) t.failed = true;
      }
    }
  }

  /** One datastore from the scenario (UPIDs numbered in order: snapshots' verifications, GC, verify jobs, sync jobs). */
  private datastoreState(d: ResolvedPbs["datastores"][number], start: number): DatastoreState {
    const snaps: SnapState[] = d.snapshots.map((s) => ({
      ns: s.ns,
      type: s.type,
      id: s.id,
      time: sec(at(s, start)),
      size: s.size,
      owner: s.owner,
      encrypted: s.encrypted,
      ...(s.comment ? { comment: s.comment } : {}),
      ...(s.verification
        ? {
            verification: {
              upid: this.upid("verificationjob", `${d.name}:v-weekly`, at(s, start) + 3_600_000),
              state: s.verification,
            },
          }
        : {}),
    }));
    const job = (r: z.output<typeof LastRun> | undefined | null, type: string, id: string): JobState =>
      r
        ? { endMs: at(r, start), state: r.state, upid: this.upid(type, id, at(r, start) - 60_000) }
        : { endMs: null, state: null, upid: null };
    return {
      cfg: d,
      snaps,
      gc: job(d.gc, "garbage_collection", d.name),
      verify: new Map(d.verifyJobs.map((j) => [j.id, job(j.lastRun, "verificationjob", `${d.name}:${j.id}`)])),
      sync: new Map(
        d.syncJobs.map((j) => [
          j.id,
          job(j.lastRun, "syncjob", `${j.remote ?? "local"}:${j.remoteStore}:${d.name}:s-${j.id}`),
        ]),
      ),
    };
  }
}
