/**
 * `backup2mqtt report --update FILE`: the strategy report kept current inside a Markdown page the
 * owner writes (a lab's single-source-of-truth or governance page). Only the text between the two
 * marker lines is ours; every byte before the begin marker and after the end marker — the markers
 * included — stays as it was. HTML comments do not show when Markdown is rendered, so the markers
 * are invisible on the page.
 */
import fs from "node:fs";
import path from "node:path";

export const REPORT_BEGIN = "<!-- backup2mqtt:begin -->";
export const REPORT_END = "<!-- backup2mqtt:end -->";

export type Splice = { ok: true; text: string; lines: { begin: number; end: number } } | { ok: false; error: string };

const lineOf = (text: string, index: number) => text.slice(0, index).split("\n").length;
const positions = (text: string, marker: string) => {
  const at: number[] = [];
  for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + marker.length)) at.push(i);
  return at;
};
const onLines = (text: string, at: number[]) =>
  at.length === 1 ? `line ${lineOf(text, at[0]!)}` : `lines ${at.map((i) => lineOf(text, i)).join(", ")}`;

/**
 * The page with `report` between its markers, or why it cannot be done. The report's line breaks
 * follow the page's (CRLF when the begin marker's line ends so), and it sits on lines of its own.
 */
export function spliceReport(page: string, report: string): Splice {
  const begins = positions(page, REPORT_BEGIN);
  const ends = positions(page, REPORT_END);
  const howTo = `put the two lines ${REPORT_BEGIN} and ${REPORT_END} where the report should go`;
  if (!begins.length && !ends.length) return { ok: false, error: `it has no backup2mqtt markers: ${howTo}` };
  if (begins.length > 1)
    return { ok: false, error: `${REPORT_BEGIN} is there more than once (${onLines(page, begins)}); keep one pair` };
  if (ends.length > 1)
    return { ok: false, error: `${REPORT_END} is there more than once (${onLines(page, ends)}); keep one pair` };
  if (!begins.length)
    return { ok: false, error: `it has ${REPORT_END} (${onLines(page, ends)}) but no ${REPORT_BEGIN}: ${howTo}` };
  if (!ends.length)
    return { ok: false, error: `${REPORT_BEGIN} (${onLines(page, begins)}) has no ${REPORT_END} after it: ${howTo}` };
  const begin = begins[0]!;
  const end = ends[0]!;
  if (end < begin)
    return {
      ok: false,
      error: `${REPORT_END} (${onLines(page, ends)}) comes before ${REPORT_BEGIN} (${onLines(page, begins)})`,
    };
  const afterBegin = begin + REPORT_BEGIN.length;
  const eol = page.startsWith("\r\n", afterBegin) ? "\r\n" : "\n";
  const body = report
    .replace(/\r?\n$/, "")
    .split(/\r?\n/)
    .join(eol);
  const text = `${page.slice(0, afterBegin)}${eol}${body}${eol}${page.slice(end)}`;
  const first = lineOf(text, afterBegin) + 1;
  return { ok: true, text, lines: { begin: first, end: first + body.split(eol).length - 1 } };
}

/**
 * Checks `file` can take the report: it exists, is UTF-8 text, has one pair of markers. Called
 * before the sources are read, so a wrong path fails at once; the same checks run again when writing.
 */
export function checkReportFile(file: string): string | undefined {
  const read = readPage(file);
  if (!read.ok) return read.error;
  const s = spliceReport(read.text, "");
  return s.ok ? undefined : `${file}: ${s.error}`;
}

/**
 * Writes the report into `file` between its markers. The new text goes to a temporary file in the
 * same folder, is flushed, and replaces the page in one rename, so a power cut leaves either the old
 * page or the new one; a symlinked page is written where the link points, with the page's mode.
 */
export function updateReportFile(file: string, report: string): Splice {
  const read = readPage(file);
  if (!read.ok) return read;
  const s = spliceReport(read.text, report);
  if (!s.ok) return { ok: false, error: `${file}: ${s.error}` };
  if (s.text === read.text) return s;
  const target = fs.realpathSync(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.backup2mqtt-${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, "w", fs.statSync(target).mode & 0o7777);
    try {
      fs.writeFileSync(fd, s.text, "utf8");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    return { ok: false, error: `${file} could not be written (${(e as Error).message}); it is left as it was` };
  }
  return s;
}

function readPage(file: string): { ok: true; text: string } | { ok: false; error: string } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      return {
        ok: false,
        error: `${file} does not exist: create it with the lines ${REPORT_BEGIN} and ${REPORT_END} where the report should go`,
      };
    if (code === "EISDIR") return { ok: false, error: `${file} is a folder, not a Markdown file` };
    return { ok: false, error: `${file} could not be read (${(e as Error).message})` };
  }
  const text = bytes.toString("utf8");
  // Anything that does not survive decoding would be changed by rewriting the page: refuse instead.
  if (!Buffer.from(text, "utf8").equals(bytes))
    return { ok: false, error: `${file} is not UTF-8 text; it is left as it is` };
  return { ok: true, text };
}
