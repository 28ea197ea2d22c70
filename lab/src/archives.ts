/**
 * Backup archives: the state of one, vzdump's names for them, and the index that answers
 * per-storage and per-guest listings of hundreds of thousands of archives without scanning them all.
 */
import { archiveStamp } from "./timezone.js";

export interface ArchiveState {
  storage: string;
  /** Node whose local storage holds it; null on shared storages. */
  node: string | null;
  vmid: number;
  subtype: "qemu" | "lxc";
  ctime: number; // epoch seconds (from the name, node-local)
  format: string;
  size: number;
  notes?: string;
  protected: boolean;
  verification?: "ok" | "failed";
  /** The file is damaged: zstd/vma/tar on the node fail on it (SSH double). */
  corrupt?: boolean;
  /** File name in <path>/dump (file storages) or snapshot path (PBS). */
  file: string;
  volid: string;
  /** The `.log` side file's lines; null for PBS (log goes into the snapshot). */
  log: string[] | null;
}

const COMPRESS_EXT: Record<string, string> = { "0": "", "": "", "1": ".lzo", lzo: ".lzo", gzip: ".gz", zstd: ".zst" };

export function archiveFormat(subtype: "qemu" | "lxc", compress: string): string {
  return (subtype === "qemu" ? "vma" : "tar") + (COMPRESS_EXT[compress] ?? "");
}

/** vzdump's naming: node-local start time in file names, UTC in PBS snapshot ids. */
export function archiveNames(
  storage: { id: string; type: string },
  subtype: "qemu" | "lxc",
  vmid: number,
  startMs: number,
  format: string,
  tz: string,
): { file: string; volid: string; format: string } {
  if (storage.type === "pbs") {
    const iso = new Date(Math.floor(startMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const file = `${subtype === "qemu" ? "vm" : "ct"}/${vmid}/${iso}`;
    return { file, volid: `${storage.id}:backup/${file}`, format: subtype === "qemu" ? "pbs-vm" : "pbs-ct" };
  }
  const file = `vzdump-${subtype}-${vmid}-${archiveStamp(startMs, tz)}.${format}`;
  return { file, volid: `${storage.id}:backup/${file}`, format };
}

export function logFileName(archiveFile: string): string {
  return `${archiveFile.replace(/\.(vma|tar|tgz)(\.[a-z0-9]+)?$/, "")}.log`;
}

export function defaultArchiveSize(g: { type: "qemu" | "lxc"; vmid: number }): number {
  // Deterministic per guest so counts and sizes are stable across runs.
  return g.type === "qemu" ? 1_717_986_918 + (g.vmid % 17) * 52_428_800 : 471_859_200 + (g.vmid % 13) * 10_485_760;
}

interface ArchiveLocation {
  all: ArchiveState[];
  byVmid: Map<number, ArchiveState[]>;
  sorted: Map<string, ArchiveState[]>;
}

export interface ArchiveIndex {
  list: ArchiveState[];
  length: number;
  byLocation: Map<string, ArchiveLocation>;
  byName: Set<string>;
  /** Bytes of the archives per location (locationKey: a shared storage, or a node's copy of a local one). */
  bytes: Map<string, number>;
}

export const locationKey = (storage: string, node: string | null): string =>
  node === null ? storage : `${storage}\u0000${node}`;
export const archiveKey = (a: Pick<ArchiveState, "volid" | "node">): string => `${a.volid}\u0000${a.node ?? ""}`;
