import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allArchives, ArchiveColumns, archiveSet, unionOf } from "./archive-set.js";
import type { Archive } from "./evidence.js";

const arb: fc.Arbitrary<Archive> = fc
  .record(
    {
      source: fc.constantFrom("pve", "lab2"),
      volid: fc.string({ minLength: 1 }),
      storage: fc.constantFrom("local", "nas", "pbs"),
      node: fc.constantFrom("n1", "n2"),
      vmid: fc.integer({ min: 100, max: 105 }),
      ctimeMs: fc.integer({ min: 0, max: 2_000_000_000 }).map((s) => s * 1000),
      size: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(34_359_738_935)),
      format: fc.constantFrom("vma.zst", "tar.zst", "pbs-vm"),
      notes: fc.constantFrom("web", "db", "Grüße"),
      protected: fc.boolean(),
      verification: fc.constantFrom("ok" as const, "failed" as const),
    },
    { requiredKeys: ["source", "volid", "storage", "vmid", "ctimeMs", "size", "format", "protected"] },
  )
  .map((a) => ({ ...a }));

/** The columns a Proxmox source would build: one per (source, storage, node) listing. */
function asColumns(list: Archive[]) {
  const byListing = new Map<string, ArchiveColumns>();
  for (const a of list) {
    const k = `${a.source}/${a.storage}/${a.node ?? ""}`;
    let c = byListing.get(k);
    if (!c) {
      c = new ArchiveColumns(a.source, a.storage, a.node);
      byListing.set(k, c);
    }
    const { source: _s, storage: _st, node: _n, ...row } = a;
    c.add(row);
  }
  return unionOf([...byListing.values()].map((c) => c.done()));
}

const sorted = (list: Archive[]) =>
  [...list].sort(
    (a, b) =>
      `${a.source}${a.storage}${a.node}${a.volid}`.localeCompare(`${b.source}${b.storage}${b.node}${b.volid}`) ||
      a.ctimeMs - b.ctimeMs,
  );

describe("ArchiveSet", () => {
  it("columns give back exactly the archives that went in, per guest, with no extra keys", () => {
    const a: Archive = {
      source: "pve",
      volid: "nas:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst",
      storage: "nas",
      vmid: 100,
      ctimeMs: 1_764_032_400_000,
      size: 34_359_738_935,
      format: "vma.zst",
      notes: "web",
      protected: true,
      verification: "failed",
    };
    const b: Archive = {
      source: "pve",
      volid: "local:backup/vzdump-lxc-101-x.tar.zst",
      storage: "local",
      node: "n1",
      vmid: 101,
      ctimeMs: 1,
      size: 0,
      format: "tar.zst",
      protected: false,
    };
    const set = asColumns([a, b]);
    expect(set.size).toBe(2);
    expect(set.of("pve", 100)).toStrictEqual([a]);
    expect(set.of("pve", 101)).toStrictEqual([b]);
    expect(set.of("other", 100)).toEqual([]);
    expect([...set.guests()]).toEqual([
      { source: "pve", vmid: 100 },
      { source: "pve", vmid: 101 },
    ]);
  });

  it("property: columns + union read the same as a plain list, guest by guest", () => {
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 60 }), (list) => {
        const plain = archiveSet(list);
        const cols = asColumns(list);
        expect(cols.size).toBe(list.length);
        const guests = (s: typeof plain) => [...s.guests()].map((g) => `${g.source}/${g.vmid}`).sort();
        expect(guests(cols)).toEqual(guests(plain));
        for (const g of plain.guests())
          expect(sorted(cols.of(g.source, g.vmid))).toStrictEqual(sorted(plain.of(g.source, g.vmid)));
        expect(sorted(allArchives(cols))).toStrictEqual(sorted(list));
      }),
      { numRuns: 300 },
    );
  });

  it("holds listings larger than one column block (8,192 rows) intact", () => {
    const c = new ArchiveColumns("pve", "nas", undefined);
    for (let i = 0; i < 20_000; i++)
      c.add({
        volid: `nas:backup/${i}`,
        vmid: 100 + (i % 7),
        ctimeMs: i * 1000,
        size: 2 ** 35 + i,
        format: "vma.zst",
        protected: i % 3 === 0,
      });
    c.done();
    expect(c.size).toBe(20_000);
    const rows = c.of("pve", 103);
    expect(rows.length).toBe(Math.ceil((20_000 - 3) / 7));
    expect(
      rows.every(
        (a) =>
          Number(a.volid.slice(11)) % 7 === 3 &&
          a.ctimeMs === Number(a.volid.slice(11)) * 1000 &&
          a.size === 2 ** 35 + Number(a.volid.slice(11)),
      ),
    ).toBe(true);
  });

  it("sameVolid walks a guest's rows in order (a rebuilt listing shares the strings it already had)", () => {
    const c = new ArchiveColumns("pve", "nas", undefined);
    for (const v of ["a1", "a2", "a3", "a4", "a5"])
      c.add({ volid: v, vmid: 100, ctimeMs: 0, size: 0, format: "vma", protected: false });
    c.done();
    expect(c.sameVolid(100, "a1", 0)).toEqual({ volid: "a1", next: 1 });
    expect(c.sameVolid(100, "a3", 1)).toEqual({ volid: "a3", next: 3 }); // a2 pruned: found one further on
    expect(c.sameVolid(100, "new", 3)).toEqual({ volid: "new", next: 3 }); // a new archive: cursor stays
    expect(c.sameVolid(100, "a1", 3)).toEqual({ volid: "a1", next: 3 }); // out of the window: not searched
    expect(c.sameVolid(101, "a1", 0)).toEqual({ volid: "a1", next: 0 });
  });

  it("of() hands out new objects: a caller changing one does not change the evidence", () => {
    const set = archiveSet([
      { source: "pve", volid: "v", storage: "nas", vmid: 100, ctimeMs: 1, size: 1, format: "vma", protected: false },
    ]);
    set.of("pve", 100)[0]!.size = 99;
    expect(set.of("pve", 100)[0]!.size).toBe(1);
  });
});
