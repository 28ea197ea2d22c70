/**
 * One GET /cluster/tasks per poll tells which nodes started or ended a task since the last poll,
 * so a node's own task list (and the listings a task touched) are read only then.
 *
 * What PVE puts in that list (checked in the sources):
 * - pve-common PVE/RESTEnvironment.pm `active_workers`: each node keeps its running tasks plus up
 *   to MAX_FINISHED (25) − (running count) finished ones, newest `starttime` first; finished
 *   entries carry `status` and `endtime`, running ones neither; `pstart` is dropped from every
 *   entry and `pid` from finished ones; entries carry `saved`.
 * - It is re-broadcast at every worker start (`fork_worker`), at every worker end
 *   (`log_task_result`) and every 10 s by pvestatd (pve-manager PVE/Service/pvestatd.pm), through
 *   pve-cluster PVE/Cluster.pm `broadcast_tasklist`, which pops entries off the end (the oldest
 *   finished first) until the JSON is under 32 KiB.
 * - pve-manager PVE/API2/Cluster.pm `tasks` concatenates every node's last broadcast; without
 *   Sys.Audit on / it keeps only the caller's own entries (for a token: none), still HTTP 200 — so
 *   it is used only when /access/permissions shows Sys.Audit on / (see PveSource).
 *
 * Hence, per node, against the previous answer: an entry not seen before, or one whose status
 * appeared (it ended), is news. A task that started and ended between two polls shows as a new
 * finished entry. Entries that started and ended between two polls can also have been pushed
 * out again (25 newer ones, or the 32 KiB cut): then the node's oldest finished entry is newer
 * than every entry the previous answer held — the node's own task list is read for the gap.
 */
import type { Task } from "./schemas.js";

/** RESTEnvironment.pm `active_workers`: `my $MAX_FINISHED = 25;`. */
export const MAX_FINISHED = 25;
/** A node's list this large may have been cut by broadcast_tasklist (< 32 KiB, minus one long entry). */
const MAY_BE_CUT_BYTES = 28 * 1024;

/**
 * Worker types that end with backup content changed (pve-storage PVE/API2/Storage/Content.pm
 * `delete`: fork_worker('imgdel', "[vmid@]storage"); PVE/API2/Storage/PruneBackups.pm `delete`:
 * fork_worker('prunebackups', "[vmid@]storage")). vzdump is followed on its own (tasks.ts).
 * Notes and the protected flag are set synchronously (PUT …/content/{volume}): no task, no signal.
 */
export const CONTENT_TASK_TYPES = new Set(["imgdel", "prunebackups"]);

/** What the follower knows of a vzdump task (TaskFollower.state). */
export type FollowedState = "unknown" | "running" | "done" | "history" | "given-up";

export interface ClusterTaskNews {
  /** Nodes whose own vzdump task list should be read now (a task to pick up, an end, a gap). */
  taskNodes: Set<string>;
  /** Nodes where a backup ended or a gap hides what happened: their local listings and the shared ones. */
  listingNodes: Set<string>;
  /** Storages a content task named, with the node it ran on. */
  listingStorages: Array<{ node: string; storage: string }>;
}

/** The storage an imgdel/prunebackups task's id names ("[vmid@]storage"; a volid "storage:…" is read too). */
export function storageOfTaskId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const s = id.includes("@") ? id.slice(id.indexOf("@") + 1) : id;
  return s.split(":")[0] || undefined;
}

export class ClusterTaskWatch {
  /** Per node: upid → status ("" while running) as last answered. */
  private prev = new Map<string, Map<string, string>>();

  /** Has an answer been taken yet (the next one is compared with it)? */
  started = false;

  /** Did the last answer list any task? */
  get hadEntries(): boolean {
    return this.prev.size > 0;
  }

  /** Forget the last answer (after a switch to per-node lists): the next one is taken as the baseline. */
  reset(): void {
    this.prev.clear();
    this.started = false;
  }

  /**
   * Compares an answer with the previous one. `followed` tells what the task follower knows of a
   * vzdump task: one running that it does not know, or one it follows that ended, is read from the
   * node's own list. Without a previous answer for a node only those two checks apply (the
   * entries are history the per-node lists already read).
   */
  read(entries: Task[], followed: (upid: string) => FollowedState): ClusterTaskNews {
    const news: ClusterTaskNews = { taskNodes: new Set(), listingNodes: new Set(), listingStorages: [] };
    const byNode = new Map<string, Task[]>();
    for (const e of entries) {
      const list = byNode.get(e.node);
      if (list) list.push(e);
      else byNode.set(e.node, [e]);
    }
    const next = new Map<string, Map<string, string>>();
    for (const [node, list] of byNode) {
      // A node with no entries last time (none yet, or newly seen) compares with an empty list.
      const before = this.started ? (this.prev.get(node) ?? new Map<string, string>()) : undefined;
      const now = new Map<string, string>();
      for (const e of list) {
        const status = e.status ?? "";
        now.set(e.upid, status);
        const fresh = before !== undefined && before.get(e.upid) !== status;
        if (e.type === "vzdump") {
          const f = followed(e.upid);
          if (!status && f === "unknown") news.taskNodes.add(node);
          if (status && f === "running") news.taskNodes.add(node);
          // Ended since the last answer, and not while followed (then its end already asked for
          // the listings): started and ended between two polls, or found ended in a node's list.
          if (status && fresh && f !== "done") {
            news.taskNodes.add(node);
            news.listingNodes.add(node);
          }
        } else if (status && fresh && CONTENT_TASK_TYPES.has(e.type)) {
          const storage = storageOfTaskId(e.id);
          if (storage) news.listingStorages.push({ node, storage });
          else news.listingNodes.add(node);
        }
      }
      if (before && hasGap(list, before)) {
        news.taskNodes.add(node);
        news.listingNodes.add(node);
      }
      next.set(node, now);
    }
    this.prev = next;
    this.started = true;
    return news;
  }
}

/**
 * Were entries dropped between the previous answer and this one? Finished entries are kept
 * newest-first, so an unseen task pushed out takes every older finished one with it: when a
 * finished entry of the previous answer is still listed, nothing unseen was dropped. When none
 * is, but the previous answer had finished entries, or the list is full or may have been cut,
 * entries may have been dropped.
 */
function hasGap(list: Task[], before: Map<string, string>): boolean {
  const finished = list.filter((e) => e.status !== undefined);
  if (!finished.length || finished.some((e) => before.has(e.upid))) return false;
  if ([...before.values()].some((status) => status !== "")) return true;
  return list.length >= MAX_FINISHED || Buffer.byteLength(JSON.stringify(list)) >= MAY_BE_CUT_BYTES;
}
