/**
 * Which disks of a guest a backup must hold, as PVE says it (pure; the reads are in
 * guest-disk-reads.ts):
 * - GET /cluster/backup/{id}/included_volumes (pve-manager PVE/API2/Backup.pm): per guest the
 *   volumes vzdump takes (`included` 1) or leaves out (`included` 0 with a reason); CD-ROMs are not
 *   listed; a guest that no longer exists comes back as `type: "unknown"`. The volume data is
 *   QemuConfig / LXC::Config `get_backup_volumes`: `name` is the drive's `file` / the mount point's
 *   `volume`.
 * - GET /nodes/{node}/{qemu|lxc}/{vmid}/config, for guests no job's included_volumes listed: the
 *   same rules applied here (qemu: disk keys, no CD-ROM or cloud-init drive, no `backup=0`; lxc:
 *   rootfs always, a mount point only with `backup=1`).
 * A passthrough disk (qemu "/dev/…") or a container bind/device mount ("/…") lies on no PVE storage:
 * it is kept with `passthrough` so coverage by a storage's copy can be judged "not complete". A
 * container bind mount is kept even when vzdump leaves it out (it always does), for the same reason.
 */
import type { GuestDisk, GuestDisks } from "../../evidence.js";

/** The qemu config keys that are disks vzdump backs up (unusedN, CD-ROMs aside). */
const QEMU_DISK = /^((scsi|virtio|sata|ide)\d+|efidisk0|tpmstate0)$/;
const LXC_MOUNT = /^(rootfs|mp\d+)$/;

/** PVE property-string booleans (pve-common JSONSchema.pm `parse_boolean`). */
const FALSE = new Set(["0", "no", "off", "false"]);
const TRUE = new Set(["1", "yes", "on", "true"]);

/**
 * A property string "vol,key=value,…" as the volume (the first bare part, or `file=` / `volume=`)
 * and its options; null when it is not a string.
 */
export function parseDriveString(value: unknown): { volume: string; opts: Record<string, string> } | null {
  if (typeof value !== "string") return null;
  const opts: Record<string, string> = {};
  let volume = "";
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      if (!volume) volume = part.trim();
      continue;
    }
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if ((k === "file" || k === "volume") && !volume) volume = v;
    else opts[k] = v;
  }
  return { volume, opts };
}

/** The disk as the evidence holds it: storage id before the ':', passthrough for a path. */
export function diskOf(key: string, volume: string): GuestDisk {
  if (volume.startsWith("/")) return { key, volume, passthrough: true };
  const colon = volume.indexOf(":");
  return colon > 0 ? { key, storage: volume.slice(0, colon), volume } : { key, volume };
}

/** The disks a guest's config says vzdump backs up (plus its container bind mounts, see above). */
export function disksFromConfig(type: "qemu" | "lxc", config: Record<string, unknown>): GuestDisk[] {
  const disks: GuestDisk[] = [];
  for (const key of Object.keys(config).sort(byDiskKey)) {
    if (!(type === "qemu" ? QEMU_DISK : LXC_MOUNT).test(key)) continue;
    const d = parseDriveString(config[key]);
    if (!d?.volume || d.volume === "none") continue;
    if (type === "qemu") {
      if (d.opts.media === "cdrom" || d.volume.includes("cloudinit")) continue;
      if (FALSE.has((d.opts.backup ?? "").toLowerCase())) continue;
      // A path ("/dev/disk/by-id/…", or a file outside any storage) lies on no PVE storage.
      disks.push(diskOf(key, d.volume));
      continue;
    }
    // Containers: a bind or device mount ("/…") is never backed up; a volume mount point only with backup=1.
    if (d.volume.startsWith("/")) disks.push({ key, volume: d.volume, passthrough: true });
    else if (key === "rootfs" || TRUE.has((d.opts.backup ?? "").toLowerCase())) disks.push(diskOf(key, d.volume));
  }
  return disks;
}

/** "scsi2" before "scsi10"; rootfs first. */
function byDiskKey(a: string, b: string): number {
  if (a === "rootfs") return -1;
  if (b === "rootfs") return 1;
  return a.localeCompare(b, "en", { numeric: true });
}

export interface IncludedVolumes {
  /** Guests that exist, with their disks. */
  guests: { vmid: number; type: string; disks: GuestDisk[] }[];
  /** vmids the job names that no longer exist (`type: "unknown"`). */
  gone: number[];
}

const rec = (x: unknown): Record<string, unknown> | null =>
  typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null;

/**
 * One job's included_volumes answer; throws a message when it is not that shape (the caller
 * leaves the job's guests unknown). Unknown fields are ignored.
 */
export function parseIncludedVolumes(answer: unknown): IncludedVolumes {
  const root = rec(answer);
  const children = root?.children;
  if (!Array.isArray(children)) throw new Error("included_volumes: no `children` list");
  const out: IncludedVolumes = { guests: [], gone: [] };
  for (const g of children) {
    const guest = rec(g);
    const vmid = typeof guest?.id === "number" ? guest.id : typeof guest?.id === "string" ? Number(guest.id) : NaN;
    if (!guest || !Number.isSafeInteger(vmid)) throw new Error("included_volumes: a guest without a numeric id");
    const type = typeof guest.type === "string" ? guest.type : "unknown";
    if (type === "unknown") {
      out.gone.push(vmid);
      continue;
    }
    const vols = guest.children ?? [];
    if (!Array.isArray(vols)) throw new Error(`included_volumes: guest ${vmid}'s children are not a list`);
    const disks: GuestDisk[] = [];
    for (const v of vols) {
      const vol = rec(v);
      const id = typeof vol?.id === "string" ? vol.id : undefined;
      const name = typeof vol?.name === "string" ? vol.name : undefined;
      if (!vol || !id || name === undefined)
        throw new Error(`included_volumes: a volume of guest ${vmid} has no id/name`);
      const key = id.includes(":") ? id.slice(id.indexOf(":") + 1) : id;
      const included = vol.included === 1 || vol.included === true || vol.included === "1";
      if (name.startsWith("/")) {
        // A passthrough disk (qemu /dev/…) or a container bind/device mount: kept even when left
        // out (a bind mount always is), so coverage by a storage's copy cannot look complete.
        // A qemu passthrough the owner left out with backup=0 is not wanted in a backup.
        if (!included && type === "qemu") continue;
        disks.push({ key, volume: name, passthrough: true });
        continue;
      }
      if (!included) continue;
      disks.push(diskOf(key, name));
    }
    out.guests.push({ vmid, type, disks });
  }
  return out;
}

/** The evidence's rows, sorted by vmid. */
export function toGuestDisks(
  source: string,
  byVmid: ReadonlyMap<number, { disks: GuestDisk[]; from: GuestDisks["from"]; config?: GuestDisks["config"] }>,
): GuestDisks[] {
  return [...byVmid.entries()]
    .sort(([a], [b]) => a - b)
    .map(([vmid, d]) => ({ source, vmid, disks: d.disks, from: d.from, ...(d.config ? { config: d.config } : {}) }));
}
