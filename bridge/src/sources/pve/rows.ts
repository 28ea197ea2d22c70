/**
 * Rows of a big PVE listing (`{"data":[{…},{…},…]}`) one at a time, straight from the answer's
 * chunks as they came off the socket. JSON.parse of the whole answer would hold the joined bytes,
 * the decoded text and every row object at once (a 36 MB storage listing of 200,000 archives
 * cost ~150 MB at its peak); here only one row is alive at a time, and no buffer larger than a
 * socket chunk is ever allocated (large ones raise glibc's mmap threshold and then stay in the
 * process's heap). Each row is still parsed by JSON.parse, so its values are exactly what the
 * full parse would give; only the outer frame is scanned by hand. A streaming JSON library
 * (@streamparser/json) measured 5× slower than this on such a listing.
 *
 * Anything but that exact frame (another top-level key, a scalar element, trailing bytes) throws
 * {@link NotARowListing}; the caller then falls back to a full JSON.parse, which reports errors.
 */

export class NotARowListing extends Error {}

enum S {
  Open, // expecting {
  Key, // inside "data"
  Colon,
  Bracket, // expecting [
  First, // expecting { or ]
  Row, // inside a row object
  After, // expecting , or ]
  Next, // expecting {
  Close, // expecting }
  End, // only whitespace may follow
}

const KEY = Buffer.from('"data"');
const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Calls `onRow` with each row (as JSON.parse gives it) and returns how many there were. Throws
 * NotARowListing when the frame is not `{"data":[objects]}`, SyntaxError when a row is not JSON.
 */
export function forEachRow(chunks: readonly Buffer[], onRow: (row: unknown, index: number) => void): number {
  const split = rowSplitter(onRow);
  for (const chunk of chunks) split.push(chunk);
  return split.end();
}

/**
 * forEachRow fed one chunk at a time as the answer arrives (nothing of it is kept): push() calls
 * onRow for every row completed so far, end() returns the count. Throws as forEachRow does.
 */
export function rowSplitter(onRow: (row: unknown, index: number) => void): {
  push(chunk: Buffer): void;
  end(): number;
} {
  let state = S.Open as S;
  let keyAt = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pieces: Buffer[] = [];
  let count = 0;
  const emit = (last: Buffer) => {
    const text = pieces.length ? Buffer.concat([...pieces, last]).toString("utf8") : last.toString("utf8");
    pieces = [];
    onRow(JSON.parse(text), count++);
  };
  const push = (chunk: Buffer) => {
    let rowStart = state === S.Row ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (state === S.Row) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          if (--depth === 0) {
            if (c !== 0x7d) throw new NotARowListing();
            emit(chunk.subarray(rowStart, i + 1));
            rowStart = -1;
            state = S.After;
          }
        }
        continue;
      }
      if (state === S.Key) {
        if (keyAt === 0 && isWs(c)) continue;
        if (c !== KEY[keyAt]) throw new NotARowListing();
        if (++keyAt === KEY.length) state = S.Colon;
        continue;
      }
      if (isWs(c)) continue;
      switch (state) {
        case S.Open:
          if (c !== 0x7b) throw new NotARowListing();
          state = S.Key;
          break;
        case S.Colon:
          if (c !== 0x3a) throw new NotARowListing();
          state = S.Bracket;
          break;
        case S.Bracket:
          if (c !== 0x5b) throw new NotARowListing();
          state = S.First;
          break;
        case S.First:
        case S.Next:
          if (c === 0x5d && state === S.First) state = S.Close;
          else if (c === 0x7b) {
            state = S.Row;
            depth = 1;
            rowStart = i;
          } else throw new NotARowListing();
          break;
        case S.After:
          if (c === 0x2c) state = S.Next;
          else if (c === 0x5d) state = S.Close;
          else throw new NotARowListing();
          break;
        case S.Close:
          if (c !== 0x7d) throw new NotARowListing();
          state = S.End;
          break;
        default:
          throw new NotARowListing();
      }
    }
    if (state === S.Row) pieces.push(chunk.subarray(rowStart));
  };
  return {
    push,
    end: () => {
      if (state !== S.End) throw new NotARowListing();
      return count;
    },
  };
}
