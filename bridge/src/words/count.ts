/** "1 task", "3 tasks", "0 tasks": a count with its noun (English texts of the CLI, logs and report). */
export function count(n: number, one: string, other = `${one}s`): string {
  return `${n} ${n === 1 ? one : other}`;
}
