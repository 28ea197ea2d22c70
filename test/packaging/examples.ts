/**
 * The example configs of packaging/, loaded with the bridge's own config loader. Their secrets are
 * files where the container (/run/secrets/<name>) or systemd ($CREDENTIALS_DIRECTORY/<name>) puts
 * them; here each such file is made in a temporary folder with a dummy value, so the loader reads
 * real files the way the bridge does.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../../bridge/src/config/load.js";

export const repo = path.resolve(import.meta.dirname, "../..");

/** The names of the secret files the config reads from `dir` (keys ending in _file). */
export function secretFilesIn(text: string, dir: string): string[] {
  const re = new RegExp(`^\\s*\\w+_file:\\s*["']?${dir.replace(/[$.{}]/g, "\\$&")}/([\\w.-]+)`, "gm");
  return [...text.matchAll(re)].map((m) => m[1]!);
}

/**
 * Loads a config whose secrets are under `dir` (as written in the file: /run/secrets or
 * ${CREDENTIALS_DIRECTORY}): the text gets a temporary folder instead when `dir` is a path;
 * an ${ENV} folder is set in the loader's environment.
 */
export function loadWithSecrets(file: string, dir: string): { config: Config; secrets: string[] } {
  const text = fs.readFileSync(file, "utf8");
  const secrets = secretFilesIn(text, dir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-packaging-"));
  try {
    for (const s of secrets) fs.writeFileSync(path.join(tmp, s), `dummy-${s}-0123456789abcdef\n`);
    const env = /^\$\{(\w+)\}$/.exec(dir);
    if (env) return { config: loadConfig(file, { [env[1]!]: tmp }), secrets };
    // The examples name no relative paths, so the copy may live in the temporary folder.
    const copy = path.join(tmp, path.basename(file));
    fs.writeFileSync(copy, text.split(`${dir}/`).join(`${tmp}/`));
    return { config: loadConfig(copy, {}), secrets };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
