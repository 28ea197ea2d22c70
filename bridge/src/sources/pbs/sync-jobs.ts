/**
 * A PBS's sync jobs: listing every one, pull and push, whatever the PBS version (SyncJobLister
 * finds out whether it takes `sync-direction`), and the off-site copy targets its push sync jobs
 * are for the PVE storages that point at their datastore.
 */
import type { PbsSourceConfig } from "../../config/load.js";
import type { CopyTarget } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { type PbsClient, PbsError } from "./client.js";
import type { PbsDatastore } from "./datastore.js";
import { SyncJobs, type SyncJob } from "./schemas.js";
import { phrase } from "../../words/phrase.js";

/** How long a PBS that refused `sync-direction` (older than 3.3) is believed before it is asked again (an upgrade). */
export const SYNC_DIRECTION_REPROBE_MS = 3_600_000;
/** PBS < 3.3 refusing the parameter: 400 "parameter verification failed - 'sync-direction': schema does not allow additional properties." */
const refusesSyncDirection = (e: unknown) =>
  e instanceof PbsError && e.kind === "http" && e.status === 400 && /'sync-direction'/.test(e.message);

export class SyncJobLister {
  /**
   * GET /admin/sync lists only pull jobs on PBS ≥ 3.3 unless asked for `sync-direction=all`, and
   * PBS < 3.3 refuses that parameter (400; it lists every job without it, and has no push jobs).
   * When PBS last refused it (now() ms), else null: asked with it. Asked again after
   * SYNC_DIRECTION_REPROBE_MS or after PBS was unreachable (an upgrade restarts it).
   */
  private syncDirectionRefusedAt: number | null = null;
  /** Whether the last answer about sync-direction was a refusal (logged once per change). */
  private syncDirectionOld = false;

  /** `name`: the source's name, for the log. */
  constructor(
    private readonly name: string,
    private readonly client: PbsClient,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Every sync job, pull and push, in one request per poll (two on the poll that finds a PBS older than 3.3). */
  async read(): Promise<SyncJob[]> {
    const refused = this.syncDirectionRefusedAt;
    if (refused === null || this.now() - refused >= SYNC_DIRECTION_REPROBE_MS) {
      try {
        const jobs = await this.client.get("/admin/sync", SyncJobs, { "sync-direction": "all" });
        if (this.syncDirectionOld)
          this.log.info({}, `PBS '${this.name}' now takes sync-direction (3.3 or newer): push sync jobs are listed`);
        this.syncDirectionOld = false;
        this.syncDirectionRefusedAt = null;
        return jobs;
      } catch (e) {
        if (!refusesSyncDirection(e)) throw e;
        if (!this.syncDirectionOld)
          this.log.info(
            {},
            `PBS '${this.name}' is older than 3.3 (it refuses sync-direction and has no push sync jobs): sync jobs are listed without it`,
          );
        this.syncDirectionOld = true;
        this.syncDirectionRefusedAt = this.now();
      }
    }
    return this.client.get("/admin/sync", SyncJobs);
  }

  /** PBS was unreachable (it restarts when upgraded): ask for sync-direction again on the next poll. */
  unreachable(): void {
    this.syncDirectionRefusedAt = null;
  }
}

/**
 * The off-site copy targets of a PBS source: each push sync job of a datastore that PVE storages
 * point at, plus an unknown one per datastore whose jobs the token may not see (or all configured
 * ones while the source was never read). `readable`: whether the source's last poll succeeded.
 */
export function pbsCopyTargets(
  name: string,
  cfg: PbsSourceConfig,
  datastores: PbsDatastore[],
  readable: boolean,
): CopyTarget[] {
  if (!cfg.syncOffsite) return [];
  if (!datastores.length && !readable)
    return cfg.datastores
      .filter((d) => d.storages.length)
      .map((d) => ({
        kind: "pbs_sync" as const,
        source: name,
        id: `${d.store}:*`,
        label: `PBS sync jobs of ${name}/${d.store}`,
        storages: d.storages,
        offsite: true,
        lastSuccessMs: null,
        readable: false,
      }));
  return datastores.flatMap((d) => {
    if (!d.storages.length) return [];
    const known = d.syncJobs
      .filter((j) => j.direction === "push")
      .map((j) => ({
        kind: "pbs_sync" as const,
        source: name,
        id: j.id,
        label: `PBS sync job '${j.id}' (${name}/${d.store} → ${j.remote ?? "local"}/${j.remoteStore})`,
        labelPhrase: phrase("target.pbs_sync", {
          job: j.id,
          from: `${name}/${d.store}`,
          to: `${j.remote ?? "local"}/${j.remoteStore}`,
        }),
        storages: d.storages,
        offsite: true,
        // Only the last run is known: a failed last run means no known success.
        lastSuccessMs: j.ok ? j.endMs : null,
        readable,
      }));
    // Jobs the token may not see: whether they copy these storages off-site is unknown.
    if (!d.unreadable && !d.syncUnreadable) return known;
    return [
      ...known,
      {
        kind: "pbs_sync" as const,
        source: name,
        id: `${d.store}:*`,
        label: `PBS sync jobs of ${name}/${d.store}`,
        storages: d.storages,
        offsite: true,
        lastSuccessMs: null,
        readable: false,
      },
    ];
  });
}
