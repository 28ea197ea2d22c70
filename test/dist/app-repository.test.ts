/**
 * The generated app repository (scripts/dist/app.mjs, `npm run dist`) is built into a temporary
 * folder and checked against the Home Assistant Supervisor's rules for an app repository. The rules
 * are plain checks below that return problems (one sentence each), and every rule is also shown to
 * catch a broken variant of the tree. Each rule names where the Supervisor states it, in home-assistant/supervisor:
 *
 * - supervisor/store/validate.py, SCHEMA_REPOSITORY_CONFIG: repository.yaml has name (str), and may
 *   have url (a URL) and maintainer (str).
 * - supervisor/store/data.py, _find_app_configs: every **\/config.* whose suffix is .json, .yaml or
 *   .yml is an app, except under folders starting with "." or named rootfs.
 * - supervisor/apps/validate.py (supervisor/addons/validate.py before the add-on → app rename),
 *   _SCHEMA_APP_CONFIG (SCHEMA_ADDON_CONFIG before): the keys of config.yaml and their values.
 *   Unknown keys are dropped silently (extra=REMOVE_EXTRA), so here they are problems: a typo would
 *   otherwise vanish.
 * - supervisor/apps/options.py: RE_SCHEMA_ELEMENT (an option's type), AppOptions (how options are
 *   checked against the schema; a missing option is allowed only when its type ends with "?").
 * - supervisor/apps/validate.py, SCHEMA_APP_TRANSLATIONS: translations/<lang>.yaml's configuration:
 *   each entry has name (str), optional description and fields (nested entries).
 * - Home Assistant's app documentation (developers.home-assistant.io, "App configuration"): nested
 *   options go at most two levels deep.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ARCH_ALL = ["aarch64", "amd64"]; // supervisor/const.py ARCH_ALL (armhf, armv7, i386 deprecated)
const STARTUP = ["initialize", "system", "services", "application", "once"]; // const.py AppStartup
const BOOT = ["auto", "manual", "manual_only"]; // const.py AppBootConfig
const STAGE = ["stable", "experimental", "deprecated"]; // const.py AppStage
const BACKUP = ["hot", "cold"]; // apps/const.py AppBackupMode
// apps/const.py MappingType
const MAP_TYPES = [
  "config",
  "homeassistant_config",
  "app_config",
  "addon_config",
  "ssl",
  "local_apps",
  "addons",
  "backup",
  "share",
  "media",
  "all_app_configs",
  "all_addon_configs",
  "data",
];
const RE_SLUG_FIELD = /^[-_.A-Za-z0-9]+$/; // apps/const.py RE_SLUG, anchored in validate.py
const RE_SERVICE = /^(?<service>mqtt|mysql):(?<rights>provide|want|need)$/; // validate.py RE_SERVICE
// options.py RE_SCHEMA_ELEMENT (Python's (?P<name>…) written as (?<name>…))
const RE_SCHEMA_ELEMENT = new RegExp(
  "^(?:" +
    "|bool" +
    "|email" +
    "|url" +
    "|port" +
    "|device(?:\\((?<filter>subsystem=[a-z]+)\\))?" +
    "|str(?:\\((?<s_min>\\d+)?,(?<s_max>\\d+)?\\))?" +
    "|password(?:\\((?<p_min>\\d+)?,(?<p_max>\\d+)?\\))?" +
    "|int(?:\\((?<i_min>-?\\d+)?,(?<i_max>-?\\d+)?\\))?" +
    "|float(?:\\((?<f_min>-?\\d*\\.?\\d+)?,(?<f_max>-?\\d*\\.?\\d+)?\\))?" +
    "|match\\((?<match>.*)\\)" +
    "|list\\((?<list>.+)\\)" +
    ")\\??$",
);
/** The keys _SCHEMA_APP_CONFIG knows (validate.py); anything else the Supervisor drops. */
const KNOWN_KEYS = new Set(
  (
    "name version slug description arch machine url startup boot init advanced stage ports ports_description " +
    "watchdog webui ingress ingress_port ingress_entry ingress_stream panel_icon panel_title panel_admin " +
    "homeassistant host_network host_pid host_ipc host_uts host_dbus devices udev tmpfs map environment " +
    "privileged apparmor full_access audio video gpio usb uart devicetree kernel_modules realtime hassio_api " +
    "hassio_role homeassistant_api stdin legacy docker_api auth_api services discovery backup_exclude " +
    "backup_pre backup_post backup options schema image ulimits timeout journald breaking_versions"
  ).split(" "),
);

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const isUrl = (v: unknown) => {
  try {
    const u = new URL(String(v));
    return /^https?:$/.test(u.protocol) && !!u.hostname;
  } catch {
    return false;
  }
};
const isPort = (v: unknown) => Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 65535; // validate.py network_port

function repositoryProblems(repo: unknown): string[] {
  const p: string[] = [];
  if (!isObj(repo)) return ["repository.yaml is not a mapping"];
  if (typeof repo.name !== "string" || !repo.name) p.push("repository.yaml: name is required (a string)");
  if ("url" in repo && !isUrl(repo.url)) p.push(`repository.yaml: url ${JSON.stringify(repo.url)} is not a URL`);
  if ("maintainer" in repo && typeof repo.maintainer !== "string")
    p.push("repository.yaml: maintainer must be a string");
  return p;
}

/** Every file the Supervisor's store takes for an app's config (store/data.py _find_app_configs). */
function appConfigFiles(root: string): string[] {
  return fs
    .readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((rel) => /^config\.(json|ya?ml)$/.test(path.basename(rel)))
    .filter((rel) => !rel.split(path.sep).some((part) => part.startsWith(".") || part === "rootfs"))
    .sort();
}

/** A Docker image name without a tag (validate.py docker_image: tags are managed by version). */
function dockerImageProblem(image: unknown): string | undefined {
  if (typeof image !== "string" || !image) return "image must be a non-empty string";
  if (/:[^/]*$/.test(image.replace(/^[^/]+:\d+\//, ""))) return `image ${image} carries a tag; the version is the tag`;
  if (!/^([a-z0-9.-]+(:\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(\/[a-z0-9{}]+(?:[._-][a-z0-9{}]+)*)*$/.test(image))
    return `image ${image} is not a Docker image name`;
  return undefined;
}

/** Checks one schema element (validate.py SCHEMA_ELEMENT) and the depth of nesting. */
function schemaElementProblems(el: unknown, at: string, depth: number, inList: boolean): string[] {
  if (typeof el === "string")
    return RE_SCHEMA_ELEMENT.test(el) ? [] : [`schema ${at}: "${el}" is not an option type the Supervisor knows`];
  if (Array.isArray(el)) {
    if (inList) return [`schema ${at}: a list may not directly hold another list`];
    if (el.length !== 1) return [`schema ${at}: a list type holds exactly one element type`];
    return schemaElementProblems(el[0], `${at}[]`, depth, true);
  }
  if (isObj(el)) {
    if (depth >= 2) return [`schema ${at}: options nest at most two levels deep`];
    return Object.entries(el).flatMap(([k, v]) => schemaElementProblems(v, `${at}.${k}`, depth + 1, false));
  }
  return [`schema ${at}: ${JSON.stringify(el)} is neither a type, a list nor a mapping`];
}

/** An option value against its schema type, as AppOptions does (options.py). */
function optionProblems(typ: unknown, value: unknown, at: string): string[] {
  if (Array.isArray(typ)) {
    if (!Array.isArray(value)) return [`option ${at}: a list is expected`];
    return value.flatMap((v, i) => optionProblems(typ[0], v, `${at}[${i}]`));
  }
  if (isObj(typ)) {
    if (!isObj(value)) return [`option ${at}: a mapping is expected`];
    const p = Object.entries(value).flatMap(([k, v]) =>
      k in typ ? optionProblems(typ[k], v, `${at}.${k}`) : [`option ${at}.${k} has no schema entry`],
    );
    return [...p, ...missingOptions(typ, value, at)];
  }
  const t = String(typ);
  const m = RE_SCHEMA_ELEMENT.exec(t);
  if (!m) return [`option ${at}: unknown type ${t}`];
  if (value === null || value === undefined) return [`option ${at} is required`];
  const g = m.groups ?? {};
  const range = (n: number, min?: string, max?: string) =>
    (min !== undefined && n < Number(min)) || (max !== undefined && n > Number(max));
  const bad = (why: string) => [`option ${at}: ${JSON.stringify(value)} ${why} (${t})`];
  if (t.startsWith("str") || t.startsWith("password")) {
    if (typeof value !== "string") return bad("is not a string");
    return range(value.length, g.s_min ?? g.p_min, g.s_max ?? g.p_max) ? bad("has the wrong length") : [];
  }
  if (t.startsWith("int"))
    return Number.isInteger(Number(value)) && !range(Number(value), g.i_min, g.i_max) ? [] : bad("is not an int");
  if (t.startsWith("float"))
    return Number.isFinite(Number(value)) && !range(Number(value), g.f_min, g.f_max) ? [] : bad("is not a float");
  if (t.startsWith("bool")) return typeof value === "boolean" ? [] : bad("is not a boolean");
  if (t.startsWith("email")) return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(value)) ? [] : bad("is not an e-mail");
  if (t.startsWith("url")) return isUrl(value) ? [] : bad("is not a URL");
  if (t.startsWith("port")) return isPort(value) ? [] : bad("is not a port");
  // vol.Match is re.match: anchored at the start only
  if (t.startsWith("match")) return new RegExp(`^(?:${g.match})`).test(String(value)) ? [] : bad("does not match");
  if (t.startsWith("list")) return g.list!.split("|").includes(String(value)) ? [] : bad("is not one of the list");
  return bad("cannot be checked here");
}

/** options.py _check_missing_options: a key of the schema may be missing only when its type ends with "?". */
function missingOptions(schema: Record<string, unknown>, options: Record<string, unknown>, at: string): string[] {
  return Object.entries(schema)
    .filter(([k]) => !(k in options))
    .filter(([, typ]) => {
      const t = Array.isArray(typ) ? typ[0] : typ;
      return !(typeof t === "string" && t.endsWith("?"));
    })
    .map(([k]) => `option ${at ? `${at}.` : ""}${k} is missing from options and not optional`);
}

function appConfigProblems(c: unknown): string[] {
  if (!isObj(c)) return ["config.yaml is not a mapping"];
  const p: string[] = [];
  for (const k of ["name", "version", "slug", "description", "arch"])
    if (!(k in c)) p.push(`config.yaml: ${k} is required`);
  for (const k of Object.keys(c)) if (!KNOWN_KEYS.has(k)) p.push(`config.yaml: the Supervisor does not know ${k}`);
  if ("name" in c && (typeof c.name !== "string" || !c.name)) p.push("name must be a non-empty string");
  if ("description" in c && typeof c.description !== "string") p.push("description must be a string");
  if ("version" in c && (typeof c.version !== "string" || !c.version)) p.push("version must be a string");
  if ("slug" in c && !RE_SLUG_FIELD.test(String(c.slug))) p.push(`slug ${c.slug} does not match ${RE_SLUG_FIELD}`);
  if ("arch" in c) {
    if (!Array.isArray(c.arch) || c.arch.length === 0) p.push("arch must be a non-empty list");
    else for (const a of c.arch) if (!ARCH_ALL.includes(a)) p.push(`arch ${a} is not one of ${ARCH_ALL.join(", ")}`);
  }
  if ("url" in c && !isUrl(c.url)) p.push(`url ${c.url} is not a URL`);
  if ("startup" in c && !STARTUP.includes(String(c.startup))) p.push(`startup ${c.startup} is not one of ${STARTUP}`);
  if ("boot" in c && !BOOT.includes(String(c.boot))) p.push(`boot ${c.boot} is not one of ${BOOT}`);
  if ("stage" in c && !STAGE.includes(String(c.stage))) p.push(`stage ${c.stage} is not one of ${STAGE}`);
  if ("backup" in c && !BACKUP.includes(String(c.backup))) p.push(`backup ${c.backup} is not one of ${BACKUP}`);
  for (const k of [
    "init",
    "ingress",
    "ingress_stream",
    "panel_admin",
    "hassio_api",
    "homeassistant_api",
    "host_network",
  ])
    if (k in c && typeof c[k] !== "boolean") p.push(`${k} must be true or false`);
  for (const k of ["panel_icon", "panel_title", "ingress_entry"])
    if (k in c && typeof c[k] !== "string") p.push(`${k} must be a string`);
  if ("panel_icon" in c && !/^mdi:[a-z0-9-]+$/.test(String(c.panel_icon)))
    p.push(`panel_icon ${c.panel_icon} is not mdi:<name>`);
  if ("ingress_port" in c && !(c.ingress_port === 0 || (Number.isInteger(c.ingress_port) && isPort(c.ingress_port))))
    p.push(`ingress_port ${c.ingress_port} is not a port (or 0)`);
  if ("ports" in c) {
    if (!isObj(c.ports)) p.push("ports must be a mapping");
    else
      for (const [k, v] of Object.entries(c.ports)) {
        if (!/^\d+(?:\/tcp|\/udp)?$/.test(k)) p.push(`ports: ${k} is not <port>[/tcp|/udp]`);
        if (v !== null && !isPort(v)) p.push(`ports: ${k} → ${v} is not a port`);
      }
  }
  if ("services" in c) {
    if (!Array.isArray(c.services)) p.push("services must be a list");
    else
      for (const s of c.services)
        if (!RE_SERVICE.test(String(s))) p.push(`services: ${s} does not match ${RE_SERVICE}`);
  }
  if ("map" in c) {
    if (!Array.isArray(c.map)) p.push("map must be a list");
    else
      for (const m of c.map) {
        const type = isObj(m) ? m.type : String(m).split(":")[0];
        if (!MAP_TYPES.includes(String(type))) p.push(`map: ${JSON.stringify(m)} is not a mapping type`);
        if (isObj(m) && "read_only" in m && typeof m.read_only !== "boolean")
          p.push("map: read_only must be true or false");
      }
  }
  if ("image" in c) {
    const problem = dockerImageProblem(c.image);
    if (problem) p.push(problem);
  }
  if ("homeassistant" in c && !/^\d{4}\.\d+\.\d+$/.test(String(c.homeassistant)))
    p.push(`homeassistant ${c.homeassistant} is not a Home Assistant version`);
  const schema = c.schema ?? {};
  const options = c.options ?? {};
  if (schema !== false) {
    if (!isObj(schema)) p.push("schema must be a mapping");
    else {
      p.push(...Object.entries(schema).flatMap(([k, v]) => schemaElementProblems(v, k, 0, false)));
      if (!isObj(options)) p.push("options must be a mapping");
      else {
        for (const [k, v] of Object.entries(options))
          p.push(...(k in schema ? optionProblems(schema[k], v, k) : [`option ${k} has no schema entry`]));
        p.push(...missingOptions(schema, options, ""));
      }
    }
  }
  return p;
}

/** Every option's path in a schema: top-level keys and the keys inside lists of mappings and mappings. */
function optionPaths(schema: Record<string, unknown>, at = ""): string[] {
  return Object.entries(schema).flatMap(([k, v]) => {
    const here = at ? `${at}.${k}` : k;
    const inner = Array.isArray(v) ? v[0] : v;
    return [here, ...(isObj(inner) ? optionPaths(inner, here) : [])];
  });
}

/** translations/<lang>.yaml configuration: as paths ("proxmox.url"), with shape problems (SCHEMA_APP_TRANSLATIONS). */
function translationPaths(conf: unknown, at = ""): { paths: string[]; problems: string[] } {
  const paths: string[] = [];
  const problems: string[] = [];
  if (!isObj(conf)) return { paths, problems: [`translation ${at || "configuration"} is not a mapping`] };
  for (const [k, v] of Object.entries(conf)) {
    const here = at ? `${at}.${k}` : k;
    paths.push(here);
    if (!isObj(v)) {
      problems.push(`translation ${here} is not a mapping`);
      continue;
    }
    if (typeof v.name !== "string" || !v.name.trim()) problems.push(`translation ${here} has no name`);
    if (typeof v.description !== "string" || !v.description.trim())
      problems.push(`translation ${here} has no description`);
    for (const key of Object.keys(v))
      if (!["name", "description", "fields"].includes(key))
        problems.push(`translation ${here} has an unknown key ${key}`);
    if ("fields" in v) {
      const inner = translationPaths(v.fields, here);
      paths.push(...inner.paths);
      problems.push(...inner.problems);
    }
  }
  return { paths, problems };
}

interface DockerInstruction {
  op: string;
  args: string;
  line: number;
}

/** A Dockerfile's instructions: continuation lines joined, comments and blank lines left out. */
function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let buf = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === "" || line.startsWith("#"))) return;
    if (buf && line.startsWith("#")) return;
    if (!buf) start = i + 1;
    if (line.endsWith("\\")) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/s.exec(buf)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = "";
  });
  return out;
}

/** The sources of a COPY or ADD (flags and the destination left out); JSON form too. */
function copySources(args: string): { sources: string[]; from?: string } {
  const words: string[] = args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const rest = words.filter((w) => !w.startsWith("--"));
  const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
  return { sources: rest.slice(0, -1), ...(from ? { from } : {}) };
}

/** Rules for the app's Dockerfile, built with the app's folder as context (apps/build.py get_docker_args). */
function dockerfileProblems(text: string, appDir: string, version: string): string[] {
  const p: string[] = [];
  const ins = parseDockerfile(text);
  const args = new Map<string, string>();
  for (const i of ins.filter((i) => i.op === "ARG")) {
    const [name, value] = i.args.split("=", 2);
    args.set(name!, value ?? "");
  }
  const froms = ins.filter((i) => i.op === "FROM");
  if (froms.length !== 1) p.push(`Dockerfile: expected one FROM, found ${froms.length}`);
  for (const f of froms) {
    const image = f.args.split(/\s+/)[0]!;
    if (/\$/.test(image))
      p.push(`Dockerfile line ${f.line}: FROM ${image} uses a build argument; the Supervisor passes no BUILD_FROM`);
    const m = /^ghcr\.io\/home-assistant\/base:([^@\s]+)(@sha256:[0-9a-f]{64})?$/.exec(image);
    if (!m) p.push(`Dockerfile line ${f.line}: FROM ${image} is not ghcr.io/home-assistant/base:<tag>`);
    else if (!/^\d+\.\d+(\.\d+)?$/.test(m[1]!))
      p.push(`Dockerfile line ${f.line}: FROM ${image} is not pinned to a version`);
  }
  if (args.has("BUILD_FROM")) p.push("Dockerfile: ARG BUILD_FROM (the Supervisor no longer passes it)");
  for (const i of ins.filter((i) => i.op === "COPY" || i.op === "ADD")) {
    const { sources, from } = copySources(i.args);
    if (from) continue; // from another stage
    if (sources.length === 0) p.push(`Dockerfile line ${i.line}: ${i.op} without a source`);
    for (const s of sources) {
      if (/^[a-z]+:\/\//.test(s)) {
        p.push(`Dockerfile line ${i.line}: ${i.op} ${s} fetches from the network`);
        continue;
      }
      const abs = path.resolve(appDir, s);
      if (abs !== appDir && !abs.startsWith(`${appDir}${path.sep}`))
        p.push(`Dockerfile line ${i.line}: ${i.op} ${s} reaches outside the app's folder (the build context)`);
      else if (!fs.existsSync(abs))
        p.push(`Dockerfile line ${i.line}: ${i.op} ${s} does not exist in the app's folder`);
    }
  }
  const installs = ins
    .filter((i) => i.op === "RUN")
    .flatMap((i) => [...i.args.matchAll(/npm (?:install|i) [^&;|]*?"?backup2mqtt@([^\s"&;|]+)"?/g)].map((m) => m[1]!));
  if (installs.length !== 1)
    p.push(`Dockerfile: expected one npm install of backup2mqtt@<version>, found ${installs.length}`);
  for (const spec of installs) {
    const resolved = spec.replace(/^\$\{?(\w+)\}?$/, (_m, name: string) => args.get(name) ?? `<unset ${name}>`);
    if (resolved !== version) p.push(`Dockerfile: installs backup2mqtt@${resolved}, the app's version is ${version}`);
  }
  const labels = ins
    .filter((i) => i.op === "LABEL")
    .flatMap((i) => [...i.args.matchAll(/([\w.-]+)="([^"]*)"/g)].map((m) => m[1]!));
  for (const l of [
    "io.hass.name",
    "io.hass.description",
    "io.hass.type",
    "io.hass.version",
    "io.hass.arch",
    "org.opencontainers.image.title",
    "org.opencontainers.image.source",
    "org.opencontainers.image.licenses",
    "org.opencontainers.image.version",
  ])
    if (!labels.includes(l)) p.push(`Dockerfile: no ${l} label`);
  return p;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SOURCE = path.join(REPO, "ha-integration/app/backup2mqtt");
const { version: VERSION } = JSON.parse(fs.readFileSync(path.join(REPO, "bridge/package.json"), "utf8")) as {
  version: string;
};
type Build = (o: { repo: string; out: string; version: string }) => Promise<void>;
const loadBuilder = async () =>
  ((await import(pathToFileURL(path.join(REPO, "scripts/dist/app.mjs")).href)) as { buildAppRepository: Build })
    .buildAppRepository;
const readYaml = (f: string) => parseYaml(fs.readFileSync(f, "utf8")) as Record<string, unknown>;

/** Every rule of this file over one generated tree. */
function treeProblems(out: string, version: string): string[] {
  const app = path.join(out, "backup2mqtt");
  const p: string[] = [];
  if (!fs.existsSync(path.join(out, "repository.yaml"))) p.push("no repository.yaml at the root");
  else p.push(...repositoryProblems(readYaml(path.join(out, "repository.yaml"))));
  const configs = appConfigFiles(out);
  if (JSON.stringify(configs) !== JSON.stringify([path.join("backup2mqtt", "config.yaml")]))
    p.push(`the store would take these for apps: ${configs.join(", ") || "none"}; only backup2mqtt/config.yaml is one`);
  const anyConfig = fs
    .readdirSync(out, { recursive: true, encoding: "utf8" })
    .filter(
      (rel) => /^config\.(json|ya?ml)$/.test(path.basename(rel)) && rel !== path.join("backup2mqtt", "config.yaml"),
    );
  if (anyConfig.length) p.push(`files named config.* besides the app's: ${anyConfig.join(", ")}`);
  if (!fs.existsSync(path.join(app, "config.yaml"))) return [...p, "no backup2mqtt/config.yaml"];
  const conf = readYaml(path.join(app, "config.yaml"));
  p.push(...appConfigProblems(conf));
  if (conf.version !== version) p.push(`config.yaml version ${conf.version} is not ${version}`);
  if (conf.slug !== "backup2mqtt") p.push(`slug ${conf.slug} is not backup2mqtt`);
  if (JSON.stringify([...((conf.arch as string[]) ?? [])].sort()) !== JSON.stringify(ARCH_ALL))
    p.push(`arch ${conf.arch} is not aarch64 and amd64`);
  if (!(conf.services as string[] | undefined)?.includes("mqtt:need")) p.push("services lacks mqtt:need");
  if (conf.ingress === true) {
    // The bridge must listen where ingress connects: the app's address, port ingress_port.
    const makeConfig = path.join(app, "rootfs/usr/local/lib/backup2mqtt/make-config.mjs");
    const listen = /const LISTEN = "0\.0\.0\.0:(\d+)"/.exec(fs.readFileSync(makeConfig, "utf8"));
    if (!listen || Number(listen[1]) !== (conf.ingress_port ?? 8099))
      p.push(`the bridge does not listen on 0.0.0.0:${conf.ingress_port ?? 8099}, where ingress connects`);
  }
  if (!fs.existsSync(path.join(app, "Dockerfile"))) p.push("no Dockerfile");
  else p.push(...dockerfileProblems(fs.readFileSync(path.join(app, "Dockerfile"), "utf8"), app, version));
  for (const f of ["README.md", "DOCS.md", "CHANGELOG.md", "icon.png", "translations/en.yaml"])
    if (!fs.existsSync(path.join(app, f))) p.push(`no ${f} in the app's folder`);
  for (const f of ["icon.png", "logo.png"]) {
    const file = path.join(app, f);
    if (fs.existsSync(file) && !fs.readFileSync(file).subarray(0, 8).equals(Buffer.from("89504e470d0a1a0a", "hex")))
      p.push(`${f} is not a PNG`);
  }
  const changelog = path.join(app, "CHANGELOG.md");
  if (fs.existsSync(changelog) && !fs.readFileSync(changelog, "utf8").includes(`\n## ${version}\n`))
    p.push(`CHANGELOG.md has no section for ${version}`);
  const run = path.join(app, "rootfs/etc/services.d/backup2mqtt/run");
  if (!fs.existsSync(run) || (fs.statSync(run).mode & 0o111) === 0)
    p.push("the s6 run script is missing or not executable");
  return p;
}

describe("the generated Home Assistant app repository", () => {
  let tmp = "";
  let out = "";
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-app-repo-"));
    out = path.join(tmp, "app-repository");
    await (await loadBuilder())({ repo: REPO, out, version: VERSION });
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A copy of the generated tree, changed by `change`, and the problems the rules find in it. */
  const broken = (change: (dir: string) => void, version = VERSION) => {
    const dir = fs.mkdtempSync(path.join(tmp, "broken-"));
    fs.cpSync(out, dir, { recursive: true });
    change(dir);
    return treeProblems(dir, version);
  };
  const edit = (file: string, from: string | RegExp, to: string) => (dir: string) => {
    const f = path.join(dir, file);
    const text = fs.readFileSync(f, "utf8");
    const next = text.replace(from, to);
    if (next === text) throw new Error(`${file}: ${from} not found, the variant would not be broken`);
    fs.writeFileSync(f, next);
  };
  const CONF = "backup2mqtt/config.yaml";
  const DOCKER = "backup2mqtt/Dockerfile";

  it("holds repository.yaml, a README and one app folder, and passes every rule", () => {
    expect(fs.readdirSync(out).sort()).toEqual(["README.md", "backup2mqtt", "repository.yaml"]);
    expect(treeProblems(out, VERSION)).toEqual([]);
    expect(fs.readFileSync(path.join(out, "README.md"), "utf8")).toMatch(/Repositories/);
  });

  it("the app folder is the source folder, with only the version stamped", () => {
    const files = (root: string) => fs.readdirSync(root, { recursive: true, encoding: "utf8" }).sort();
    const app = path.join(out, "backup2mqtt");
    expect(files(app)).toEqual(files(SOURCE));
    const stamp = (text: string) =>
      text.replace(/^version: .*$/m, "version: <v>").replace(/^ARG BUILD_VERSION=.*$/m, "ARG BUILD_VERSION=<v>");
    for (const f of files(SOURCE).filter((f) => fs.statSync(path.join(SOURCE, f)).isFile())) {
      const a = fs.readFileSync(path.join(SOURCE, f));
      const b = fs.readFileSync(path.join(app, f));
      if (f === "config.yaml" || f === "Dockerfile") expect(stamp(b.toString()), f).toBe(stamp(a.toString()));
      else expect(b.equals(a), f).toBe(true);
      expect(fs.statSync(path.join(app, f)).mode, f).toBe(fs.statSync(path.join(SOURCE, f)).mode);
    }
  });

  it("the version is stamped from what the generator is given (bridge/package.json's)", async () => {
    const other = path.join(tmp, "stamped");
    const build = await loadBuilder();
    const changelog = fs.readFileSync(path.join(SOURCE, "CHANGELOG.md"), "utf8");
    // A repository copy whose app CHANGELOG has a section for 9.8.7, so the generator accepts it.
    const repo = path.join(tmp, "repo-copy");
    fs.cpSync(path.join(REPO, "ha-integration/app"), path.join(repo, "ha-integration/app"), { recursive: true });
    fs.writeFileSync(
      path.join(repo, "ha-integration/app/backup2mqtt/CHANGELOG.md"),
      changelog.replace("# Changelog\n", "# Changelog\n\n## 9.8.7\n\n- A test release.\n"),
    );
    await build({ repo, out: other, version: "9.8.7" });
    expect(readYaml(path.join(other, CONF)).version).toBe("9.8.7");
    expect(treeProblems(other, "9.8.7")).toEqual([]);
    expect(treeProblems(other, VERSION)).toEqual(
      expect.arrayContaining([
        `config.yaml version 9.8.7 is not ${VERSION}`,
        `Dockerfile: installs backup2mqtt@9.8.7, the app's version is ${VERSION}`,
      ]),
    );
  });

  it("the generator refuses a version its CHANGELOG does not describe, and a stray file in the app folder", async () => {
    const build = await loadBuilder();
    await expect(build({ repo: REPO, out: path.join(tmp, "x"), version: "9.9.9" })).rejects.toThrow(
      /CHANGELOG\.md has no "## 9\.9\.9" section/,
    );
    const repo = path.join(tmp, "repo-stray");
    fs.cpSync(path.join(REPO, "ha-integration/app"), path.join(repo, "ha-integration/app"), { recursive: true });
    fs.writeFileSync(path.join(repo, "ha-integration/app/backup2mqtt/build.yaml"), "build_from: {}\n");
    await expect(build({ repo, out: path.join(tmp, "y"), version: VERSION })).rejects.toThrow(/unexpected build\.yaml/);
  });

  // Each rule, broken once: the checks above would pass a tree they cannot fail on.
  it.each<[string, (dir: string) => void, RegExp]>([
    ["no repository.yaml", (d) => fs.rmSync(path.join(d, "repository.yaml")), /no repository\.yaml/],
    ["repository.yaml without a name", edit("repository.yaml", /^name: .*$/m, ""), /name is required/],
    [
      "repository.yaml url not a URL",
      edit("repository.yaml", /^url: .*$/m, "url: github"),
      /url "github" is not a URL/,
    ],
    [
      "a second config.yaml",
      (d) => fs.writeFileSync(path.join(d, "config.yaml"), "name: x\n"),
      /store would take these for apps: backup2mqtt\/config\.yaml, config\.yaml/,
    ],
    [
      "a config.json in rootfs",
      (d) => fs.writeFileSync(path.join(d, "backup2mqtt/rootfs/config.json"), "{}"),
      /files named config\.\* besides the app's/,
    ],
    ["no slug", edit(CONF, /^slug: .*$/m, ""), /slug is required/],
    ["a slug with a space", edit(CONF, /^slug: .*$/m, "slug: backup 2mqtt"), /slug backup 2mqtt does not match/],
    ["no description", edit(CONF, /^description: .*$/m, ""), /description is required/],
    [
      "version not the bridge's",
      edit(CONF, /^version: .*$/m, 'version: "0.0.1"'),
      /config\.yaml version 0\.0\.1 is not/,
    ],
    ["armv7", edit(CONF, "  - amd64\n", "  - amd64\n  - armv7\n"), /arch armv7 is not one of/],
    ["no aarch64", edit(CONF, "  - aarch64\n", ""), /arch amd64 is not aarch64 and amd64/],
    ["startup unknown", edit(CONF, /^startup: .*$/m, "startup: later"), /startup later is not one of/],
    ["boot unknown", edit(CONF, /^boot: .*$/m, "boot: always"), /boot always is not one of/],
    ["init a string", edit(CONF, /^init: .*$/m, "init: nope"), /init must be true or false/],
    ["a key the Supervisor drops", edit(CONF, /^init: /m, "ingres: true\ninit: "), /does not know ingres/],
    ["mqtt wanted, not needed", edit(CONF, "mqtt:need", "mqtt:want"), /services lacks mqtt:need/],
    ["a service misspelt", edit(CONF, "mqtt:need", "mqtt:needs"), /services: mqtt:needs does not match/],
    [
      "ingress port out of range",
      edit(CONF, /^ingress_port: .*$/m, "ingress_port: 70000"),
      /ingress_port 70000 is not a port/,
    ],
    [
      "ingress port not the bridge's",
      edit(CONF, /^ingress_port: .*$/m, "ingress_port: 8100"),
      /does not listen on 0\.0\.0\.0:8100/,
    ],
    ["panel icon without mdi:", edit(CONF, /^panel_icon: .*$/m, "panel_icon: shield"), /panel_icon shield is not mdi/],
    ["a map type unknown", edit(CONF, "type: ssl", "type: certs"), /map: .*certs.* is not a mapping type/],
    ["an image with a tag", edit(CONF, /^slug: /m, "image: ghcr.io/x/{arch}-b2m:1.0\nslug: "), /carries a tag/],
    ["an image name malformed", edit(CONF, /^slug: /m, "image: Not An Image\nslug: "), /is not a Docker image name/],
    [
      "an option without a schema entry",
      edit(CONF, /^options:\n/m, "options:\n  extra: 1\n"),
      /option extra has no schema entry/,
    ],
    [
      "an unknown option type",
      edit(CONF, "log_level: list(", "log_level: choice("),
      /"choice\(.*" is not an option type/,
    ],
    [
      "a required option missing",
      edit(CONF, /^ {2}discovery_prefix: homeassistant\n/m, ""),
      /option discovery_prefix is missing/,
    ],
    [
      "an option value off its list",
      edit(CONF, /^ {2}log_level: info$/m, "  log_level: verbose"),
      /option log_level: "verbose" is not one of the list/,
    ],
    [
      "an option value off its match",
      edit(CONF, /^ {2}site: home$/m, "  site: Home Lab"),
      /option site: "Home Lab" does not match/,
    ],
    [
      "a nested option off its type",
      edit(CONF, '      token_secret: ""', "      token_secret: 5"),
      /option proxmox\[0\]\.token_secret: 5 is not a string/,
    ],
    [
      "options nested three deep",
      edit(
        CONF,
        "      tier: list(P0|P1|P2|none)",
        "      tier: list(P0|P1|P2|none)\n      extra:\n        deep:\n          deeper: str?",
      ),
      /nest at most two levels deep/,
    ],
    [
      "a list of lists",
      edit(CONF, /^ {2}http_token: password\?$/m, "  http_token:\n    - - str?"),
      /may not directly hold another list/,
    ],
    [
      "a COPY from outside the app",
      edit(DOCKER, "COPY rootfs /", "COPY ../bridge /opt/bridge"),
      /reaches outside the app's folder/,
    ],
    [
      "a COPY of a missing file",
      edit(DOCKER, "COPY rootfs /", "COPY package.json /"),
      /COPY package\.json does not exist/,
    ],
    ["FROM latest", edit(DOCKER, /^FROM .*$/m, "FROM ghcr.io/home-assistant/base:latest"), /is not pinned/],
    ["FROM BUILD_FROM", edit(DOCKER, /^FROM .*$/m, "ARG BUILD_FROM\nFROM $BUILD_FROM"), /uses a build argument/],
    ["FROM another image", edit(DOCKER, /^FROM .*$/m, "FROM node:24-alpine"), /is not ghcr\.io\/home-assistant\/base/],
    [
      "npm installs another version",
      edit(DOCKER, /^ARG BUILD_VERSION=.*$/m, "ARG BUILD_VERSION=0.0.9"),
      /installs backup2mqtt@0\.0\.9/,
    ],
    [
      "npm installs a fixed version",
      edit(DOCKER, /backup2mqtt@\$\{BUILD_VERSION\}/, "backup2mqtt@latest"),
      /installs backup2mqtt@latest/,
    ],
    ["no npm install", edit(DOCKER, /npm install --global/, "npm ci"), /expected one npm install of backup2mqtt/],
    ["an io.hass label missing", edit(DOCKER, /^ {2}io\.hass\.type=.*$/m, ""), /no io\.hass\.type label/],
    [
      "no CHANGELOG section",
      edit("backup2mqtt/CHANGELOG.md", `## ${VERSION}`, "## 0.0.0"),
      /CHANGELOG\.md has no section/,
    ],
    [
      "icon not a PNG",
      (d) => fs.writeFileSync(path.join(d, "backup2mqtt/icon.png"), "GIF89a"),
      /icon\.png is not a PNG/,
    ],
    [
      "run not executable",
      (d) => fs.chmodSync(path.join(d, "backup2mqtt/rootfs/etc/services.d/backup2mqtt/run"), 0o644),
      /run script/,
    ],
  ])("catches %s", (_name, change, problem) => {
    const problems = broken(change);
    expect(problems.join("\n")).toMatch(problem);
  });
});

describe("the app's translations (translations/en.yaml)", () => {
  const conf = readYaml(path.join(SOURCE, "config.yaml")) as { schema: Record<string, unknown> };
  const translations = readYaml(path.join(SOURCE, "translations/en.yaml"));
  const check = (schema: Record<string, unknown>, configuration: unknown) => {
    const options = optionPaths(schema);
    const { paths, problems } = translationPaths(configuration);
    return [
      ...problems,
      ...options.filter((o) => !paths.includes(o)).map((o) => `option ${o} has no translation`),
      ...paths.filter((t) => !options.includes(t)).map((t) => `translation ${t} names no option`),
    ];
  };

  it("name and description for every option, nested ones too, and none for an option that does not exist", () => {
    expect(Object.keys(translations)).toEqual(["configuration"]);
    expect(check(conf.schema, translations.configuration)).toEqual([]);
    expect(optionPaths(conf.schema)).toContain("proxmox.token_secret");
  });

  it("catches an option without a translation, a translation without an option, and a missing name", () => {
    const schema = structuredClone(conf.schema);
    schema.new_option = "str?";
    (schema.proxmox as Record<string, unknown>[])[0]!.port = "port?";
    expect(check(schema, translations.configuration)).toEqual([
      "option proxmox.port has no translation",
      "option new_option has no translation",
    ]);
    const t = structuredClone(translations.configuration) as Record<string, Record<string, unknown>>;
    t.gone = { name: "Gone", description: "An option that was removed." };
    delete t.site!.name;
    delete (t.guests!.fields as Record<string, Record<string, unknown>>).tier!.description;
    expect(check(conf.schema, t)).toEqual([
      "translation site has no name",
      "translation guests.tier has no description",
      "translation gone names no option",
    ]);
  });
});
