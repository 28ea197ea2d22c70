import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forEachRow, NotARowListing } from "./rows.js";

/** The rows, with the text cut into chunks of `size` bytes (as a socket delivers it); null = declined. */
const rowsOf = (text: string, size = 7): unknown[] | null => {
  const buf = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let o = 0; o < buf.length; o += size) chunks.push(buf.subarray(o, o + size));
  const rows: unknown[] = [];
  try {
    const n = forEachRow(chunks, (row, i) => (rows[i] = row));
    expect(n).toBe(rows.length);
    return rows;
  } catch (e) {
    if (e instanceof NotARowListing) return null;
    throw e;
  }
};

describe("forEachRow", () => {
  it.each([
    ['{"data":[]}', []],
    [' { "data" : [ ] } \n', []],
    ['{"data":[{"volid":"a","ctime":1}]}', [{ volid: "a", ctime: 1 }]],
    [
      '{"data":[{"a":"}"},{"b":"\\"}{"},{"c":{"d":[1,{"e":"]"}]}}]}',
      [{ a: "}" }, { b: '"}{' }, { c: { d: [1, { e: "]" }] } }],
    ],
    ['{"data":[{"s":"\\\\"},{"t":"x\\\\\\"y"}]}', [{ s: "\\" }, { t: 'x\\"y' }]],
    ['{"data":[{"notes":"Grüße ✓"}]}', [{ notes: "Grüße ✓" }]],
  ])("splits %s like JSON.parse", (text, rows) => {
    for (const size of [1, 2, 3, 5, 64, 1 << 16]) expect(rowsOf(text, size)).toEqual(rows);
  });

  it.each([
    ['{"data":[1,2]}', "scalar rows"],
    ['{"total":2,"data":[{}]}', "another key first"],
    ['{"data":[{}],"total":2}', "another key after"],
    ['{"data":[{}]} x', "trailing bytes"],
    ['{"data":[{}', "truncated"],
    ['{"data":[{"a":"b}', "unterminated string"],
    ['{"data":[{}{}]}', "missing comma"],
    ['{"data":[{},]}', "trailing comma"],
    ['[{"a":1}]', "no frame"],
    ["", "empty"],
  ])("declines %s (%s): the caller falls back to a full parse", (text) => {
    expect(rowsOf(text)).toBeNull();
  });

  it("a row that is not valid JSON inside a valid frame throws on parse", () => {
    expect(() => rowsOf('{"data":[{"a":tru}]}')).toThrow(SyntaxError);
  });

  it("property: for any list of JSON objects, the rows are exactly JSON.parse's, whatever the spacing", () => {
    const row = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 20 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 300 }),
        (rows, indent, size) => {
          const text = JSON.stringify({ data: rows }, null, indent || undefined);
          expect(rowsOf(text, size)).toEqual(JSON.parse(text).data);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("property: on any text, either declines or agrees with JSON.parse (never a different answer)", () => {
    const near = fc.oneof(
      fc.string(),
      fc.array(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }), { maxLength: 4 }).chain((rows) => {
        const text = JSON.stringify({ data: rows });
        return fc
          .tuple(fc.nat(text.length), fc.nat(text.length), fc.constantFrom("", "}", "]", '"', "\\", ",", "{"))
          .map(([a, b, ins]) => text.slice(0, a) + ins + text.slice(Math.min(a, b)));
      }),
    );
    fc.assert(
      fc.property(near, fc.integer({ min: 1, max: 50 }), (text, size) => {
        let full: unknown;
        try {
          full = JSON.parse(text);
        } catch {
          full = undefined;
        }
        let split: unknown[] | null;
        try {
          split = rowsOf(text, size);
        } catch {
          split = null; // a malformed row: the listing is reported as not JSON, as the full parse does
          expect(full).toBeUndefined();
        }
        if (split) expect(split).toEqual((full as { data: unknown[] }).data);
      }),
      { numRuns: 3000 },
    );
  });
});
