/**
 * A reader for the Dockerfile and .dockerignore at the repository root, and the rules the image
 * must keep, as plain functions over text so that the tests can feed them broken variants. There is
 * no Docker engine where the tests run: these rules stand in for what `docker build` would refuse
 * and for what it would silently get wrong (an unpinned base, a root user, a missing file).
 * The syntax followed is https://docs.docker.com/reference/dockerfile/ and, for .dockerignore,
 * https://docs.docker.com/build/concepts/context/#dockerignore-files.
 */
import fs from "node:fs";
import path from "node:path";

export interface Instruction {
  /** Upper case, e.g. COPY. */
  keyword: string;
  /** --name=value options before the arguments (COPY --from=build, HEALTHCHECK --interval=30s). */
  flags: Record<string, string>;
  /** The arguments: the JSON array of the exec form, else split on white space. */
  args: string[];
  /** The arguments as written (after the flags), continuation lines joined. */
  raw: string;
  line: number;
}

export interface Stage {
  /** The base image with ARG defaults substituted, e.g. node:24.21.0-bookworm-slim. */
  image: string;
  name?: string;
  instructions: Instruction[];
  line: number;
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i + 1;
    let joined = first;
    // A line ending in a backslash continues; comment lines inside a continuation are dropped.
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      joined = joined.replace(/\\\s*$/, " ");
      i++;
      if (/^\s*#/.test(lines[i]!)) {
        joined += "\\";
        continue;
      }
      joined += lines[i]!;
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (!m) throw new Error(`line ${start}: not an instruction: ${first}`);
    let rest = m[2]!.trim();
    const flags: Record<string, string> = {};
    for (let f = /^--([a-z-]+)=(\S+)\s*/.exec(rest); f; f = /^--([a-z-]+)=(\S+)\s*/.exec(rest)) {
      flags[f[1]!] = f[2]!;
      rest = rest.slice(f[0].length);
    }
    const keyword = m[1]!.toUpperCase();
    // HEALTHCHECK CMD takes a command of its own, in the exec or the shell form.
    const cmd = keyword === "HEALTHCHECK" ? /^CMD\s+(.*)$/s.exec(rest) : null;
    const args = cmd ? ["CMD", ...splitArgs(cmd[1]!)] : splitArgs(rest);
    out.push({ keyword, flags, args, raw: rest, line: start });
  }
  return out;
}

function splitArgs(rest: string): string[] {
  if (rest.startsWith("[")) {
    try {
      const a = JSON.parse(rest) as unknown;
      if (Array.isArray(a) && a.every((x) => typeof x === "string")) return a;
    } catch {
      // not JSON: the shell form, as Docker reads it too
    }
  }
  return rest.split(/\s+/).filter(Boolean);
}

const substitute = (s: string, vars: Record<string, string>) =>
  s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, b) => vars[a ?? b] ?? m);

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === "FROM") {
      // FROM [--platform=…] image [AS name]
      const [image = "", as, name] = ins.args;
      stages.push({
        image: substitute(image, globalArgs),
        ...(as?.toUpperCase() === "AS" && name ? { name } : {}),
        instructions: [],
        line: ins.line,
      });
    } else if (!stages.length) {
      if (ins.keyword !== "ARG") throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [k, v = ""] = ins.raw.split("=", 2);
      globalArgs[k!.trim()] = v.trim();
    } else stages.at(-1)!.instructions.push(ins);
  }
  return { globalArgs, stages };
}

/** The patterns of a .dockerignore, in order; a leading "!" re-includes what earlier ones excluded. */
export function dockerignore(text: string): { pattern: RegExp; negate: boolean; source: string }[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const p = path.posix.normalize((negate ? l.slice(1) : l).trim().replace(/^\/+/, "")).replace(/\/+$/, "");
      return { pattern: globRegExp(p), negate, source: l };
    });
}

/** Go's filepath.Match syntax plus `**` (any number of directories), as Docker's context filter reads it. */
function globRegExp(p: string): RegExp {
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "*" && p[i + 1] === "*") {
      i++;
      if (p[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else re += ".*";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether the build context leaves `file` (relative to the context, "/"-separated) out: the last
 * pattern that matches the path or one of its parent directories decides.
 */
export function ignored(patterns: ReturnType<typeof dockerignore>, file: string): boolean {
  const parts = file.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let out = false;
  for (const p of patterns) if (candidates.some((c) => p.pattern.test(c))) out = !p.negate;
  return out;
}

/** Every file below `rel` (or `rel` itself) in the context folder, "/"-separated and relative to it. */
export function filesUnder(contextDir: string, rel: string): string[] {
  const abs = path.join(contextDir, rel);
  if (!fs.existsSync(abs)) return [];
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(contextDir, path.join(d.parentPath, d.name)).split(path.sep).join("/"));
}

/** Files of the repository's tests: never part of the image. */
export const isTestFile = (f: string) =>
  /(^|\/)test\//.test(f) || /\.(test|fixtures)\.ts$/.test(f) || f === "lab/src/testing.ts";

export interface ImageRules {
  /** The port of the example config's http.listen (the port the bridge answers on in the container). */
  listenPort: number;
  /** The example config's state_dir. */
  stateDir: string;
}

/**
 * Problems of a Dockerfile (with its .dockerignore and build context), one sentence each; none
 * for a good one.
 */
export function dockerfileProblems(
  dockerfileText: string,
  ignoreText: string,
  contextDir: string,
  rules: ImageRules,
): string[] {
  const problems: string[] = [];
  const df = parseDockerfile(dockerfileText);
  const patterns = dockerignore(ignoreText);
  const stageNames = new Set(df.stages.flatMap((s) => (s.name ? [s.name] : [])));
  if (df.stages.length < 2) problems.push("not a multi-stage build: the runtime stage must not hold the build tools");

  for (const s of df.stages) {
    if (stageNames.has(s.image)) continue;
    const m = /^([^:@\s]+)(?::([^@\s]+))?(@sha256:[0-9a-f]{64})?$/.exec(s.image);
    const tag = m?.[2];
    if (!m || !tag) problems.push(`FROM ${s.image} (line ${s.line}): no tag, which means latest`);
    else if (/\$/.test(s.image)) problems.push(`FROM ${s.image} (line ${s.line}): a variable without a default`);
    else if (!/^v?\d+\.\d+\.\d+/.test(tag))
      problems.push(`FROM ${s.image} (line ${s.line}): the tag is not a pinned version (major.minor.patch)`);
  }

  const final = df.stages.at(-1);
  if (!final) return [...problems, "no FROM"];
  const all = (k: string) => final.instructions.filter((i) => i.keyword === k);
  const user = all("USER").at(-1)?.args[0]?.split(":")[0];
  if (!user || user === "root" || user === "0") problems.push("the final stage runs as root (no USER, or USER root)");

  const exposed = all("EXPOSE").flatMap((i) => i.args.map((a) => Number(a.split("/")[0])));
  if (!exposed.includes(rules.listenPort))
    problems.push(`EXPOSE does not name port ${rules.listenPort}, the port of http.listen in the example config`);
  const health = all("HEALTHCHECK").at(-1);
  const healthUrl = health?.raw.match(/https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)(\/[^'"\s,)]*)/);
  if (health?.args[0] !== "CMD") problems.push("no HEALTHCHECK CMD in the final stage");
  else if (healthUrl?.[2] !== "/livez")
    problems.push("the HEALTHCHECK does not ask /livez (liveness; /healthz also wants MQTT and Proxmox)");
  else if (Number(healthUrl[1]) !== rules.listenPort || !exposed.includes(Number(healthUrl[1])))
    problems.push(`the HEALTHCHECK asks port ${healthUrl[1]}, not the exposed port of http.listen`);
  if (health && /\bcurl\b|\bwget\b/.test(health.raw))
    problems.push("the HEALTHCHECK uses curl or wget, which the slim Node image does not have");

  const volumes = all("VOLUME").flatMap((i) => i.args);
  const underVolume = (p: string) => volumes.some((v) => p === v || p.startsWith(`${v.replace(/\/$/, "")}/`));
  const entry = [...(all("ENTRYPOINT").at(-1)?.args ?? []), ...(all("CMD").at(-1)?.args ?? [])];
  if (entry[0] !== "backup2mqtt" || entry[1] !== "run")
    problems.push("ENTRYPOINT/CMD do not run `backup2mqtt run` (the command npm install -g links)");
  const configAt = entry.indexOf("--config");
  const config = configAt >= 0 ? entry[configAt + 1] : undefined;
  if (!config) problems.push("CMD names no --config file");
  else if (!underVolume(path.posix.dirname(config)))
    problems.push(`the config ${config} is not in a VOLUME (${volumes.join(", ") || "none"})`);
  if (!underVolume(rules.stateDir)) problems.push(`state_dir ${rules.stateDir} of the example config is not a VOLUME`);

  const runs = (st: Stage) => st.instructions.filter((i) => i.keyword === "RUN").map((i) => i.raw);
  if (
    !df.stages.some((st) => st !== final && runs(st).some((r) => /npm ci\b/.test(r) && r.includes("--ignore-scripts")))
  )
    problems.push("no build stage runs npm ci --ignore-scripts");
  if (!df.stages.some((st) => st !== final && runs(st).some((r) => /npm pack\b.*(-w|--workspace)[ =]bridge/.test(r))))
    problems.push("no build stage packs the bridge (npm pack --workspace bridge)");
  if (!runs(final).some((r) => /npm install (-g|--global)\b.*--omit=dev\b.*\.tgz/.test(r)))
    problems.push("the final stage does not npm install --global --omit=dev the packed tarball");

  for (const st of df.stages) {
    for (const ins of st.instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
      const sources = ins.args.slice(0, -1);
      if (ins.keyword === "ADD") problems.push(`ADD (line ${ins.line}): use COPY; ADD also fetches URLs and unpacks`);
      if (ins.flags.from) {
        if (!stageNames.has(ins.flags.from))
          problems.push(`COPY --from=${ins.flags.from} (line ${ins.line}): no such stage`);
        continue;
      }
      if (st === final)
        problems.push(
          `COPY ${sources.join(" ")} (line ${ins.line}): the runtime stage takes files from the build stage only`,
        );
      for (const src of sources) {
        const rel = path.posix.normalize(src).replace(/^\.\/|\/$/g, "");
        const sent = filesUnder(contextDir, rel).filter((f) => !ignored(patterns, f));
        if (!fs.existsSync(path.join(contextDir, rel)))
          problems.push(`COPY ${src} (line ${ins.line}): not in the build context`);
        else if (!sent.length)
          problems.push(`COPY ${src} (line ${ins.line}): .dockerignore leaves it out of the context`);
        const tests = sent.filter(isTestFile);
        if (tests.length) problems.push(`COPY ${src} (line ${ins.line}) copies tests: ${tests.slice(0, 3).join(", ")}`);
      }
    }
  }

  const labels = final.instructions
    .filter((i) => i.keyword === "LABEL")
    .map((i) => i.raw)
    .join(" ");
  for (const key of ["title", "description", "source", "licenses"])
    if (!labels.includes(`org.opencontainers.image.${key}=`)) problems.push(`no LABEL org.opencontainers.image.${key}`);
  return problems;
}
