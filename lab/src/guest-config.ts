/**
 * A guest's configuration as GET /nodes/{node}/qemu|lxc/{vmid}/config returns it: the keys of
 * the guest's .conf file plus `digest`. Values carry the schema's types, because the config
 * parsers pass every value through `check_type` (qemu-server PVE/QemuServer.pm `check_type`:
 * booleans and integers become numbers, strings stay strings) — so qemu's `memory`, a property
 * string since PVE 8.1 (qemu-server PVE/QemuServer/Memory.pm `$memory_fmt`), is "4096", while
 * lxc's `memory` is an integer. Keys that are not set are absent (no defaults filled in), as
 * in the file: a guest without `onboot` has none.
 */
import { createHash } from "node:crypto";
import type { LabState } from "./state.js";
import type { GuestState } from "./inventory-state.js";

/** pve-common PVE/JSONSchema.pm `format_size`: the largest unit that divides the size evenly. */
export function formatSize(bytes: number): string {
  const size = Math.floor(bytes);
  const kb = Math.floor(size / 1024);
  if (kb * 1024 !== size) return String(size);
  const mb = Math.floor(kb / 1024);
  if (mb * 1024 !== kb) return `${kb}K`;
  const gb = Math.floor(mb / 1024);
  if (gb * 1024 !== mb) return `${mb}M`;
  const tb = Math.floor(gb / 1024);
  if (tb * 1024 !== gb) return `${gb}G`;
  return `${tb}T`;
}

/** Stable per-guest bytes (MAC, UUIDs), so configs and digests do not change between runs. */
function hashOf(g: GuestState, what: string): string {
  return createHash("sha256").update(`${g.vmid}/${what}`).digest("hex");
}

function uuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Generated MACs start with the Proxmox OUI BC:24:11 (pve-cluster PVE/DataCenterConfig.pm `$PROXMOX_OUI`, the `mac_prefix` default). */
function mac(g: GuestState): string {
  const h = hashOf(g, "mac").toUpperCase();
  return `BC:24:11:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

/** The storage holding the guest's disk: the first on its node with `images` (qemu) / `rootdir` (lxc). */
export function diskStorage(state: LabState, g: GuestState): string {
  const want = g.type === "qemu" ? "images" : "rootdir";
  const ids = [...state.storages.values()]
    .filter((s) => s.content.includes(want) && s.nodes.includes(g.node))
    .map((s) => s.id)
    .sort();
  return ids[0] ?? "local-lvm";
}

/** The root disk volume; its `size=` is the guest's maxdisk, the figure /cluster/resources reports. */
export function rootDisk(state: LabState, g: GuestState): string {
  return `${diskStorage(state, g)}:vm-${g.vmid}-disk-0,${g.type === "qemu" ? "iothread=1," : ""}size=${formatSize(g.maxdisk)}`;
}

/** One disk / mount point of a guest: its config line and what vzdump makes of it. */
export interface DiskEntry {
  key: string;
  /** The config value ("nas-vms:100/vm-100-disk-0.qcow2,size=32G"). */
  value: string;
  /** The volume id or host path (included_volumes' `name`: the drive's `file`, the mount point's `volume`). */
  volume: string;
  /** A CD-ROM (incl. cloud-init drives): not in included_volumes at all. */
  cdrom: boolean;
  /** included_volumes' verdict (qemu-server PVE/QemuConfig.pm, pve-container src/PVE/LXC/Config.pm get_backup_volumes). */
  included: 0 | 1;
  reason: string;
}

/** Storages whose volumes are files below <path>/images/<vmid>/ (pve-storage Plugin.pm); the others name volumes vm-<vmid>-disk-<n>. */
const FILE_STORAGES = new Set(["dir", "nfs", "cifs", "cephfs", "btrfs", "glusterfs"]);

/**
 * PVE's property strings (pve-common PVE/JSONSchema.pm print_property_string): the default key's
 * value first, then the required keys, then the optional ones, each group sorted by name.
 */
function propertyString(first: string, required: [string, string][], optional: [string, string][]): string {
  const sorted = (l: [string, string][]) => [...l].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return [first, ...sorted(required), ...sorted(optional)].join(",");
}

/**
 * The guest's disks with their volume ids. A file storage (nfs, cifs, dir …) holds
 * `<storage>:<vmid>/vm-<vmid>-disk-<n>.qcow2` for VMs and `….raw` for containers; lvmthin/rbd
 * `<storage>:vm-<vmid>-disk-<n>`, a zfspool container `subvol-<vmid>-disk-<n>`. Disks are numbered
 * in the scenario's order; cloud-init drives are `vm-<vmid>-cloudinit`.
 */
export function guestDisks(state: LabState, g: GuestState): DiskEntry[] {
  const defaultStorage = g.disk ?? diskStorage(state, g);
  if (!g.disks) {
    // Today's single root disk (rootDisk), always on the guest's disk storage.
    const storage = g.disk ?? diskStorage(state, g);
    const volume = `${storage}:vm-${g.vmid}-disk-0`;
    const value = `${volume},${g.type === "qemu" ? "iothread=1," : ""}size=${formatSize(g.maxdisk)}`;
    return g.type === "qemu"
      ? [{ key: "scsi0", value, volume, cdrom: false, included: 1, reason: "backup=yes" }]
      : [{ key: "rootfs", value, volume, cdrom: false, included: 1, reason: "rootfs" }];
  }
  let n = 0;
  return g.disks.map((d): DiskEntry => {
    const storage = d.storage ?? defaultStorage;
    const type = state.storages.get(storage)?.type ?? "lvmthin";
    const file = FILE_STORAGES.has(type);
    const volName = (name: string, ext: string) =>
      file ? `${storage}:${g.vmid}/${name}.${ext}` : `${storage}:${name}`;
    const newVolume = () => {
      const i = n++;
      if (g.type === "lxc")
        return type === "zfspool" ? `${storage}:subvol-${g.vmid}-disk-${i}` : volName(`vm-${g.vmid}-disk-${i}`, "raw");
      return volName(`vm-${g.vmid}-disk-${i}`, "qcow2");
    };
    const backup0: [string, string][] = d.backup === false ? [["backup", "0"]] : [];
    if (g.type === "lxc") {
      // pve-container src/PVE/LXC/Config.pm mountpoint_backup_enabled: rootfs always ('rootfs'); a bind
      // or device mount point ('type' ne 'volume') never ('not a volume'); a volume mount point only
      // with backup=1 ('enabled', else 'disabled'). The pve-manager UI's backup_reasons_table
      // (www/manager6/Utils.js) maps exactly these strings.
      if (d.key === "rootfs") {
        const volume = d.path ?? newVolume();
        return {
          key: d.key,
          value: propertyString(volume, [], [["size", d.size ?? formatSize(g.maxdisk)]]),
          volume,
          cdrom: false,
          included: 1,
          reason: "rootfs",
        };
      }
      const mp: [string, string][] = [["mp", d.mp ?? `/mnt/${d.key}`]];
      if (d.path !== undefined)
        return {
          key: d.key,
          value: propertyString(d.path, mp, []),
          volume: d.path,
          cdrom: false,
          included: 0,
          reason: "not a volume",
        };
      const volume = newVolume();
      const opts: [string, string][] = [
        ["size", d.size ?? formatSize(g.maxdisk)],
        ...(d.backup ? [["backup", "1"] as [string, string]] : []),
      ];
      return {
        key: d.key,
        value: propertyString(volume, mp, opts),
        volume,
        cdrom: false,
        included: d.backup ? 1 : 0,
        reason: d.backup ? "enabled" : "disabled",
      };
    }
    // qemu-server PVE/QemuConfig.pm get_backup_volumes: CD-ROMs are skipped (drive_is_cdrom); a drive
    // is included unless `backup=0`, reason "backup=no" when backup is set at all, else "backup=yes";
    // an efidisk without `bios: ovmf` is excluded with "efidisk but no OMVF BIOS" (sic: OMVF). The
    // lab writes `bios: ovmf` for every guest with an efidisk0, so that case does not arise here.
    const verdict = {
      included: (d.backup === false ? 0 : 1) as 0 | 1,
      reason: d.backup === false ? "backup=no" : "backup=yes",
    };
    if (d.media === "cdrom") {
      const iso = d.iso ?? "none";
      return {
        key: d.key,
        value: propertyString(iso, [], [["media", "cdrom"]]),
        volume: iso,
        cdrom: true,
        included: 0,
        reason: "",
      };
    }
    if (d.cloudinit) {
      const volume = volName(`vm-${g.vmid}-cloudinit`, "qcow2");
      return {
        key: d.key,
        value: propertyString(volume, [], [["media", "cdrom"]]),
        volume,
        cdrom: true,
        included: 0,
        reason: "",
      };
    }
    if (d.path !== undefined) {
      const value = propertyString(d.path, [], [...backup0, ["size", d.size ?? formatSize(g.maxdisk)]]);
      return { key: d.key, value, volume: d.path, cdrom: false, ...verdict };
    }
    const volume = newVolume();
    if (d.key === "efidisk0") {
      // qcow2 efivars are 528K; on block storages the volume is rounded to the allocation unit (4M on LVM).
      const size = d.size ?? (file ? "528K" : "4M");
      const opts: [string, string][] = [...backup0, ["efitype", "4m"], ["pre-enrolled-keys", "1"], ["size", size]];
      return { key: d.key, value: propertyString(volume, [], opts), volume, cdrom: false, ...verdict };
    }
    if (d.key === "tpmstate0") {
      const opts: [string, string][] = [...backup0, ["size", d.size ?? "4M"], ["version", "v2.0"]];
      return { key: d.key, value: propertyString(volume, [], opts), volume, cdrom: false, ...verdict };
    }
    const value = propertyString(volume, [], [...backup0, ["size", d.size ?? formatSize(g.maxdisk)]]);
    return { key: d.key, value, volume, cdrom: false, ...verdict };
  });
}

/**
 * qemu-server's drive order (PVE/QemuServer/Drive.pm valid_drive_names: ide, scsi, virtio, sata,
 * efidisk0, tpmstate0, each by number), which get_backup_volumes walks; lxc: rootfs, then mp0, mp1 ….
 */
function keyOrder(key: string): [number, number] {
  const m = /^([a-z]+?)(\d+)$/.exec(key);
  const bus = ["rootfs", "ide", "scsi", "virtio", "sata", "efidisk", "tpmstate", "mp"];
  if (key === "rootfs") return [0, 0];
  return [bus.indexOf(m?.[1] ?? ""), Number(m?.[2] ?? 0)];
}

/** The guest's disks in the order PVE walks them (foreach_volume). */
export function backupVolumes(state: LabState, g: GuestState): DiskEntry[] {
  return guestDisks(state, g)
    .filter((d) => !d.cdrom)
    .sort((a, b) => {
      const [x, i] = keyOrder(a.key);
      const [y, j] = keyOrder(b.key);
      return x - y || i - j;
    });
}

export function guestConfig(state: LabState, g: GuestState): Record<string, unknown> {
  const conf: Record<string, unknown> =
    g.type === "qemu"
      ? {
          boot: "order=scsi0;net0",
          cores: g.cpus,
          cpu: "x86-64-v2-AES",
          memory: String(Math.floor(g.maxmem / 1_048_576)),
          meta: `creation-qemu=9.2.0,ctime=${1_735_689_600 + g.vmid * 3_600}`,
          name: g.name,
          net0: `virtio=${mac(g)},bridge=vmbr0,firewall=1`,
          numa: 0,
          ostype: g.ostype,
          scsihw: "virtio-scsi-single",
          smbios1: `uuid=${uuid(hashOf(g, "smbios"))}`,
          sockets: 1,
          vmgenid: uuid(hashOf(g, "vmgenid")),
        }
      : {
          arch: "amd64",
          cores: g.cpus,
          features: "nesting=1",
          hostname: g.name,
          memory: Math.floor(g.maxmem / 1_048_576),
          net0: `name=eth0,bridge=vmbr0,firewall=1,hwaddr=${mac(g)},ip=dhcp,type=veth`,
          ostype: g.ostype,
          swap: 512,
          unprivileged: 1,
        };
  const disks = guestDisks(state, g);
  for (const d of disks) conf[d.key] = d.value;
  if (g.type === "qemu" && g.disks) {
    const boot = disks.filter(
      (d) => !/^(efidisk|tpmstate)/.test(d.key) && !(d.cdrom && d.volume.includes("cloudinit")),
    );
    conf.boot = `order=${[...boot.map((d) => d.key), "net0"].join(";")}`;
    if (disks.some((d) => d.key === "efidisk0")) conf.bios = "ovmf";
  }
  if (g.onboot !== undefined) conf.onboot = g.onboot ? 1 : 0;
  if (g.tags.length) conf.tags = g.tags.join(";");
  if (g.template) conf.template = 1;
  // The digest is the SHA-1 of the config file's text (qemu-server PVE/QemuServer.pm parse_vm_config: sha1_hex($raw)).
  const text = Object.entries(conf)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join("\n");
  return { ...conf, digest: createHash("sha1").update(`${text}\n`).digest("hex") };
}

/** "32G" / "528K" / "4M" (format_size) → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)([KMGT]?)$/.exec(text);
  if (!m) return 0;
  return Number(m[1]) * 1024 ** ["", "K", "M", "G", "T"].indexOf(m[2] ?? "");
}

/**
 * Bytes the guests' disks take on a storage (seen from `node`: a local storage holds only that
 * node's guests' disks). Only guests with a scenario `disks` list count — the single default root
 * disk stays inside the scenario's `used`, as before. Disks are counted at their full size (thick).
 */
export function guestDiskBytes(state: LabState, storage: string, node: string, shared: boolean): number {
  let total = 0;
  for (const g of state.guests.values()) {
    if (!g.disks || (!shared && g.node !== node)) continue;
    for (const d of guestDisks(state, g)) {
      // Passthrough disks and bind mounts are host paths, ISOs carry no size=.
      if (d.volume.split(":")[0] !== storage) continue;
      total += parseSize(/(?:^|,)size=([^,]+)/.exec(d.value)?.[1] ?? "");
    }
  }
  return total;
}
