/**
 * The cluster's guests and backup storages, from one GET /cluster/resources (no per-guest or
 * per-storage request).
 */
import type { GuestInfo } from "../../evidence.js";
import type { Resource } from "./schemas.js";

/** A storage that holds backups (its `content` lists "backup"), and where to list it. */
export interface StorageRef {
  storage: string;
  /** A node that can list it (any node for shared storages). */
  node: string;
  shared: boolean;
  available: boolean;
  /** Bytes used and total as /cluster/resources reports them (a hint that the listing changed: listing-plan.ts). */
  disk?: number;
  maxdisk?: number;
}

/** A shared storage is one listing for the cluster; a local one is one per node. */
export const storageKey = (s: { storage: string; node: string; shared: boolean }) =>
  s.shared ? s.storage : `${s.node}/${s.storage}`;

export interface Inventory {
  guests: Map<number, GuestInfo>;
  storages: StorageRef[];
  /** A guest appeared or vanished since `previous`. */
  membershipChanged: boolean;
}

/** Guests (qemu and lxc) and backup storages of one /cluster/resources answer. */
export function readInventory(
  source: string,
  resources: Resource[],
  previous: ReadonlyMap<number, GuestInfo>,
): Inventory {
  const guests = new Map<number, GuestInfo>();
  for (const r of resources) {
    if ((r.type !== "qemu" && r.type !== "lxc") || r.vmid === undefined || !r.node) continue;
    const prev = previous.get(r.vmid);
    guests.set(r.vmid, {
      source,
      vmid: r.vmid,
      // An offline node reports its guests without name/template (no RRD data): keep what we knew.
      name: r.name ?? prev?.name ?? `${r.type === "qemu" ? "VM" : "CT"} ${r.vmid}`,
      type: r.type,
      node: r.node,
      tags:
        r.tags !== undefined ? r.tags.split(/[;,\s]+/).filter(Boolean) : r.name === undefined ? (prev?.tags ?? []) : [],
      template: r.template !== undefined ? r.template === 1 : (prev?.template ?? false),
      ...(r.pool ? { pool: r.pool } : {}),
      ...(r.lock ? { lock: r.lock } : {}),
    });
  }
  const membershipChanged = guests.size !== previous.size || [...guests.keys()].some((v) => !previous.has(v));
  const storages = new Map<string, StorageRef>();
  for (const r of resources) {
    if (r.type !== "storage" || !r.storage || !r.node) continue;
    if (!(r.content ?? "").split(",").includes("backup")) continue;
    const ref: StorageRef = {
      storage: r.storage,
      node: r.node,
      shared: r.shared === 1,
      available: r.status === "available",
      ...(r.disk !== undefined ? { disk: r.disk } : {}),
      ...(r.maxdisk !== undefined ? { maxdisk: r.maxdisk } : {}),
    };
    const k = storageKey(ref);
    const have = storages.get(k);
    // For a shared storage any node that has it available can list it.
    if (!have || (!have.available && ref.available)) storages.set(k, ref);
  }
  return { guests, storages: [...storages.values()], membershipChanged };
}

/** Online nodes of a /cluster/resources answer (their task lists are read). */
export function onlineNodes(resources: Resource[]): string[] {
  return resources.filter((r) => r.type === "node" && r.status === "online" && r.node).map((r) => r.node!);
}
