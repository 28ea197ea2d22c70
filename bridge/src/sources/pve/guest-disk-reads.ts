/**
 * Reads the guests' disks on the jobs' slow cadence (never in an idle poll): one
 * GET /cluster/backup/{id}/included_volumes per job (Sys.Audit on /, like the job list), then
 * GET /nodes/{node}/{qemu|lxc}/{vmid}/config (VM.Audit) only for guests no job's answer listed
 * and for guests with a disk on a network storage (NFS/CIFS: a Hyper Backup file copy of such a disk
 * holds no configuration, so the report keeps the one PVE has), at most MAX_CONFIG_READS of them per round (the longest unread first: a cluster of thousands of
 * guests that no job selects is covered over several rounds). Never fatal: a refused or malformed
 * answer leaves those guests' disks unknown and is logged once; a network failure ends the round
 * and keeps what was known.
 */
import { z } from "zod";
import type { BackupJob, GuestDisks, GuestInfo } from "../../evidence.js";
import type { Logger } from "../../log.js";
import { disksFromConfig, parseIncludedVolumes, toGuestDisks } from "./guest-disks.js";
import { PveError, type PveHttp } from "./http.js";

/** Guest configs read per round at most. */
export const MAX_CONFIG_READS = 50;

const anyAnswer = z.unknown();
const configSchema = z.record(z.string(), z.unknown());

type Entry = { disks: GuestDisks["disks"]; from: GuestDisks["from"]; config?: Record<string, string | number> };

/** A config's values as the report prints them (strings and numbers; anything else as JSON). */
function plainConfig(config: Record<string, unknown>): Record<string, string | number> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => k !== "digest")
      .map(([k, v]) => [k, typeof v === "string" || typeof v === "number" ? v : JSON.stringify(v)]),
  );
}

export class GuestDiskReads {
  private disks = new Map<number, Entry>();
  /** When each guest's config was last asked for (ms), to read the longest unread first. */
  private configAskedMs = new Map<number, number>();
  private read_ = false;
  /** Problems already logged at warn (later ones at debug). */
  private readonly logged = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly http: PveHttp,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The guests' disks; undefined until a round ran. Guests whose disks are unknown are absent. */
  all(): GuestDisks[] | undefined {
    return this.read_ ? toGuestDisks(this.source, this.disks) : undefined;
  }

  /**
   * One round. `online` says which nodes can answer a guest's config: a guest on an offline node
   * keeps what an earlier round read (its node would answer 5xx after retries and their backoff).
   */
  async read(
    jobs: BackupJob[],
    jobsReadable: boolean,
    guests: ReadonlyMap<number, GuestInfo>,
    online: (node: string) => boolean = () => true,
    networkStorages: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    const next = new Map<number, Entry>();
    const listed = new Set<number>();
    try {
      if (jobsReadable)
        for (const job of jobs) {
          let parsed: ReturnType<typeof parseIncludedVolumes>;
          try {
            const answer = await this.http.get(
              `/cluster/backup/${encodeURIComponent(job.id)}/included_volumes`,
              anyAnswer,
            );
            parsed = parseIncludedVolumes(answer);
          } catch (e) {
            this.problem(
              e,
              `job-${e instanceof PveError ? `${e.kind}${e.status ?? ""}` : "shape"}`,
              () =>
                `cannot read the volumes backup job '${job.id}' includes (${(e as Error).message}); the disks of its guests are read from their configs`,
            );
            continue;
          }
          for (const g of parsed.guests) {
            listed.add(g.vmid);
            if (!next.has(g.vmid)) next.set(g.vmid, { disks: g.disks, from: "included_volumes" });
          }
          for (const v of parsed.gone) listed.add(v);
        }
      const onNetwork = (vmid: number) =>
        next.get(vmid)?.disks.some((d) => d.storage && networkStorages.has(d.storage));
      const unlisted = [...guests.values()].filter((g) => !listed.has(g.vmid) || onNetwork(g.vmid));
      for (const g of unlisted) {
        const prev = this.disks.get(g.vmid);
        if (!online(g.node)) keep(next, g.vmid, prev);
      }
      const wanted = unlisted
        .filter((g) => online(g.node))
        .sort(
          (a, b) => (this.configAskedMs.get(a.vmid) ?? -1) - (this.configAskedMs.get(b.vmid) ?? -1) || a.vmid - b.vmid,
        );
      const now = this.now();
      for (const [i, g] of wanted.entries()) {
        const prev = this.disks.get(g.vmid);
        if (i >= MAX_CONFIG_READS) {
          // Read in a later round; what an earlier round read from its config stands until then.
          keep(next, g.vmid, prev);
          continue;
        }
        this.configAskedMs.set(g.vmid, now);
        try {
          const config = await this.http.get(
            `/nodes/${encodeURIComponent(g.node)}/${g.type}/${g.vmid}/config`,
            configSchema,
          );
          const listedDisks = next.get(g.vmid);
          next.set(
            g.vmid,
            listedDisks
              ? { ...listedDisks, config: plainConfig(config) }
              : { disks: disksFromConfig(g.type, config), from: "config", config: plainConfig(config) },
          );
        } catch (e) {
          this.problem(
            e,
            `config-${e instanceof PveError ? `${e.kind}${e.status ?? ""}` : "shape"}`,
            () =>
              `cannot read the config of guest ${g.vmid} (${(e as Error).message}); its disks are unknown${
                e instanceof PveError && e.kind === "permission" ? " (grant VM.Audit on it)" : ""
              }`,
          );
        }
      }
    } catch (e) {
      // The PVE went away mid-round: keep what the last round knew.
      this.log.debug({ err: (e as Error).message }, "guest disks not read this round");
      return;
    }
    for (const v of this.configAskedMs.keys()) if (!guests.has(v)) this.configAskedMs.delete(v);
    this.disks = next;
    this.read_ = true;
  }

  /** Logs a refused or malformed answer once per kind at warn; rethrows a network failure. */
  private problem(e: unknown, kind: string, message: () => string): void {
    if (e instanceof PveError && ["network", "timeout", "tls", "auth"].includes(e.kind)) throw e;
    if (this.logged.has(kind)) this.log.debug(message());
    else {
      this.logged.add(kind);
      this.log.warn(message());
    }
  }
}

/**
 * What an earlier round read stands for a guest not read now: its config-derived disks, or the
 * config beside the disks a job's answer listed this round.
 */
function keep(next: Map<number, Entry>, vmid: number, prev: Entry | undefined): void {
  if (!prev) return;
  const now = next.get(vmid);
  if (now) {
    if (prev.config) next.set(vmid, { ...now, config: prev.config });
  } else if (prev.from === "config") next.set(vmid, prev);
}
