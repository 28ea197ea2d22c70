/**
 * MEASURES TAKEN FOR THE BENCHMARK'S MEMORY TARGET, in one place, each with the figure that
 * justifies it. `npm run bench` (50 nodes, 2,500 guests, 250,000 archives on 52 backup storages;
 * target: peak RSS of the bridge process < 250 MB) on a 2-core VM with Node 20 gives 232–247 MB
 * with the measures below; without one of them it misses the target as stated with it.
 * Remove a measure when the bench meets its targets without it, and keep its figure up to date
 * when you change it.
 *
 * Tried and removed, because the bench met its targets without them:
 * - a hand-written copy of contentItemSchema checking each content row instead of zod: zod costs
 *   about 40 ms of CPU per 250,000 rows parsed (the hand copy 5 ms), and a steady refresh parses
 *   no listing (an unchanged one is recognised by its digest): refresh CPU 440–630 ms with the
 *   hand copy, 450–690 ms with zod (target < 1 s), discovery 3.4–5.3 s either way (< 15 s);
 *
 * How the code is built to keep memory low, for the record (not switches): rows.ts splits a
 * listing into rows as it arrives instead of one JSON.parse of the whole answer;
 * PveHttp.getRowsIfChanged does not parse an answer whose digest did not change;
 * archive-set.ts keeps listings as columns, not an object per archive; ssh/client.ts loads ssh2
 * only when SSH is configured.
 */
import type { ArchiveColumns } from "../../archive-set.js";
import { collectGarbage, collectGarbageIfGrown } from "../../util/gc.js";

// --- forced garbage collection after a big content read ---------------------------------------

/**
 * A listing this big, once replaced by its new version (a backup ended on that storage), leaves
 * tens of MB of columns in V8's old generation: a full collection follows at once.
 *
 * Bench: peak RSS 232–247 MB without it (8 runs), 255 MB in one further run; 228–236 MB with it
 * (5 runs). Kept for the margin under the 250 MB target.
 */
const BIG_LISTING_ROWS = 50_000;

/** A content read of this many rows (changed or not) ends with a full collection when the process grew. */
const BIG_READ_ROWS = 100_000;
const GROWTH_SLACK_BYTES = 32 * 1024 * 1024;

/**
 * After a content read that covered BIG_READ_ROWS rows or more: a full collection when the
 * process grew by 32 MiB since the last one. The buffers and strings of that many rows would
 * otherwise wait for V8's own timing, and the process would hold them. Only large labs read this
 * much; a home lab never gets here.
 *
 * Bench: peak RSS 311 and 316 MB without any forced collection, 268 and 278 MB with only the
 * former collection after a replaced big listing, 232–247 MB with this one. It costs refresh CPU:
 * 260–270 ms without it, 450–690 ms with it (target < 1 s).
 */
export function collectAfterContentRead(read: { rowsRead: number; rowsReplaced: number }): void {
  if (read.rowsReplaced >= BIG_LISTING_ROWS) collectGarbage();
  else if (read.rowsRead >= BIG_READ_ROWS) collectGarbageIfGrown(GROWTH_SLACK_BYTES);
}

// --- volid strings shared with the listing being replaced --------------------------------------

/**
 * A rebuilt listing takes each volid string from the listing it replaces when that one holds the
 * same volid (ArchiveColumns.sameVolid; listings come in the same order each time), instead of
 * holding a second copy of it. Returns the string to keep for each row as it is added.
 *
 * Bench: peak RSS 249 and 254 MB without it (the listings rebuilt after the three "Back up now"
 * presses hold their volids twice until the old listing is collected).
 */
export function sharedVolids(before: ArchiveColumns | undefined): (vmid: number, volid: string) => string {
  if (!before) return (_vmid, volid) => volid;
  const cursors = new Map<number, number>();
  return (vmid, volid) => {
    const same = before.sameVolid(vmid, volid, cursors.get(vmid) ?? 0);
    cursors.set(vmid, same.next);
    return same.volid;
  };
}

// --- answers not kept while their digest is computed ----------------------------------------------

/**
 * PveHttp.getRowsIfChanged keeps at most this many bytes of a listing while it hashes it to see
 * whether it changed; a bigger changed listing is asked for once more and parsed as it streams in.
 *
 * Bench: peak RSS 254 MB when every answer is kept until its digest is known (the peak comes
 * when the listings changed by the three "Back up now" presses are held whole, then parsed).
 */
export const KEEP_WHILE_HASHING_BYTES = 1 << 20;
