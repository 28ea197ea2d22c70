/** /version, /nodes, /cluster/status, /cluster/resources, /nodes/{n}/qemu|lxc. */
import { hasPriv } from "../acl.js";
import { guestDiskBytes } from "../guest-config.js";
import { enumArg, nodeOf, requirePriv, route, type Ctx, type Route } from "../router.js";
import type { GuestState, NodeState, StorageState } from "../state.js";

/** Stable pseudo-load so numbers look alive but tests stay deterministic. */
function load(seed: number, now: number): number {
  return Math.round((0.05 + 0.1 * Math.abs(Math.sin(seed + now / 600_000))) * 1e4) / 1e4;
}

function nodeStats(n: NodeState, now: number): Record<string, number> {
  const idx = [...n.name].reduce((a, c) => a + c.charCodeAt(0), 0);
  return {
    cpu: load(idx, now),
    maxcpu: n.maxcpu,
    mem: Math.floor(n.maxmem * 0.42),
    maxmem: n.maxmem,
    uptime: Math.floor((now - n.bootMs) / 1000),
  };
}

function guestStats(g: GuestState, now: number): Record<string, number> {
  const on = g.status === "running";
  return {
    cpu: on ? load(g.vmid, now) : 0,
    maxcpu: g.cpus,
    mem: on ? Math.floor(g.maxmem * 0.55) : 0,
    maxmem: g.maxmem,
    disk: g.type === "lxc" ? Math.floor(g.maxdisk * 0.3) : 0,
    maxdisk: g.maxdisk,
    uptime: on ? 864_000 + (g.vmid % 100) * 3600 : 0,
    netin: on ? g.vmid * 1_048_576 : 0,
    netout: on ? g.vmid * 524_288 : 0,
    diskread: on ? g.vmid * 2_097_152 : 0,
    diskwrite: on ? g.vmid * 1_048_576 : 0,
  };
}

/** `/cluster/resources` guest row (API2Tools `extract_vm_stats`). */
function guestResource(ctx: Ctx, g: GuestState, locked: Set<number>): Record<string, unknown> {
  const node = ctx.state.nodes.get(g.node);
  const row: Record<string, unknown> = { id: `${g.type}/${g.vmid}`, vmid: g.vmid, type: g.type, node: g.node };
  if (node?.status !== "online") {
    // No RRD data from an offline node: status unknown, no name/template/stats.
    row.status = "unknown";
    return row;
  }
  Object.assign(row, { status: g.status, name: g.name, template: g.template ? 1 : 0, ...guestStats(g, ctx.now) });
  if (g.tags.length) row.tags = g.tags.join(";");
  if (locked.has(g.vmid)) row.lock = "backup";
  if (g.pool && hasPriv(ctx.token, `/pool/${g.pool}`, "Pool.Audit")) row.pool = g.pool;
  return row;
}

/**
 * A storage's figures as a node sees them: `used` is what the scenario says is there besides
 * backups (OS, ISOs, templates …) plus the archives on it, so usage grows when vzdump writes
 * an archive and shrinks when one is pruned or deleted. A node-local storage counts only that
 * node's archives. Guests' disks given as scenario `disks` add their sizes. A full disk stays
 * full (used never exceeds total).
 */
export function storageUsage(s: StorageState, ctx: Ctx, node: string): { used: number; total: number } {
  // Guests' disks on it (scenario `disks`) count as used too.
  const extra = ctx.state.archiveBytes(s.id, node) + guestDiskBytes(ctx.state, s.id, node, s.shared);
  return { total: s.total, used: Math.min(s.total, s.used + extra) };
}

/**
 * The node's root file system as /cluster/resources reports it (`disk`/`maxdisk`, from the
 * node's rrd `rootfs`). `local` (/var/lib/vz) lives on it, so when the node has such a `dir`
 * storage the two agree; otherwise a fixed 12 GiB of 94 GiB.
 */
function rootfs(ctx: Ctx, node: string): { disk: number; maxdisk: number } {
  const local = [...ctx.state.storages.values()].find(
    (s) => s.type === "dir" && s.path === "/var/lib/vz" && s.nodes.includes(node) && !s.shared,
  );
  if (!local) return { disk: 12_884_901_888, maxdisk: 100_861_726_720 };
  const { used, total } = storageUsage(local, ctx, node);
  return { disk: used, maxdisk: total };
}

function storageResource(ctx: Ctx, s: StorageState, node: string): Record<string, unknown> {
  const { used, total } = storageUsage(s, ctx, node);
  return {
    id: `storage/${node}/${s.id}`,
    storage: s.id,
    node,
    type: "storage",
    plugintype: s.type,
    status: s.active && s.enabled ? "available" : "unknown",
    shared: s.shared ? 1 : 0,
    content: s.content.join(","),
    disk: used,
    maxdisk: total,
  };
}

export const inventoryRoutes: Route[] = [
  route("GET", "/version", (ctx) => ({ ...ctx.state.version })),

  route("GET", "/nodes", (ctx) =>
    [...ctx.state.nodes.values()].map((n) => {
      const row: Record<string, unknown> = {
        node: n.name,
        id: `node/${n.name}`,
        type: "node",
        status: n.status,
        level: "",
        ssl_fingerprint: ctx.state.fingerprint,
      };
      if (n.status === "online" && hasPriv(ctx.token, `/nodes/${n.name}`, "Sys.Audit"))
        Object.assign(row, nodeStats(n, ctx.now));
      return row;
    }),
  ),

  route("GET", "/nodes/{node}", (ctx) => {
    nodeOf(ctx);
    return ["qemu", "lxc", "storage", "tasks", "vzdump", "status", "version", "subscription", "replication"].map(
      (subdir) => ({ name: subdir }),
    );
  }),

  // pve-manager PVE/API2/Cluster.pm `get_status`: Sys.Audit on / required. A cluster answers a
  // `cluster` row and one row per member (nodeid from corosync, `local` for the answering node);
  // a standalone node answers only its own row, with nodeid 0. `level` is the subscription
  // level, "" without one.
  route("GET", "/cluster/status", (ctx) => {
    requirePriv(ctx, "/", "Sys.Audit");
    const nodes = [...ctx.state.nodes.values()];
    const ip = (i: number): string => `192.168.1.${10 + i}`;
    if (nodes.length === 1) {
      const n = nodes[0]!;
      return [
        { type: "node", id: `node/${n.name}`, name: n.name, ip: ip(0), local: 1, nodeid: 0, online: 1, level: "" },
      ];
    }
    const rows: Record<string, unknown>[] = [
      {
        type: "cluster",
        id: "cluster",
        name: ctx.state.cluster,
        nodes: nodes.length,
        quorate: 1,
        version: nodes.length,
      },
    ];
    for (const [i, n] of nodes.entries())
      rows.push({
        type: "node",
        id: `node/${n.name}`,
        name: n.name,
        nodeid: i + 1,
        ip: ip(i),
        online: n.status === "online" ? 1 : 0,
        local: i === 0 ? 1 : 0,
        level: "",
      });
    return rows;
  }),

  route("GET", "/cluster/resources", (ctx) => {
    const type = enumArg(ctx, "type", ["vm", "storage", "node", "sdn"] as const);
    const rows: Record<string, unknown>[] = [];
    const locked = ctx.state.lockedGuests();
    if (!type || type === "vm") {
      for (const g of [...ctx.state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
        if (hasPriv(ctx.token, `/vms/${g.vmid}`, "VM.Audit")) rows.push(guestResource(ctx, g, locked));
      }
    }
    if (!type || type === "node") {
      for (const n of ctx.state.nodes.values()) {
        const row: Record<string, unknown> = {
          id: `node/${n.name}`,
          node: n.name,
          type: "node",
          status: n.status === "online" ? "online" : "offline",
          level: "",
        };
        if (n.status === "online" && hasPriv(ctx.token, `/nodes/${n.name}`, "Sys.Audit")) {
          const s = nodeStats(n, ctx.now);
          // `cgroup-mode` (with a dash) from the node's static info (pve-manager PVE/API2/Cluster.pm
          // resources: `$entry->{'cgroup-mode'} = int($mode)`); PVE 9 runs cgroup v2 only.
          Object.assign(row, s, rootfs(ctx, n.name), { "cgroup-mode": 2 });
        }
        rows.push(row);
      }
    }
    if (!type || type === "storage") {
      for (const n of ctx.state.nodes.values()) {
        for (const s of ctx.state.storages.values()) {
          if (!s.nodes.includes(n.name) || !hasPriv(ctx.token, `/storage/${s.id}`, "Datastore.Audit")) continue;
          rows.push(storageResource(ctx, s, n.name));
        }
      }
    }
    return rows;
  }),

  route("GET", "/nodes/{node}/qemu", (ctx) => listGuests(ctx, "qemu")),
  route("GET", "/nodes/{node}/lxc", (ctx) => listGuests(ctx, "lxc")),
];

/** Node-local guest lists: qemu rows have no `type`, lxc rows do; `template` only when 1. */
function listGuests(ctx: Ctx, type: "qemu" | "lxc"): Record<string, unknown>[] {
  const node = nodeOf(ctx);
  const locked = ctx.state.lockedGuests();
  const rows: Record<string, unknown>[] = [];
  for (const g of [...ctx.state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
    if (g.node !== node.name || g.type !== type || !hasPriv(ctx.token, `/vms/${g.vmid}`, "VM.Audit")) continue;
    const s = guestStats(g, ctx.now);
    const row: Record<string, unknown> = {
      vmid: g.vmid,
      name: g.name,
      status: g.status,
      cpus: g.cpus,
      cpu: s.cpu,
      mem: s.mem,
      maxmem: s.maxmem,
      disk: s.disk,
      maxdisk: s.maxdisk,
      uptime: s.uptime,
      netin: s.netin,
      netout: s.netout,
      diskread: s.diskread,
      diskwrite: s.diskwrite,
    };
    if (type === "lxc") {
      row.type = "lxc";
      row.maxswap = 536_870_912;
    } else if (g.status === "running") {
      row.pid = 1000 + g.vmid;
      row.qmpstatus = "running";
    }
    if (g.template) row.template = 1;
    if (g.tags.length) row.tags = g.tags.join(";");
    if (locked.has(g.vmid)) row.lock = "backup";
    rows.push(row);
  }
  return rows;
}
