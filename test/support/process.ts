/**
 * Child processes that tests start (Mosquitto, Home Assistant): spawn them in their own process
 * group, tied to this Node process (they die with it, even on SIGKILL, where util-linux `setpriv`
 * exists), stop them with SIGTERM then SIGKILL, and clean up their temp dirs on exit — also dirs
 * left behind by an earlier run that was SIGKILLed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";

// ---------------------------------------------------------------------------------------------
// small utilities

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not get a free port"));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  description?: string;
}

/**
 * Polls `fn` until it returns something other than undefined/null/false. Exceptions count as "not
 * yet" (the last one is reported on timeout), except errors with `fatal: true`, which end the wait.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as T;
    } catch (err) {
      if (err instanceof Error && (err as Error & { fatal?: boolean }).fatal) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.description ?? "condition"}${why}`);
    }
    await sleep(intervalMs);
  }
}

export async function tcpOpen(host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Keeps the last `max` characters written to it (child process output for error messages). */
export class Tail {
  private buf = "";
  constructor(private readonly max = 64_000) {}
  push(chunk: Buffer | string): void {
    this.buf += chunk.toString();
    if (this.buf.length > this.max) this.buf = this.buf.slice(-this.max);
  }
  text(): string {
    return this.buf;
  }
}

export async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  killGroup(child, "SIGTERM");
  if (!(await waitExit(child, graceMs))) {
    killGroup(child, "SIGKILL");
    await waitExit(child, 5_000);
  }
}

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

/**
 * Spawns `cmd` in its own process group; where util-linux `setpriv` exists the child also gets
 * SIGKILL when this Node process dies (even by SIGKILL, when no exit handler can run).
 */
export function spawnOwned(cmd: string, args: string[]): ChildProcess {
  const [file, argv] = SETPRIV ? [SETPRIV, ["--pdeathsig", "KILL", "--", cmd, ...args]] : [cmd, args];
  return spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], detached: true });
}

const OWNER_FILE = ".b2m-owner-pid";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Marks `dir` as owned by this process, so a later run can remove it if we die without cleanup. */
export function claimDir(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
}

/** Removes `<parent>/<prefix>*` dirs whose owning process is gone (left behind by a SIGKILL). */
export function sweepStaleDirs(parent: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(parent, name);
    try {
      const pid = Number(readFileSync(join(dir, OWNER_FILE), "utf8"));
      if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) rmSync(dir, { recursive: true, force: true });
    } catch {
      /* no owner file: not ours, or still being created */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// process-exit cleanup for everything started here

type Cleanup = () => void; // must be synchronous (runs in process 'exit')
const cleanups = new Set<Cleanup>();
let exitHooked = false;
export function registerCleanup(fn: Cleanup): () => void {
  if (!exitHooked) {
    exitHooked = true;
    const runAll = () => {
      for (const c of [...cleanups]) {
        try {
          c();
        } catch {
          /* best effort */
        }
      }
      cleanups.clear();
    };
    process.once("exit", runAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(sig, () => {
        runAll();
        // Let whoever else listens decide; with no other listener, die of the signal as usual.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}
