import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPORT_BEGIN as B, REPORT_END as E, checkReportFile, spliceReport, updateReportFile } from "./update-file.js";

const REPORT = "# Backup strategy — home\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";

/** The page's bytes before the begin marker's end and from the end marker on: what must not change. */
const outside = (page: string) => [page.slice(0, page.indexOf(B) + B.length), page.slice(page.indexOf(E))];

describe("spliceReport", () => {
  it.each([
    ["LF, text around", `# My lab\n\nIntro.\n${B}\n${E}\n\n## Owner's notes\n`],
    ["CRLF", `# My lab\r\n${B}\r\nold\r\n${E}\r\nnotes\r\n`],
    ["old report replaced, no newline at the end", `${B}\nan older report\nwith lines\n${E}`],
    ["markers on one line", `before ${B}${E} after`],
    ["byte order mark and other scripts", `\uFEFFÜbersicht — 備份\n${B}\n${E}\n🙂\n`],
  ])("%s: the report goes between the markers, everything else stays byte for byte", (_, page) => {
    const s = spliceReport(page, REPORT);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(outside(s.text)).toEqual(outside(page));
    const crlf = page.includes(`${B}\r\n`);
    const eol = crlf ? "\r\n" : "\n";
    expect(s.text).toContain(`${B}${eol}${REPORT.trimEnd().split("\n").join(eol)}${eol}${E}`);
    if (crlf) expect(s.text.replace(/\r\n/g, "")).not.toContain("\n");
    // The lines it names hold the report's first and last line.
    const lines = s.text.split(eol);
    expect(lines[s.lines.begin - 1]).toBe("# Backup strategy — home");
    expect(lines[s.lines.end - 1]).toBe("| 1 | 2 |");
    // Updating again with the same report changes nothing.
    expect(spliceReport(s.text, REPORT)).toEqual(s);
  });

  it.each([
    ["no markers", "# My lab\n", "it has no backup2mqtt markers: put the two lines"],
    ["begin twice", `${B}\n${E}\n${B}\n`, `${B} is there more than once (lines 1, 3); keep one pair`],
    ["end twice", `${B}\n${E}\nx\n${E}\n`, `${E} is there more than once (lines 2, 4); keep one pair`],
    ["end without begin", `a\n${E}\n`, `it has ${E} (line 2) but no ${B}`],
    ["begin without end", `a\nb\n${B}\n`, `${B} (line 3) has no ${E} after it`],
    ["end before begin", `${E}\n${B}\n`, `${E} (line 1) comes before ${B} (line 2)`],
  ])("%s: refused, saying where", (_, page, error) => {
    const s = spliceReport(page, REPORT);
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.error).toContain(error);
  });

  it("on any text around the markers, nothing outside them changes", () => {
    const text = fc.string({ unit: "binary", maxLength: 200 }).filter((t) => !t.includes(B) && !t.includes(E));
    fc.assert(
      fc.property(text, text, text, fc.string({ maxLength: 300 }), (before, inside, after, report) => {
        const page = `${before}${B}${inside}${E}${after}`;
        const s = spliceReport(page, report);
        expect(s.ok).toBe(true);
        if (s.ok) expect(outside(s.text)).toEqual(outside(page));
      }),
      { numRuns: 500, seed: 17 },
    );
  });
});

describe("updateReportFile", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-update-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("rewrites only between the markers, keeps the mode, writes through a symlink, leaves no temporary file", () => {
    const real = path.join(dir, "ssot.md");
    const page = `# Lab SSOT\n\nWritten by hand.\n\n${B}\nold\n${E}\n\nMore by hand.\n`;
    fs.writeFileSync(real, page, { mode: 0o640 });
    fs.chmodSync(real, 0o640);
    const link = path.join(dir, "link.md");
    fs.symlinkSync(real, link);
    const s = updateReportFile(link, REPORT);
    expect(s.ok).toBe(true);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    const now = fs.readFileSync(real);
    const [head, tail] = outside(page);
    expect(now.subarray(0, Buffer.byteLength(head!)).equals(Buffer.from(head!))).toBe(true);
    expect(now.subarray(now.length - Buffer.byteLength(tail!)).equals(Buffer.from(tail!))).toBe(true);
    expect(now.toString()).toContain(REPORT.trimEnd());
    expect(now.toString()).not.toContain("\nold\n");
    expect(fs.statSync(real).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(dir).sort()).toEqual(["link.md", "ssot.md"]);
  });

  it("refuses a page it would damage and leaves it as it was", () => {
    const latin1 = path.join(dir, "latin1.md");
    const bytes = Buffer.concat([Buffer.from(`${B}\n`), Buffer.from([0x47, 0xfc, 0x6e]), Buffer.from(`\n${E}\n`)]);
    fs.writeFileSync(latin1, bytes);
    const s = updateReportFile(latin1, REPORT);
    expect(s).toEqual({ ok: false, error: `${latin1} is not UTF-8 text; it is left as it is` });
    expect(fs.readFileSync(latin1).equals(bytes)).toBe(true);

    const plain = path.join(dir, "plain.md");
    fs.writeFileSync(plain, "# no markers\n");
    expect(updateReportFile(plain, REPORT).ok).toBe(false);
    expect(fs.readFileSync(plain, "utf8")).toBe("# no markers\n");
  });

  it("checkReportFile names a missing file, a folder and a page without markers", () => {
    expect(checkReportFile(path.join(dir, "none.md"))).toBe(
      `${path.join(dir, "none.md")} does not exist: create it with the lines ${B} and ${E} where the report should go`,
    );
    expect(checkReportFile(dir)).toBe(`${dir} is a folder, not a Markdown file`);
    fs.writeFileSync(path.join(dir, "p.md"), "text\n");
    expect(checkReportFile(path.join(dir, "p.md"))).toMatch(/p\.md: it has no backup2mqtt markers/);
    fs.writeFileSync(path.join(dir, "ok.md"), `${B}\n${E}\n`);
    expect(checkReportFile(path.join(dir, "ok.md"))).toBeUndefined();
  });
});
