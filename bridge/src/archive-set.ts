/**
 * Archives as evidence, read per guest. With 250,000 archives an object per archive (plus its
 * volid string and two boxed numbers) was most of the bridge's memory; a storage listing is kept
 * here as columns instead (plain arrays of numbers are stored unboxed), and Archive objects are
 * made only for the guest being looked at, and dropped with it.
 */
import type { Archive } from "./evidence.js";

export interface ArchiveSet {
  /** How many archives (rows) there are. */
  readonly size: number;
  /** Differs whenever the contents may differ (a new set, or a member set replaced). */
  readonly version: string;
  /** Every archive of one guest, as new objects (the caller may sort or keep them). */
  of(source: string, vmid: number): Archive[];
  /** Every guest that has archives here, once each. */
  guests(): Iterable<GuestKey>;
}

export interface GuestKey {
  source: string;
  vmid: number;
}

const key = (source: string, vmid: number) => `${source}\u0000${vmid}`;
let instances = 0;
const newVersion = () => `a${++instances}`;

/** An ArchiveSet over a plain list (tests, small inputs). */
export function archiveSet(list: readonly Archive[]): ArchiveSet {
  const byGuest = new Map<string, Archive[]>();
  for (const a of list) {
    const k = key(a.source, a.vmid);
    const g = byGuest.get(k);
    if (g) g.push(a);
    else byGuest.set(k, [a]);
  }
  return {
    size: list.length,
    version: newVersion(),
    of: (source, vmid) => (byGuest.get(key(source, vmid)) ?? []).map((a) => ({ ...a })),
    *guests() {
      for (const g of byGuest.values()) yield { source: g[0]!.source, vmid: g[0]!.vmid };
    },
  };
}

/** Several sets read as one (every storage of a cluster, every cluster). */
export function unionOf(sets: readonly ArchiveSet[]): ArchiveSet {
  return {
    size: sets.reduce((n, s) => n + s.size, 0),
    version: sets.map((s) => s.version).join(","),
    of: (source, vmid) => sets.flatMap((s) => s.of(source, vmid)),
    *guests() {
      const seen = new Set<string>();
      for (const s of sets)
        for (const g of s.guests()) {
          const k = key(g.source, g.vmid);
          if (seen.has(k)) continue;
          seen.add(k);
          yield g;
        }
    },
  };
}

/** Every archive as an object (the report, tests): only where all of them are really wanted. */
export function allArchives(set: ArchiveSet): Archive[] {
  const out: Archive[] = [];
  for (const g of set.guests()) out.push(...set.of(g.source, g.vmid));
  return out;
}

const VERIFIED_OK = 1;
const VERIFIED_FAILED = 2;
const PROTECTED = 4;

/** One storage listing of one Proxmox source, as columns. Rows are added once, then read. */
export class ArchiveColumns implements ArchiveSet {
  private readonly volids = new Column<string>((n) => new Array<string>(n));
  private readonly ctimes = new Column<number>((n) => new Float64Array(n));
  private readonly sizes = new Column<number>((n) => new Float64Array(n));
  private readonly flags = new Column<number>((n) => new Uint8Array(n));
  private readonly formatOf = new Column<number>((n) => new Uint8Array(n));
  private readonly formats: string[] = [];
  /** Notes per row; most are repeated (the same template per guest), so the strings are shared. */
  private readonly notes = new Column<string | null>((n) => new Array<string | null>(n));
  private readonly interned = new Map<string, string>();
  /** The rows of each guest (its VMID is the key: no column needed for it). */
  private readonly rowsOf = new Map<number, number[] | Int32Array>();
  readonly version = newVersion();

  constructor(
    readonly source: string,
    readonly storage: string,
    /** The node of a local storage; undefined for a shared one. */
    readonly node: string | undefined,
  ) {}

  get size(): number {
    return this.volids.length;
  }

  add(a: Omit<Archive, "source" | "storage" | "node">): void {
    const row = this.volids.length;
    this.volids.push(a.volid);
    this.ctimes.push(+a.ctimeMs);
    this.sizes.push(+a.size);
    this.flags.push(
      (a.verification === "ok" ? VERIFIED_OK : a.verification === "failed" ? VERIFIED_FAILED : 0) |
        (a.protected ? PROTECTED : 0),
    );
    let f = this.formats.indexOf(a.format);
    if (f < 0) {
      if (this.formats.length === 255)
        throw new Error(`more than 255 archive formats on one storage (${this.storage})`);
      f = this.formats.push(a.format) - 1;
    }
    this.formatOf.push(f);
    this.notes.push(a.notes ? this.intern(a.notes) : null);
    const rows = this.rowsOf.get(a.vmid);
    if (Array.isArray(rows)) rows.push(row);
    else if (rows) throw new Error("ArchiveColumns.add after done()");
    else this.rowsOf.set(a.vmid, [row]);
  }

  /** Called when every row was added: what is only needed while adding goes, the rest is packed. */
  done(): this {
    this.interned.clear();
    for (const [vmid, rows] of this.rowsOf) if (Array.isArray(rows)) this.rowsOf.set(vmid, Int32Array.from(rows));
    for (const c of [this.volids, this.ctimes, this.sizes, this.flags, this.formatOf, this.notes]) c.pack();
    return this;
  }

  /**
   * The volid string this listing already holds for `volid` of guest `vmid`, if it is at or just
   * after `cursor` among that guest's rows (listings come in the same order each time): a rebuilt
   * listing then shares its strings with the one it replaces instead of holding a second copy.
   * Returns the string to keep and the cursor to use next.
   */
  sameVolid(vmid: number, volid: string, cursor: number): { volid: string; next: number } {
    const rows = this.rowsOf.get(vmid);
    if (rows)
      for (let c = cursor; c < rows.length && c < cursor + 3; c++) {
        const old = this.volids.at(rows[c]!);
        if (old === volid) return { volid: old, next: c + 1 };
      }
    return { volid, next: cursor };
  }

  hasGuest(vmid: number): boolean {
    return this.rowsOf.has(vmid);
  }

  vmidsPresent(): Iterable<number> {
    return this.rowsOf.keys();
  }

  of(source: string, vmid: number): Archive[] {
    if (source !== this.source) return [];
    const rows = this.rowsOf.get(vmid);
    const out: Archive[] = [];
    if (rows) for (const i of rows) out.push(this.archive(i, vmid));
    return out;
  }

  *guests(): Iterable<GuestKey> {
    for (const vmid of this.rowsOf.keys()) yield { source: this.source, vmid };
  }

  private archive(i: number, vmid: number): Archive {
    const flags = this.flags.at(i);
    const notes = this.notes.at(i);
    return {
      source: this.source,
      volid: this.volids.at(i),
      storage: this.storage,
      ...(this.node !== undefined ? { node: this.node } : {}),
      vmid,
      ctimeMs: this.ctimes.at(i),
      size: this.sizes.at(i),
      format: this.formats[this.formatOf.at(i)]!,
      ...(notes ? { notes } : {}),
      protected: (flags & PROTECTED) !== 0,
      ...(flags & VERIFIED_OK
        ? { verification: "ok" as const }
        : flags & VERIFIED_FAILED
          ? { verification: "failed" as const }
          : {}),
    };
  }

  private intern(s: string): string {
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    this.interned.set(s, s);
    return s;
  }
}

const BLOCK_BITS = 13;
const BLOCK = 1 << BLOCK_BITS;

/** What a column block is: a typed array for numbers, a plain array for strings. */
interface Block<T> {
  readonly length: number;
  [i: number]: T;
  slice(start: number, end: number): Block<T>;
}

/**
 * An append-only column in blocks of 8,192 values. One growing array would be copied at each
 * doubling and live in V8's large-object space, where every rebuilt 200,000-row listing left
 * twice its size as garbage until the next full collection. Numbers go in typed arrays (outside
 * V8's heap, never boxed). The last block grows by doubling and is trimmed by pack().
 */
class Column<T> {
  private readonly blocks: Block<T>[] = [];
  private tail: Block<T>;
  length = 0;
  constructor(private readonly make: (n: number) => Block<T>) {
    this.tail = make(16);
  }
  push(v: T): void {
    const at = this.length & (BLOCK - 1);
    if (at === 0 && this.length > 0) {
      this.blocks.push(this.tail);
      this.tail = this.make(16);
    }
    if (at === this.tail.length) {
      const grown = this.make(Math.min(BLOCK, this.tail.length * 2));
      for (let k = 0; k < at; k++) grown[k] = this.tail[k]!;
      this.tail = grown;
    }
    this.tail[at] = v;
    this.length++;
  }
  at(i: number): T {
    const b = i >> BLOCK_BITS;
    return (b < this.blocks.length ? this.blocks[b]! : this.tail)[i & (BLOCK - 1)]!;
  }
  /** Trims the last block to what is used. */
  pack(): void {
    const used = this.length - this.blocks.length * BLOCK;
    if (used < this.tail.length) this.tail = this.tail.slice(0, used);
  }
}
