/**
 * What changes rarely on a Proxmox VE cluster and is read together on a slower cadence: the
 * backup jobs (GET /cluster/backup) and the API token's privileges (GET /access/permissions).
 */
import type { z } from "zod";
import type { BackupJob } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { PveError, type PveHttp } from "./http.js";
import { Permissions } from "./permissions.js";
import { jobsSchema, permissionsSchema } from "./schemas.js";

export class JobsAndPrivileges {
  jobs: BackupJob[] = [];
  /** false when the token may not read the jobs (no Sys.Audit on /): coverage is then unknown. */
  jobsReadable = false;
  /** The token's privileges; null when PVE would not tell them (permsError says why). */
  perms: Permissions | null = null;
  permsError: string | undefined;

  constructor(
    private readonly source: string,
    private readonly http: PveHttp,
    private readonly log: Logger,
  ) {}

  /** /cluster/backup, then /access/permissions. Throws only what makes the source fail. */
  async read(): Promise<void> {
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
      this.perms = new Permissions(await this.http.get("/access/permissions", permissionsSchema));
      this.permsError = undefined;
    } catch (e) {
      if (!(e instanceof PveError) || e.kind === "network" || e.kind === "timeout") throw e;
      this.perms = null;
      this.permsError = e.message;
    }
  }

  /** May the token see guest `vmid` in /cluster/resources (VM.Audit)? false when the privileges are unknown. */
  maySeeGuest(vmid: number): boolean {
    return this.perms?.has("VM.Audit", `/vms/${vmid}`) ?? false;
  }
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
  const prune = j["prune-backups"]
    ? Object.fromEntries(Object.entries(j["prune-backups"]).map(([k, v]) => [k, Number(v)]))
    : undefined;
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
    ...(prune ? { pruneBackups: prune } : {}),
    ...(j.comment ? { comment: j.comment } : {}),
  };
}
