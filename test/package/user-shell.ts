/** Running commands as a user's shell would, for the package tests. */
import { spawn, spawnSync } from "node:child_process";
import { userEnv as makeUserEnv } from "../support/user-env.js";

/** The environment every command here runs in (see userEnv). */
export const userEnv: NodeJS.ProcessEnv = makeUserEnv();

export interface Ran {
  code: number;
  /** stdout and stderr together (npm warns on stderr). */
  out: string;
}

/** Runs a command to its end. */
export function sh(cmd: string, args: string[], cwd: string): Ran {
  const r = spawnSync(cmd, args, { cwd, env: userEnv, encoding: "utf8", maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** The same without blocking this process's event loop (the lab and broker of a test live in it). */
export function shAsync(cmd: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: userEnv });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    // "close", not "exit": the output streams may still hold data when the process has exited.
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Runs a command that must succeed and returns its output. */
export function run(cmd: string, args: string[], cwd: string): string {
  const r = sh(cmd, args, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.out}`);
  return r.out;
}

/** The lines of npm's output that warn. */
export const warnings = (out: string): string[] => out.split("\n").filter((l) => /\bwarn\b/i.test(l));
