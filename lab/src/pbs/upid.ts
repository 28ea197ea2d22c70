/**
 * PBS task ids (UPIDs), as proxmox-rest-server's worker_task.rs formats and parses them:
 * `UPID:{node}:{pid:08X}:{pstart:08X}:{task_id:08X}:{starttime:08X}:{worker_type}:{worker_id}:{auth_id}:`
 * with the worker id systemd-escaped (proxmox-sys systemd::escape_unit: `/` → `-`, anything but
 * `[A-Za-z0-9_.]` → `\xNN`). Ten colon-separated parts, one more than a PVE UPID (the task id):
 * proxmoxer's `Tasks.decode_upid` (which wants nine) refuses them.
 */

const hex = (n: number, w = 8) => n.toString(16).toUpperCase().padStart(w, "0");

/** systemd unit escaping of a worker id (`store1:vm/100` → `store1\x3avm-100`). */
export const escapeWorkerId = (s: string) =>
  s.replace(/[^A-Za-z0-9_./]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).replace(/\//g, "-");

/** systemd unescaping: `-` → `/`, `\xNN` → the byte. */
export const unescapeWorkerId = (s: string) =>
  s.replace(/\\x([0-9a-fA-F]{2})|-/g, (_m, h: string | undefined) =>
    h ? String.fromCharCode(Number.parseInt(h, 16)) : "/",
  );

export interface Upid {
  node: string;
  pid: number;
  pstart: number;
  taskId: number;
  /** Epoch seconds. */
  starttime: number;
  workerType: string;
  /** Unescaped; null when the UPID has none. */
  workerId: string | null;
  authId: string;
}

export function formatUpid(u: Upid): string {
  return `UPID:${u.node}:${hex(u.pid)}:${hex(u.pstart)}:${hex(u.taskId)}:${hex(u.starttime)}:${u.workerType}:${u.workerId === null ? "" : escapeWorkerId(u.workerId)}:${u.authId}:`;
}

// pbs-api-types PROXMOX_UPID_REGEX (UPID_SCHEMA's pattern).
const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8,16}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

/** The UPID's parts, or null when it does not match UPID_SCHEMA. */
export function parseUpid(s: string): Upid | null {
  const m = UPID_RE.exec(s);
  if (!m) return null;
  const n = (i: number) => Number.parseInt(m[i]!, 16);
  return {
    node: m[1]!,
    pid: n(3),
    pstart: n(4),
    taskId: n(5),
    starttime: n(6),
    workerType: m[7]!,
    workerId: m[8] ? unescapeWorkerId(m[8]) : null,
    authId: m[9]!,
  };
}
