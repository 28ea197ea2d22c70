/**
 * What changes rarely on a Proxmox VE cluster and is read together on a slower cadence: the
 * backup jobs (GET /cluster/backup), the storages' retention (GET /storage: what a job without its
 * own `prune-backups` keeps), the API token's privileges (GET /access/permissions) and the time zone
 * the nodes evaluate job schedules in (GET /nodes/{node}/time, pve-manager PVE/API2/Nodes.pm: Sys.Audit
 * on the node; pvescheduler computes a job's next run in the node's local time, PVE/Jobs.pm).
 */
import type { z } from "zod";
import type { BackupJob, StorageMount } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { PveError, type PveHttp } from "./http.js";
import { Permissions } from "./permissions.js";
import { jobsSchema, nodeTimeSchema, permissionsSchema, storageConfigsSchema } from "./schemas.js";

export class JobsAndPrivileges {
  jobs: BackupJob[] = [];
  /** false when the token may not read the jobs (no Sys.Audit on /): coverage is then unknown. */
  jobsReadable = false;
  /**
   * `prune-backups` of the storages that have one, by storage id; undefined when the storage
   * configuration could not be read. A storage the token may not see is simply not listed.
   */
  storagePrune: Record<string, Record<string, number>> | undefined = undefined;
  /** Every storage GET /storage listed, with where an NFS/CIFS one mounts from; undefined when it could not be read. */
  storageMounts: StorageMount[] | undefined = undefined;
  /** The token's privileges; null when PVE would not tell them (permsError says why). */
  perms: Permissions | null = null;
  permsError: string | undefined;
  /**
   * The time zone of the cluster's nodes (read from the first online node while an enabled job has
   * a schedule); undefined when unknown: schedules are then read in the config's `timezone`.
   */
  timeZone: string | undefined;
  private timeZoneProblem: string | undefined;

  constructor(
    private readonly source: string,
    private readonly http: PveHttp,
    private readonly log: Logger,
  ) {}

  /** /cluster/backup, /storage, /access/permissions, then a node's time zone. Throws only what makes the source fail. */
  async read(onlineNodes: string[] = []): Promise<void> {
    try {
      const jobs = await this.http.get("/cluster/backup", jobsSchema);
      this.jobs = jobs.map((j) => toJob(this.source, j));
      this.jobsReadable = true;
    } catch (e) {
      if (!(e instanceof PveError && e.kind === "permission")) throw e;
      this.jobsReadable = false;
      this.log.warn(`cannot read backup jobs (${e.message}); grant Sys.Audit on / to judge coverage`);
    }
    try {
      // Never a 403: PVE lists only the storages the token has Datastore.Audit or AllocateSpace on.
      const storages = await this.http.get("/storage", storageConfigsSchema);
      this.storagePrune = Object.fromEntries(
        storages.flatMap((s) => {
          const keep = s["prune-backups"] === undefined ? {} : parsePruneBackups(s["prune-backups"]);
          return Object.keys(keep).length ? [[s.storage, keep] as const] : [];
        }),
      );
      this.storageMounts = storages.map((s) => storageMount(this.source, s));
    } catch (e) {
      if (!(e instanceof PveError) || e.kind === "network" || e.kind === "timeout") throw e;
      this.log.warn(`cannot read the storage configuration (${e.message}); storage retention is unknown`);
      this.storagePrune = undefined;
      this.storageMounts = undefined;
    }
    try {
      this.perms = new Permissions(await this.http.get("/access/permissions", permissionsSchema));
      this.permsError = undefined;
    } catch (e) {
      if (!(e instanceof PveError) || e.kind === "network" || e.kind === "timeout") throw e;
      this.perms = null;
      this.permsError = e.message;
    }
    const node = [...onlineNodes].sort()[0];
    if (node && this.jobs.some((j) => j.enabled && j.schedule)) await this.readTimeZone(node);
  }

  /** Never fatal: without it, schedules are read in the config's time zone (said once in the log). */
  private async readTimeZone(node: string): Promise<void> {
    let problem: string | undefined;
    try {
      const { timezone } = await this.http.get(`/nodes/${encodeURIComponent(node)}/time`, nodeTimeSchema);
      new Intl.DateTimeFormat("en", { timeZone: timezone }); // throws RangeError for a zone this Node lacks
      if (timezone !== this.timeZone)
        this.log.info({ node, timezone }, "backup job schedules are read in the nodes' time zone");
      this.timeZone = timezone;
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem && problem !== this.timeZoneProblem)
      this.log.warn(
        `cannot read node ${node}'s time zone (${problem}); backup job schedules are read in the config's timezone${this.timeZone ? ` (keeping ${this.timeZone})` : ""}`,
      );
    this.timeZoneProblem = problem;
  }

  /** May the token see guest `vmid` in /cluster/resources (VM.Audit)? false when the privileges are unknown. */
  maySeeGuest(vmid: number): boolean {
    return this.perms?.has("VM.Audit", `/vms/${vmid}`) ?? false;
  }
}

const KEEP_KEY = /^keep-(all|last|hourly|daily|weekly|monthly|yearly)$/;

/**
 * `prune-backups` as numbers, from the object a job carries ({"keep-last":"4"}) or the property
 * string a storage carries ("keep-last=4,keep-weekly=4"); unknown keys and non-numbers are left out.
 */
export function parsePruneBackups(v: string | Record<string, string | number>): Record<string, number> {
  const pairs =
    typeof v === "string" ? v.split(",").map((kv) => kv.split("=", 2).map((x) => x.trim())) : Object.entries(v);
  const out: Record<string, number> = {};
  for (const [k, raw] of pairs) {
    const n = typeof raw === "number" ? raw : /^\d+$/.test(raw ?? "") ? Number(raw) : Number.NaN;
    if (k && KEEP_KEY.test(k) && Number.isSafeInteger(n)) out[k] = n;
  }
  return out;
}

function storageMount(source: string, s: z.infer<typeof storageConfigsSchema>[number]): StorageMount {
  return {
    source,
    storage: s.storage,
    type: s.type ?? "unknown",
    ...(s.server ? { server: s.server } : {}),
    ...(s.export ? { export: s.export } : {}),
    ...(s.share ? { share: s.share } : {}),
    ...(s.subdir ? { subdir: s.subdir } : {}),
  };
}

function toJob(source: string, j: z.infer<typeof jobsSchema>[number]): BackupJob {
  const ids = (s?: string) =>
    s
      ? s
          .split(/[,\s]+/)
          .filter(Boolean)
          .map(Number)
          .filter(Number.isFinite)
      : undefined;
  const prune = j["prune-backups"] ? parsePruneBackups(j["prune-backups"]) : undefined;
  return {
    source,
    id: j.id,
    enabled: j.enabled !== 0,
    ...(j.schedule ? { schedule: j.schedule } : {}),
    ...(j["next-run"] ? { nextRunMs: j["next-run"] * 1000 } : {}),
    ...(j.vmid ? { vmids: ids(j.vmid) } : {}),
    ...(j.all === 1 || j.exclude ? { all: true } : {}),
    ...(j.exclude ? { exclude: ids(j.exclude) } : {}),
    ...(j.pool ? { pool: j.pool } : {}),
    ...(j.node ? { node: j.node } : {}),
    ...(j.storage ? { storage: j.storage } : {}),
    ...(j.mode ? { mode: j.mode } : {}),
    ...(j.compress ? { compress: j.compress } : {}),
    ...(j["notes-template"] ? { notesTemplate: j["notes-template"] } : {}),
    ...(prune ? { pruneBackups: prune } : {}),
    ...(j.comment ? { comment: j.comment } : {}),
    ...(j["repeat-missed"] === 1 ? { repeatMissed: true } : {}),
  };
}
