/**
 * The simulated Proxmox Backup Server's state: its datastores (snapshots per namespace with owner
 * and verification, the last GC, verify, sync and prune job runs), the ACL (acl.cfg), and the
 * tasks it knows (tasks.ts): one per snapshot's backup, per verification and job run of the
 * scenario, and those POST …/verify and …/gc start. A started task settles on the lab clock: when
 * a verify ends, it marks the snapshots it verified (ok, or failed for the scenario's corrupt
 * ones); when a GC ends, it becomes the datastore's last GC.
 */
import type { z } from "zod";
import { isBackupOwner, userOf, type PbsAcl } from "./acl.js";
import { DEFAULT_PBS_ACL, type LastRun, type ResolvedPbs } from "./scenario.js";
import { backupLog, jobLog, logLine, type PbsTask } from "./tasks.js";
import { formatUpid } from "./upid.js";

const AGE_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const ageMs = (t: string) =>
  [...t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)].reduce((a, m) => a + Number(m[1]) * AGE_UNIT[m[2]!]! * 1000, 0);
const at = (w: { age?: string; time?: string }, start: number) =>
  w.time ? Date.parse(w.time) : start - ageMs(w.age ?? "0s");
/** Epoch seconds of a millisecond time, as PBS answers times. */
export const sec = (ms: number) => Math.floor(ms / 1000);

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
  /** Verify, sync and prune jobs' last runs by job id. */
  verify: Map<string, JobState>;
  sync: Map<string, JobState>;
  prune: Map<string, JobState>;
}

/** The node name in UPIDs (the scenario's name when it is a valid host name). */
const nodeName = (name: string) => (/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(name) ? name : "pbs");
/** pid and process start of the lab's proxmox-backup-proxy, as every UPID carries them. */
const PROXY_PID = 1234;
const PROXY_PSTART = 6699;

/** The worker id of a sync job's task (src/api2/pull.rs do_sync_job): `remote|-:remote-store:store:ns:job`. */
export const syncWorkerId = (store: string, j: { id: string; remote?: string | undefined; remoteStore: string }) =>
  `${j.remote ?? "-"}:${j.remoteStore}:${store}::${j.id}`;

export class PbsState {
  /** acl.cfg: every token's and user's entries (a user not listed gets its token's entries). */
  readonly acl: PbsAcl = new Map();
  readonly stores: Map<string, DatastoreState>;
  /** Every task the lab knows, by UPID. */
  readonly tasks = new Map<string, PbsTask>();
  /** Push sync jobs and the `sync-direction` parameter of GET /admin/sync: proxmox-backup 3.3.0. */
  readonly hasPush: boolean;
  readonly node: string;
  /** When the lab's datastores were created (their RRD history starts here), ms. */
  readonly createdMs: number;
  private taskCounter = 1;

  /** `start`: the lab clock at startup, from which the scenario's ages count back; `speed`: the lab's task speed. */
  constructor(
    readonly sc: ResolvedPbs,
    start: number,
    readonly speed: number,
  ) {
    this.node = nodeName(sc.name);
    for (const t of sc.tokens) this.acl.set(t.id, t.acl ?? DEFAULT_PBS_ACL);
    for (const t of sc.tokens) if (!this.acl.has(userOf(t.id))) this.acl.set(userOf(t.id), this.acl.get(t.id)!);
    for (const u of sc.users) this.acl.set(u.id, u.acl);
    const oldest = Math.min(start, ...sc.datastores.flatMap((d) => d.snapshots.map((s) => at(s, start))));
    this.createdMs = Math.min(start - 31 * 86_400_000, oldest - 86_400_000);
    this.stores = new Map(sc.datastores.map((d) => [d.name, this.datastoreState(d, start)] as const));
    this.hasPush = pbsVersionAtLeast(sc.version, 3, 3);
  }

  /** A task's UPID; every call takes the next task number. */
  upid(type: string, id: string, startMs: number, auth = "root@pam"): string {
    return formatUpid({
      node: this.node,
      pid: PROXY_PID,
      pstart: PROXY_PSTART,
      taskId: this.taskCounter++,
      starttime: sec(startMs),
      workerType: type,
      workerId: id,
      authId: auth,
    });
  }

  /** Registers a task (state null: a started task that settle() finishes) and returns its UPID. */
  addTask(t: Omit<PbsTask, "upid" | "log"> & { log?: string[] }): string {
    const upid = this.upid(t.workerType, t.workerId, t.startMs, t.auth);
    this.tasks.set(upid, {
      ...t,
      upid,
      log: (t.log ?? jobLog(t.workerType, t.workerId, new Date(t.startMs).toISOString())).map((m) =>
        logLine(t.startMs, m),
      ),
    });
    return upid;
  }

  /** A group's owner (the lab keeps it per snapshot; its first snapshot decides, as for /groups). */
  groupOwner(st: { snaps: SnapState[] }, s: SnapState): string {
    return st.snaps.find((x) => x.ns === s.ns && x.type === s.type && x.id === s.id)!.owner;
  }

  /** Finishes the started tasks that have ended by `now`: a verify marks the snapshots it verified, a GC becomes the last GC. */
  settle(now: number): void {
    for (const [id, t] of this.tasks) {
      if (t.state !== null || !t.started || now < t.endMs) continue;
      const st = this.stores.get(t.started.store)!;
      if (t.started.kind === "gc") {
        t.log.push(
          ...jobLog("garbage_collection", t.workerId, "")
            .slice(2)
            .map((m) => logLine(t.endMs, m)),
        );
        t.state = "OK";
        st.gc = { endMs: t.endMs, state: "OK", upid: id };
        continue;
      }
      const failed: string[] = [];
      for (const s of st.snaps) {
        if (s.verification) continue; // ignore-verified
        const owner = t.started.owner;
        if (owner !== null && !isBackupOwner(this.groupOwner(st, s), owner)) continue; // Datastore.Backup only: own groups
        const bad = st.cfg.corrupt.includes(`${s.type}/${s.id}`);
        const path = `${s.type}/${s.id}/${new Date(s.time * 1000).toISOString().replace(".000Z", "Z")}`;
        t.log.push(logLine(t.endMs, `verify ${t.started.store}:${path}`));
        if (bad) {
          t.log.push(logLine(t.endMs, `verify ${t.started.store}:${path} failed: chunks could not be verified`));
          failed.push(path);
        }
        s.verification = { upid: id, state: bad ? "failed" : "ok" };
      }
      if (failed.length)
        t.log.push(
          ...["Failed to verify the following snapshots/groups:", ...failed.map((f) => `\t${f}`)].map((m) =>
            logLine(t.endMs, m),
          ),
        );
      t.state = failed.length ? "verification failed - please check the log for details" : "OK";
    }
  }

  /** One datastore from the scenario, with a task for every backup, verification and job run it tells of. */
  private datastoreState(d: ResolvedPbs["datastores"][number], start: number): DatastoreState {
    const snaps: SnapState[] = d.snapshots.map((s) => {
      const t = at(s, start);
      const iso = new Date(sec(t) * 1000).toISOString().replace(".000Z", "Z");
      const path = `${s.ns ? `ns/${s.ns.split("/").join("/ns/")}/` : ""}${s.type}/${s.id}/${iso}`;
      const main = s.type === "vm" ? "drive-scsi0.img.fidx" : "root.pxar.didx";
      this.addTask({
        workerType: "backup",
        workerId: `${d.name}:${s.type}/${s.id}`,
        auth: s.owner,
        startMs: sec(t) * 1000,
        endMs: sec(t) * 1000 + 90_000,
        state: "OK",
        log: backupLog(d.name, path, [
          [main, s.size - 567],
          ["index.json.blob", 567],
        ]),
      });
      const verify = s.verification
        ? this.addTask({
            workerType: "verificationjob",
            workerId: `${d.name}:v-weekly`,
            auth: "root@pam",
            startMs: t + 3_600_000,
            endMs: t + 3_660_000,
            state: s.verification === "ok" ? "OK" : "verification failed - please check the log for details",
          })
        : null;
      return {
        ns: s.ns,
        type: s.type,
        id: s.id,
        time: sec(t),
        size: s.size,
        owner: s.owner,
        encrypted: s.encrypted,
        ...(s.comment ? { comment: s.comment } : {}),
        ...(verify && s.verification ? { verification: { upid: verify, state: s.verification } } : {}),
      };
    });
    const job = (r: z.output<typeof LastRun> | undefined | null, type: string, id: string): JobState =>
      r
        ? {
            endMs: at(r, start),
            state: r.state,
            upid: this.addTask({
              workerType: type,
              workerId: id,
              auth: "root@pam",
              startMs: at(r, start) - 60_000,
              endMs: at(r, start),
              state: r.state,
            }),
          }
        : { endMs: null, state: null, upid: null };
    return {
      cfg: d,
      snaps,
      gc: job(d.gc, "garbage_collection", d.name),
      verify: new Map(d.verifyJobs.map((j) => [j.id, job(j.lastRun, "verificationjob", `${d.name}:${j.id}`)])),
      sync: new Map(d.syncJobs.map((j) => [j.id, job(j.lastRun, "syncjob", syncWorkerId(d.name, j))])),
      prune: new Map(d.pruneJobs.map((j) => [j.id, job(j.lastRun, "prunejob", j.ns ? `${d.name}:${j.ns}` : d.name)])),
    };
  }
}
