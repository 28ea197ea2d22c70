/**
 * Text building blocks of the strategy report: Markdown table cells, code spans and tables,
 * yes/no, and byte sizes (the status page shows sizes the same way).
 */

/** Table cell: no pipes, no line breaks, no HTML. */
export const cell = (v: unknown): string =>
  String(v ?? "")
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r?\n/g, " ");
export const code = (v: string) => `\`${v.replace(/`/g, "'")}\``;
const row = (cells: unknown[]) => `| ${cells.map(cell).join(" | ")} |`;
export const table = (head: string[], rows: unknown[][]) =>
  [row(head), `|${head.map(() => "---").join("|")}|`, ...rows.map(row)].join("\n");
export const yesNo = (b: boolean) => (b ? "yes" : "no");

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
