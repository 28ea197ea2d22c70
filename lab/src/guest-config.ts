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
          scsi0: rootDisk(state, g),
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
          rootfs: rootDisk(state, g),
          swap: 512,
          unprivileged: 1,
        };
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
