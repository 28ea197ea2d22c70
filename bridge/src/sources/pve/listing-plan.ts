/**
 * Which backup listings the next content read covers: every storage (a safety sweep, a guest that
 * appeared or vanished, the Refresh button or the PVE webhook), the local storages of a node plus
 * the shared ones (a backup ended there: vzdump may have written to either), or single storages
 * (a content task named it, or its usage moved — see UsageWatch).
 */
import { storageKey, type StorageRef } from "./inventory.js";

export class ListingPlan {
  private all = true;
  private readonly nodes = new Set<string>();
  private readonly keys = new Set<string>();

  get due(): boolean {
    return this.all || this.nodes.size > 0 || this.keys.size > 0;
  }

  wholeCluster(): void {
    this.all = true;
  }

  /** A backup ended on `node`: its local storages and every shared one. */
  node(node: string): void {
    this.nodes.add(node);
  }

  storage(key: string): void {
    this.keys.add(key);
  }

  /** The storages of `storages` due now; the plan is empty afterwards. */
  take(storages: StorageRef[]): StorageRef[] {
    const { all, nodes, keys } = this;
    const out = storages.filter(
      (s) => all || keys.has(storageKey(s)) || (nodes.size > 0 && (s.shared || nodes.has(s.node))),
    );
    this.all = false;
    this.nodes.clear();
    this.keys.clear();
    return out;
  }
}

/**
 * A storage's usage (`disk` of its /cluster/resources row) as a hint that its listing changed: an
 * archive deleted by hand or pruned by a PBS job shows there and nowhere else. But usage also
 * moves for other reasons — `local` is a directory on the node's root file system (logs, package
 * caches, ISOs), a PBS datastore serves other clients and shrinks after garbage collection — so:
 *
 * - the threshold is the larger of the smallest archive ever listed on the storage (an archive
 *   removed frees at least that much) and USAGE_MIN_SHARE of its size (noise on a big root file
 *   system or datastore stays below it), measured from the usage at the storage's last listing;
 * - a storage is listed for its usage at most once every USAGE_COOLDOWN_POLLS polls, so a storage
 *   whose usage keeps moving (a PBS under load, GC running) costs at most one listing per that
 *   many polls, not one per poll.
 *
 * What stays below the threshold (a small archive on a large disk) waits for the safety sweep.
 */
export const USAGE_MIN_SHARE = 0.01;
export const USAGE_COOLDOWN_POLLS = 6;

export class UsageWatch {
  /** Usage when each storage was last listed, by storage key. */
  private readonly base = new Map<string, number>();
  private readonly lastTrigger = new Map<string, number>();
  private polls = 0;

  /** One poll's storage rows: the keys of the storages whose usage moved enough to be listed now. */
  moved(storages: StorageRef[], smallestArchive: (key: string) => number | undefined): string[] {
    this.polls++;
    const out: string[] = [];
    for (const s of storages) {
      const k = storageKey(s);
      const base = this.base.get(k);
      if (base === undefined || s.disk === undefined || !s.maxdisk || !s.available) continue;
      const threshold = Math.max(smallestArchive(k) ?? 0, s.maxdisk * USAGE_MIN_SHARE);
      if (Math.abs(s.disk - base) < threshold) continue;
      const last = this.lastTrigger.get(k);
      if (last !== undefined && this.polls - last < USAGE_COOLDOWN_POLLS) continue;
      this.lastTrigger.set(k, this.polls);
      out.push(k);
    }
    return out;
  }

  /** The storage was listed with this usage. */
  listed(s: StorageRef): void {
    if (s.disk !== undefined) this.base.set(storageKey(s), s.disk);
  }
}
