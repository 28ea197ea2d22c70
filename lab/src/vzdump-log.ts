/**
 * How a vzdump worker's task log reads: its command line, sizes and durations the way PVE's Perl
 * code formats them, and the progress lines QemuServer's backup loop prints while a VM is backed up.
 */
import type { CurrentGuest, TaskState, VzdumpOptions } from "./workers.js";

/** vzdump's `format_size`. */
export function formatSize(size: number): string {
  const kb = size / 1024;
  if (kb < 1024) return `${Math.floor(kb)}KB`;
  const mb = kb / 1024;
  if (mb < 1024) return `${Math.floor(mb)}MB`;
  const gb = mb / 1024;
  if (gb < 1024) return `${gb.toFixed(2)}GB`;
  return `${(gb / 1024).toFixed(2)}TB`;
}

/** PVE::Format::render_bytes: binary units, `precision` decimals (2 unless given). */
export function renderBytes(value: number, precision = 2): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  const unit = value > 1023 ? Math.min(Math.floor(Math.log(value) / Math.log(1024)), units.length - 1) : 0;
  return `${(value / 1024 ** unit).toFixed(precision)} ${units[unit]}`;
}

/** PVE::Format::render_duration: "0s", "45s", "1m", "1m 5s", "2h 3m 4s" (zero units left out). */
function renderDuration(seconds: number): string {
  let rest = Math.round(seconds);
  if (!rest) return "0s";
  const parts: string[] = [];
  for (const [unit, len] of [
    ["w", 604800],
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const v = Math.floor(rest / len);
    if (v > 0) {
      parts.push(`${v}${unit}`);
      rest -= v * len;
    }
  }
  return parts.join(" ");
}

/** QemuServer's backup loop `$get_mbps`: "0 B/s", else whole bytes per second rendered with one decimal. */
export function rate(bytes: number, seconds: number): string {
  return bytes <= 0 ? "0 B/s" : `${renderBytes(Math.floor(bytes / Math.max(seconds, 1)), 1)}/s`;
}

/** The disk every simulated VM backs up ("include disk 'scsi0' … 32G"). */
export const QEMU_DISK_BYTES = 32 * 1024 ** 3;

/**
 * One status line of QemuServer's backup loop, at a steady speed:
 * "INFO:  40% (12.8 GiB of 32.0 GiB) in 24s, read: 546.1 MiB/s, write: 513.4 MiB/s".
 * (PVE prints one whenever the percentage changed and more than 2 s passed; the lab prints tenths.)
 */
export function progressLine(percent: number, elapsedMs: number, sinceLastMs: number): string {
  const done = (QEMU_DISK_BYTES * percent) / 100;
  const read = elapsedMs > 0 ? (done * sinceLastMs) / elapsedMs : 0; // bytes since the previous line
  const secs = sinceLastMs / 1000;
  return `INFO: ${String(percent).padStart(3)}% (${renderBytes(done, 1)} of ${renderBytes(QEMU_DISK_BYTES, 1)}) in ${renderDuration(elapsedMs / 1000)}, read: ${rate(read, secs)}, write: ${rate(read * 0.94, secs)}`;
}

/** Prints the progress lines of the running guest due by `upTo` (a tenth of the run each). */
export function catchUpProgress(task: TaskState, cur: CurrentGuest, upTo: number): void {
  const span = cur.endMs - cur.startMs;
  while (cur.nextTenth !== undefined && cur.nextTenth <= 9 && cur.startMs + (span * cur.nextTenth) / 10 <= upTo) {
    const line = progressLine(cur.nextTenth * 10, (span * cur.nextTenth) / 10, span / 10);
    task.lines.push(line);
    cur.lines.push(line);
    cur.nextTenth++;
  }
}

function shellQuote(v: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'"'"'`)}'`;
}

/** `vzdump 100 101 --storage local --mode snapshot …` — never contains job-id. */
export function commandLine(o: VzdumpOptions): string {
  const parts = ["vzdump"];
  if (o.all) parts.push("--all 1");
  else if (o.pool) parts.push(`--pool ${shellQuote(o.pool)}`);
  else parts.push(...o.vmids.map(String));
  if (o.exclude.length) parts.push(`--exclude ${o.exclude.join(",")}`);
  parts.push(`--storage ${shellQuote(o.storage)}`, `--mode ${o.mode}`);
  if (o.compress !== "0") parts.push(`--compress ${o.compress}`);
  if (o.notesTemplate !== undefined) parts.push(`--notes-template ${shellQuote(o.notesTemplate)}`);
  if (o.protected) parts.push("--protected 1");
  // PVE::VZDump::Common::command_line prints every option the job sets, `remove 0` too.
  if (!o.remove) parts.push("--remove 0");
  if (o.pruneBackups)
    parts.push(
      `--prune-backups ${shellQuote(
        Object.entries(o.pruneBackups)
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      )}`,
    );
  for (const [k, v] of Object.entries(o.extra)) parts.push(`--${k} ${shellQuote(v)}`);
  return parts.join(" ");
}

/**
 * proxmox-backup-client's HumanByte (proxmox-human-byte, Display): binary units, the number
 * rounded to 3 decimals and printed in its shortest form ("1.205 GiB", "8 GiB", "512 B").
 */
export function humanByte(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let unit = 0;
  let v = bytes;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${Math.round(v * 1000) / 1000} ${units[unit]}`;
}

/** Version a.b.c before x.y.z? */
function olderThan(version: string, than: string): boolean {
  const a = version.split(".").map(Number);
  const b = than.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

/**
 * The lines a container backup to a Proxmox Backup Server logs from proxmox-backup-client (its
 * output reaches the task log through vzdump's logfunc, so each line gets "INFO: "; pve-container
 * src/PVE/VZDump/LXC.pm `run_raw_client_cmd(..., logfunc => loginfo)`). The size summary is
 * proxmox-backup pbs-client/src/backup_writer.rs: "root.pxar: had to backup X of Y (compressed Z)
 * in N.NNs" plus "average backup speed"; clients before 1.0.12 (March 2021, commit 924373d2)
 * wrote "had to upload X of Y in N.NNs, average speed W/s)." with two-decimal sizes.
 */
export function pbsClientLines(o: {
  node: string;
  snapshot: string;
  totalBytes: number;
  dirtyBytes: number;
  seconds: number;
  clientVersion?: string;
}): string[] {
  const secs = Math.max(o.seconds, 0.01);
  const speed = Math.floor(o.dirtyBytes / secs);
  const reused = o.totalBytes - o.dirtyBytes;
  const old = o.clientVersion !== undefined && olderThan(o.clientVersion, "1.0.12");
  const size = old ? (b: number) => renderBytes(b).replace(/^(\d+)\.00 B$/, "$1 B") : humanByte;
  // (The client's protocol, manifest and upload lines between these are left out.)
  const lines = [`INFO: Starting backup: ${o.snapshot}`, `INFO: Client name: ${o.node}`];
  if (old) {
    lines.push(
      `INFO: root.pxar: had to upload ${size(o.dirtyBytes)} of ${size(o.totalBytes)} in ${secs.toFixed(2)}s, average speed ${size(speed)}/s).`,
    );
  } else {
    lines.push(
      `INFO: root.pxar: had to backup ${size(o.dirtyBytes)} of ${size(o.totalBytes)} (compressed ${size(Math.floor(o.dirtyBytes / 3))}) in ${secs.toFixed(2)}s`,
      `INFO: root.pxar: average backup speed: ${size(speed)}/s`,
    );
  }
  if (reused > 0 && o.totalBytes > 1024 * 1024)
    lines.push(
      `INFO: root.pxar: backup was done incrementally, reused ${size(reused)} (${((reused * 100) / o.totalBytes).toFixed(1)}%)`,
    );
  lines.push(`INFO: Uploaded backup catalog (${size(1_268_736)})`, `INFO: Duration: ${secs.toFixed(2)}s`);
  return lines;
}
