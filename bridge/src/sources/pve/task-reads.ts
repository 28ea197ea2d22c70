/**
 * Each poll's task reads: with Sys.Audit on /, one GET /cluster/tasks, and a node's own vzdump
 * task list only when that answer shows news on it (cluster-tasks.ts); without it (PVE then
 * answers /cluster/tasks with the token's own entries only: none) every online node's list, as
 * before (then a deletion or prune through the API shows only in the storage's usage or at the
 * next sweep: those lists hold vzdump tasks only). A safety sweep reads every node's list either way.
 */
import type { Logger } from "../../log.js";
import { ClusterTaskWatch } from "./cluster-tasks.js";
import type { PveHttp } from "./http.js";
import { storageKey, type StorageRef } from "./inventory.js";
import type { ListingPlan } from "./listing-plan.js";
import { tasksSchema } from "./schemas.js";
import type { TaskFollower } from "./tasks.js";

export interface TaskReadsDeps {
  http: PveHttp;
  log: Logger;
  follower: TaskFollower;
  plan: ListingPlan;
  /** The privileges may have changed (an empty /cluster/tasks after a full one): read them again soon. */
  privilegesDoubtful(): void;
}

export class TaskReads {
  private mode: "cluster" | "nodes" | undefined;
  private readonly watch = new ClusterTaskWatch();

  constructor(private readonly d: TaskReadsDeps) {}

  /**
   * `sysAuditOnRoot`: what /access/permissions says (undefined when unknown: per-node lists).
   * `storages`: the backup storages, to name the listings a content task touched.
   */
  async read(
    nodes: string[],
    opts: { sweep: boolean; sysAuditOnRoot: boolean | undefined; storages: StorageRef[] },
  ): Promise<void> {
    const mode = opts.sysAuditOnRoot ? "cluster" : "nodes";
    if (mode !== this.mode) {
      if (mode === "nodes")
        this.d.log.info(
          "the API token has no Sys.Audit on / (or its privileges could not be read): GET /cluster/tasks would list none of the cluster's tasks, so every node's task list is read on every poll",
        );
      else if (this.mode) this.d.log.info("the API token has Sys.Audit on /: one GET /cluster/tasks per poll");
      this.mode = mode;
      this.watch.reset();
    }
    if (mode === "nodes" || (opts.sweep && this.watch.started)) {
      // A sweep reads every node's list anyway; the next poll compares /cluster/tasks with the
      // answer before the sweep (news seen twice costs a read, nothing is missed).
      await this.d.follower.readTaskLists(nodes);
      return;
    }
    const entries = await this.d.http.get("/cluster/tasks", tasksSchema);
    if (!entries.length && this.watch.hadEntries) {
      // Every node keeps up to 25 finished tasks: an empty answer after a full one is a token
      // that lost Sys.Audit on / (PVE then filters every entry out, still 200).
      this.d.privilegesDoubtful();
      this.watch.reset();
      await this.d.follower.readTaskLists(nodes);
      return;
    }
    const news = this.watch.read(entries, (upid) => this.d.follower.state(upid));
    await this.d.follower.readTaskLists(opts.sweep ? nodes : nodes.filter((n) => news.taskNodes.has(n)));
    for (const n of news.listingNodes) this.d.plan.node(n);
    for (const { node, storage } of news.listingStorages) {
      const s = opts.storages.find((x) => x.storage === storage && (x.shared || x.node === node));
      if (s) this.d.plan.storage(storageKey(s));
    }
  }
}
