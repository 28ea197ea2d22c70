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
