/**
 * The simulated PVE's inventory as the lab keeps it: nodes, storages and guests (their state
 * records), and how a scenario's entries (or LabControl's additions) become them.
 */
import type { GuestDisk, ResolvedScenario } from "./scenario.js";

export interface NodeState {
  name: string;
  timezone: string;
  status: "online" | "offline";
  bootMs: number;
  maxcpu: number;
  maxmem: number;
  nextPid: number;
  /** When the vzdump lock was last released (one vzdump per node at a time). */
  lockFreeMs: number;
}

export interface StorageState {
  id: string;
  type: string;
  shared: boolean;
  content: string[];
  nodes: string[];
  path: string;
  total: number;
  used: number;
  enabled: boolean;
  active: boolean;
  pruneBackups?: Record<string, string>;
  /** storage.cfg's mount source of an nfs or cifs storage (server, export, share, subdir, …), as listed. */
  mount?: Record<string, string>;
}

export interface GuestState {
  vmid: number;
  type: "qemu" | "lxc";
  name: string;
  node: string;
  status: "running" | "stopped" | "paused";
  tags: string[];
  template: boolean;
  pool?: string;
  backupSeconds?: number;
  archiveSize?: number;
  warn?: string;
  failReason?: string;
  /** The storage holding the guest's disks (default local-lvm). */
  disk?: string;
  /** Its disks / mount points as the scenario lists them; absent = one root disk on `disk`. */
  disks?: GuestDisk[];
  /** One-shot failure set by LabControl.failNextBackup. */
  failNext?: string;
  /** One-shot hang set by LabControl.hangNextBackup. */
  hangNext?: boolean;
  cpus: number;
  maxmem: number;
  maxdisk: number;
  /** Config `onboot`; absent when the config does not set it (PVE's default 0). */
  onboot?: boolean;
  /** Config `ostype` (qemu: l26, win11 …; lxc: debian, alpine …). */
  ostype: string;
}

/** A guest as a scenario or LabControl describes it (defaults filled in by guestState). */
export interface GuestInput {
  vmid: number;
  type: "qemu" | "lxc";
  name: string;
  node: string;
  status?: GuestState["status"];
  tags?: string[] | string;
  template?: boolean | 0 | 1;
  pool?: string;
  backupSeconds?: number;
  archiveSize?: number;
  warn?: string;
  failReason?: string;
  disk?: string;
  disks?: GuestDisk[];
  cpus?: number;
  maxmem?: number;
  maxdisk?: number;
  onboot?: boolean | 0 | 1;
  ostype?: string;
}

/** The scenario's nodes, booted their uptime before `nowMs`, each with its own PID range. */
export function nodeStates(nodes: ResolvedScenario["nodes"], nowMs: number): NodeState[] {
  let pidBase = 0x1f000;
  return nodes.map((n) => {
    pidBase += 0x31337;
    return {
      name: n.name,
      timezone: n.timezone,
      status: n.status,
      bootMs: nowMs - n.uptimeSeconds * 1000,
      maxcpu: n.maxcpu,
      maxmem: n.maxmem,
      nextPid: pidBase,
      lockFreeMs: -Infinity,
    };
  });
}

/** A scenario storage; `allNodes`: where it is available when the scenario does not say. */
export function storageState(s: ResolvedScenario["storages"][number], allNodes: string[]): StorageState {
  const shared = s.shared === undefined ? ["nfs", "cifs", "pbs", "cephfs"].includes(s.type) : Boolean(s.shared);
  return {
    id: s.id,
    type: s.type,
    shared,
    content: typeof s.content === "string" ? s.content.split(",").map((c) => c.trim()) : s.content,
    nodes: s.nodes ?? allNodes,
    path: s.path ?? (s.type === "dir" ? (s.id === "local" ? "/var/lib/vz" : `/mnt/${s.id}`) : `/mnt/pve/${s.id}`),
    total: s.total,
    used: s.used,
    enabled: Boolean(s.enabled),
    active: Boolean(s.active),
    ...(s["prune-backups"]
      ? { pruneBackups: Object.fromEntries(Object.entries(s["prune-backups"]).map(([k, v]) => [k, String(v)])) }
      : {}),
    ...(s.type === "nfs" || s.type === "cifs" ? { mount: mountSource(s) } : {}),
  };
}

/** An nfs or cifs storage's mount source with the lab's defaults (a NAS named nas.home.arpa). */
function mountSource(s: ResolvedScenario["storages"][number]): Record<string, string> {
  const given = (keys: readonly string[]) =>
    Object.fromEntries(
      keys.flatMap((k) => (s[k as keyof typeof s] === undefined ? [] : [[k, String(s[k as keyof typeof s])]])),
    );
  return s.type === "nfs"
    ? { server: "nas.home.arpa", export: `/volume1/${s.id}`, ...given(["server", "export", "options"]) }
    : {
        server: "nas.home.arpa",
        share: s.id,
        ...given(["server", "share", "subdir", "username", "domain", "smbversion"]),
      };
}

/** A guest with PVE's defaults: running, 2 CPUs, 4 GiB memory, 32 GiB disk. */
export function guestState(g: GuestInput): GuestState {
  return {
    vmid: g.vmid,
    type: g.type,
    name: g.name,
    node: g.node,
    status: g.status ?? "running",
    tags: typeof g.tags === "string" ? g.tags.split(/[;,\s]+/).filter(Boolean) : (g.tags ?? []),
    template: Boolean(g.template),
    cpus: g.cpus ?? 2,
    maxmem: g.maxmem ?? 4_294_967_296,
    maxdisk: g.maxdisk ?? 34_359_738_368,
    ostype: g.ostype ?? (g.type === "qemu" ? "l26" : "debian"),
    ...(g.onboot !== undefined ? { onboot: Boolean(g.onboot) } : {}),
    ...(g.pool !== undefined ? { pool: g.pool } : {}),
    ...(g.backupSeconds !== undefined ? { backupSeconds: g.backupSeconds } : {}),
    ...(g.archiveSize !== undefined ? { archiveSize: g.archiveSize } : {}),
    ...(g.warn !== undefined ? { warn: g.warn } : {}),
    ...(g.failReason !== undefined ? { failReason: g.failReason } : {}),
    ...(g.disk !== undefined ? { disk: g.disk } : {}),
    ...(g.disks !== undefined ? { disks: g.disks.map((d) => ({ ...d })) } : {}),
  };
}
