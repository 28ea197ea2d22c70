/**
 * The backup archives of one Proxmox VE cluster: GET /nodes/{node}/storage/{storage}/content
 * ?content=backup once per distinct backup storage (shared storages once, local ones per node),
 * each kept as columns (archive-set.ts) and read again only when its bytes changed.
 */
import { ArchiveColumns, unionOf, type ArchiveSet } from "../../archive-set.js";
import type { GuestInfo } from "../../evidence.js";
import { firstIssue, PveError, type PveHttp } from "./http.js";
import { storageKey, type StorageRef } from "./inventory.js";
import { sharedVolids } from "./memory.js";
import { contentItemSchema } from "./schemas.js";

/** What one pass over the storages read, before the listings that lost a guest are applied. */
export interface ContentRead {
  /**
   * Listings in which a guest that still exists lost every archive: prune never does that, a
   * revoked privilege does (PVE then answers 200 with fewer rows). They wait in `staged` until
   * the privileges were read again (see PveSource.readContent).
   */
  lostAGuest: boolean;
  staged: Array<{ key: string; list: ArchiveColumns; digest: string; smallest: number | undefined }>;
  /** Rows read in this pass, changed or not. */
  rowsRead: number;
  /** Rows of the listings this pass replaced (their columns are garbage now). */
  rowsReplaced: number;
}

export class BackupContent {
  private readonly archives = new Map<string, ArchiveColumns>();
  /** Digest of each storage listing's bytes: an unchanged listing is not parsed again. */
  private readonly digests = new Map<string, string>();
  /** All listings read as one, kept until a listing changes (evidence() is asked on every publish). */
  private union: ArchiveSet | null = null;
  /** Why a storage could not be listed, by storage key. */
  private readonly errors = new Map<string, string>();
  /** The smallest archive (bytes) each storage listed, by storage key (listing-plan.ts UsageWatch). */
  private readonly smallest = new Map<string, number>();
  /** Storages that have listed at least one archive since the start. */
  private readonly seenArchivesOn = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly http: PveHttp,
  ) {}

  all(): ArchiveSet {
    this.union ??= unionOf([...this.archives.values()]);
    return this.union;
  }

  errorOf(s: StorageRef): string | undefined {
    return this.errors.get(storageKey(s));
  }

  /** Archives in the storage's current listing (0 when never listed). */
  sizeOf(s: StorageRef): number {
    return this.archives.get(storageKey(s))?.size ?? 0;
  }

  /** The smallest archive ever listed on the storage with this key, in bytes. */
  smallestArchive(key: string): number | undefined {
    return this.smallest.get(key);
  }

  hasListedArchives(s: StorageRef): boolean {
    return this.seenArchivesOn.has(storageKey(s));
  }

  /**
   * Lists every storage. A storage that cannot be listed is recorded as such (see errorOf);
   * network trouble and unreadable answers are thrown (the source is down or degraded).
   */
  async read(storages: StorageRef[], guests: ReadonlyMap<number, GuestInfo>): Promise<ContentRead> {
    const read: ContentRead = { lostAGuest: false, staged: [], rowsRead: 0, rowsReplaced: 0 };
    for (const s of storages) {
      const k = storageKey(s);
      if (!s.available) {
        this.errors.set(k, `storage '${s.storage}' is not available on node '${s.node}'`);
        continue;
      }
      try {
        const path = `/nodes/${encodeURIComponent(s.node)}/storage/${encodeURIComponent(s.storage)}/content`;
        const rows = this.listingBuilder(s, path);
        const answer = await this.http.getRowsIfChanged(
          path,
          { content: "backup" },
          this.archives.has(k) ? this.digests.get(k) : undefined,
          rows.add,
        );
        if (answer.unchanged) {
          read.rowsRead += this.archives.get(k)?.size ?? 0;
          this.errors.delete(k);
          continue;
        }
        read.rowsRead += answer.count;
        const list = rows.list();
        const replaced = this.archives.get(k);
        read.rowsReplaced = Math.max(read.rowsReplaced, replaced?.size ?? 0);
        // A listing that lost a guest takes effect only after the privileges were read again: a
        // publish in between would judge it with the old privileges and show `missing` for a guest
        // whose backups the token may no longer see. Others apply at once.
        if (lostAGuest(replaced, list, guests)) {
          read.lostAGuest = true;
          read.staged.push({ key: k, list, digest: answer.digest, smallest: rows.smallest() });
        } else this.apply(k, list, answer.digest, rows.smallest());
        this.errors.delete(k);
      } catch (e) {
        if (e instanceof PveError && (e.kind === "network" || e.kind === "timeout" || e.degraded)) throw e;
        this.errors.set(k, `storage '${s.storage}' could not be listed: ${(e as Error).message}`);
      }
    }
    return read;
  }

  /** Applies the listings `read` held back. */
  applyStaged(read: ContentRead): void {
    for (const { key, list, digest, smallest } of read.staged.splice(0)) this.apply(key, list, digest, smallest);
  }

  /** Drops the listings of storages that are gone from the cluster. */
  keepOnly(storages: StorageRef[]): void {
    const keys = new Set(storages.map(storageKey));
    for (const k of [...this.archives.keys()]) {
      if (keys.has(k)) continue;
      this.archives.delete(k);
      this.digests.delete(k);
      this.union = null;
    }
  }

  private apply(k: string, list: ArchiveColumns, digest: string, smallest: number | undefined): void {
    const had = this.smallest.get(k);
    if (smallest !== undefined && (had === undefined || smallest < had)) this.smallest.set(k, smallest);
    this.archives.set(k, list);
    this.digests.set(k, digest);
    this.union = null;
    if (list.size) this.seenArchivesOn.add(k);
  }

  /**
   * Content rows → the listing's columns, as they are parsed. A row of the wrong shape makes the
   * listing unreadable (a schema error naming the row and field). Rows whose VMID cannot be told
   * (neither the field nor the volid names it) belong to no guest and are left out.
   */
  private listingBuilder(
    s: StorageRef,
    path: string,
  ): { add(row: unknown, i: number): void; list(): ArchiveColumns; smallest(): number | undefined } {
    const fresh = () => new ArchiveColumns(this.source, s.storage, s.shared ? undefined : s.node);
    let list = fresh();
    let smallest: number | undefined;
    const before = this.archives.get(storageKey(s));
    let volids = sharedVolids(before);
    const add = (row: unknown, i: number) => {
      // Rows start again from 0 after a retry or a full parse (see PveHttp.getRowsIfChanged): drop what came before.
      if (i === 0 && list.size) {
        list = fresh();
        smallest = undefined;
        volids = sharedVolids(before);
      }
      const parsed = contentItemSchema.safeParse(row);
      if (!parsed.success)
        throw new PveError("schema", `GET ${path}: unexpected answer at data[${i}]${firstIssue(parsed.error)}`);
      const it = parsed.data;
      const vmid = it.vmid ?? vmidFromVolid(it.volid);
      if (!(vmid > 0)) return;
      if (it.size && (smallest === undefined || it.size < smallest)) smallest = it.size;
      const verification =
        it.verification && (it.verification.state === "ok" || it.verification.state === "failed")
          ? it.verification.state
          : undefined;
      list.add({
        volid: volids(vmid, it.volid),
        vmid,
        ctimeMs: it.ctime * 1000,
        size: it.size ?? 0,
        format: it.format,
        ...(it.notes ? { notes: it.notes } : {}),
        protected: it.protected === 1,
        ...(verification ? { verification } : {}),
      });
    };
    return { add, list: () => list.done(), smallest: () => smallest };
  }
}

/**
 * Where a content row breaks contentItemSchema (`.field: message`, as PveHttp words a schema
 * error of a whole answer), or undefined when it fits.
 */
export function contentRowProblem(row: unknown): string | undefined {
  const parsed = contentItemSchema.safeParse(row);
  return parsed.success ? undefined : firstIssue(parsed.error);
}

/** Did a guest that still exists lose every archive it had in this listing? */
function lostAGuest(
  before: ArchiveColumns | undefined,
  after: ArchiveColumns,
  guests: ReadonlyMap<number, GuestInfo>,
): boolean {
  if (!before) return false;
  for (const vmid of before.vmidsPresent()) if (!after.hasGuest(vmid) && guests.has(vmid)) return true;
  return false;
}

/** The VMID a volid names ("local:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst", "pbs:backup/vm/100/2026-01-01T00:00:00Z"), or -1. */
function vmidFromVolid(volid: string): number {
  const m = /-([1-9][0-9]{2,8})-[^/]+$/.exec(volid) ?? /\/(?:vm|ct)\/([0-9]+)\//.exec(volid);
  return m ? Number(m[1]) : -1;
}
