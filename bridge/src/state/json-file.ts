import fs from "node:fs";
import path from "node:path";

/**
 * A small JSON document on disk, replaced atomically (write to a temp file, fsync, rename),
 * so a crash never leaves half a file. A read-only or full disk is reported, never thrown.
 */
export class JsonFile<T> {
  constructor(
    private readonly file: string,
    private readonly fallback: T,
  ) {}

  read(): T {
    try {
      return JSON.parse(fs.readFileSync(this.file, "utf8")) as T;
    } catch {
      return structuredClone(this.fallback);
    }
  }

  /** Returns an error message when the write failed. */
  write(value: T): string | undefined {
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const fd = fs.openSync(tmp, "w", 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(value, null, 2));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      return undefined;
    } catch (e) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean */
      }
      return (e as Error).message;
    }
  }
}
