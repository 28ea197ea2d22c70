/**
 * Checks a schema cannot express, run on the file's data after the schema: duration bounds, URLs
 * with a host, readable CA files, HOST:PORT, unique source names, secrets given, IANA time zones,
 * tier ids that differ only in case, schedules in PVE's calendar grammar (with warnings when their
 * frequency cannot be derived or is slower than max_age), tiers named by guests and jobs.
 * The schema has reported wrong types already: each check looks only at values of the right type,
 * and skips a key that already has a problem.
 */
import path from "node:path";
import { CALENDAR_EXAMPLES, CalendarEventError, frequency, parseCalendarEvent } from "../policy/calendar.js";
import { formatDuration } from "../util/duration.js";
import { DEFAULT_TIERS, resolveTiers, type Tier, type TierInput } from "./tiers.js";
import type { ConfigProblem } from "./types.js";
import {
  BOUNDS,
  durationProblem,
  parseListen,
  pemFileProblem,
  SOURCE_URL_EXAMPLE,
  urlProblem,
  type DurationBounds,
} from "./value-checks.js";
import { keyText, type PathPart, type YamlLocations } from "./yaml-locations.js";
import { parseWindow } from "../policy/window.js";

export interface CheckContext {
  loc: YamlLocations;
  /** The config file's folder: relative paths start there. */
  baseDir: string;
  /** Problems so far (the schema's); the checks add theirs. */
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** What the checks work out on the way and the config needs: the tiers, defaults merged. */
export interface Checked {
  tiers: Record<string, Tier>;
}

export function checkConfig(cfg: Record<string, unknown>, ctx: CheckContext): Checked {
  const { loc, baseDir, problems, warnings } = ctx;
  const problemAt = (p: PathPart[], message: string, atKey = false) => problems.push(loc.problem(p, message, atKey));
  const warningAt = (p: PathPart[], message: string) => warnings.push(loc.problem(p, message));
  const reported = new Set(problems.map((p) => p.key));
  const fresh = (p: PathPart[]) => !reported.has(keyText(p));
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map((x) => obj(x) ?? {}) : []);
  const duration = (p: PathPart[], v: unknown, bounds: DurationBounds) => {
    if (typeof v !== "string" || !fresh(p)) return;
    const problem = durationProblem(v, bounds);
    if (problem) problemAt(p, problem);
  };
  const caFile = (p: PathPart[], v: unknown) => {
    if (typeof v !== "string" || !fresh(p)) return;
    const problem = pemFileProblem(path.resolve(baseDir, v));
    if (problem) problemAt(p, problem);
  };

  const mqttCfg = obj(cfg.mqtt);
  if (mqttCfg) {
    if (typeof mqttCfg.url === "string" && fresh(["mqtt", "url"])) {
      const problem = urlProblem(mqttCfg.url, {
        example: "mqtt://192.168.1.10:1883",
        allowPath: true,
        allowCredentials: true,
      });
      if (problem) problemAt(["mqtt", "url"], problem);
    }
    caFile(["mqtt", "ca_file"], mqttCfg.ca_file);
    duration(["mqtt", "removal_grace"], mqttCfg.removal_grace, BOUNDS.removalGrace);
  }
  list(cfg.proxmox).forEach((px, i) => {
    if (px.token_secret === undefined) problemAt(["proxmox", i], "token_secret (or token_secret_file) is required");
    if (px.fingerprint && px.ca_file)
      problemAt(["proxmox", i, "fingerprint"], "give either fingerprint or ca_file, not both");
    duration(["proxmox", i, "timeout"], px.timeout, BOUNDS.timeout);
    duration(["proxmox", i, "poll_interval"], px.poll_interval, BOUNDS.poll);
    duration(["proxmox", i, "content_interval"], px.content_interval, BOUNDS.content);
    const ssh = obj(px.ssh);
    if (ssh) duration(["proxmox", i, "ssh", "timeout"], ssh.timeout, BOUNDS.sshTimeout);
    const rt = obj(px.restore_test);
    if (rt) duration(["proxmox", i, "restore_test", "timeout"], rt.timeout, BOUNDS.restoreTimeout);
  });
  const names = new Set<string>();
  for (const section of ["proxmox", "synology", "pbs"] as const) {
    list(cfg[section]).forEach((px, i) => {
      if (typeof px.name === "string") {
        if (names.has(px.name)) problemAt([section, i, "name"], `duplicate source name "${px.name}"`);
        names.add(px.name);
      }
      if (typeof px.url === "string" && fresh([section, i, "url"])) {
        const problem = urlProblem(px.url, { example: SOURCE_URL_EXAMPLE[section], allowPath: false });
        if (problem) problemAt([section, i, "url"], problem);
      }
      caFile([section, i, "ca_file"], px.ca_file);
      if (section === "proxmox") return;
      if (px.fingerprint && px.ca_file)
        problemAt([section, i, "fingerprint"], "give either fingerprint or ca_file, not both");
      duration([section, i, "timeout"], px.timeout, BOUNDS.timeout);
      duration([section, i, "poll_interval"], px.poll_interval, BOUNDS.poll);
      if (section === "synology" && px.password === undefined)
        problemAt([section, i], "password (or password_file) is required");
      if (section === "pbs" && px.token_secret === undefined)
        problemAt([section, i], "token_secret (or token_secret_file) is required");
      if (section === "synology") {
        duration([section, i, "max_age"], px.max_age, BOUNDS.maxAge);
        for (const [task, t] of Object.entries(obj(px.tasks) ?? {}))
          duration([section, i, "tasks", task, "max_age"], obj(t)?.max_age, BOUNDS.maxAge);
        if (typeof px.timezone === "string") {
          try {
            new Intl.DateTimeFormat("en-US", { timeZone: px.timezone });
          } catch {
            problemAt([section, i, "timezone"], `unknown IANA time zone "${px.timezone}"`);
          }
        }
      }
    });
  }
  const httpCfg = obj(cfg.http);
  if (httpCfg && typeof httpCfg.listen === "string" && fresh(["http", "listen"])) {
    const l = parseListen(httpCfg.listen);
    if (typeof l === "string") problemAt(["http", "listen"], l);
  }

  // Tiers: ids are case-sensitive, so "p2" next to P2 is a mistake, not a new tier.
  const tierInput = obj(cfg.tiers) ?? {};
  const ids = [...Object.keys(DEFAULT_TIERS), ...Object.keys(tierInput).filter((id) => !(id in DEFAULT_TIERS))];
  const byLower = new Map<string, string>();
  for (const id of ids) {
    const other = byLower.get(id.toLowerCase());
    if (other !== undefined)
      problemAt(
        ["tiers", id],
        `tier "${id}" differs from tier "${other}" only in case; tier ids are case-sensitive: did you mean ${other}?`,
        true,
      );
    else byLower.set(id.toLowerCase(), id);
  }
  for (const [id, t] of Object.entries(tierInput)) {
    const tier = obj(t);
    if (!tier) continue;
    duration(["tiers", id, "max_age"], tier.max_age, BOUNDS.maxAge);
    duration(["tiers", id, "verify_every"], tier.verify_every, BOUNDS.verifyEvery);
    const fallback = obj(tier.fallback);
    if (fallback) {
      duration(["tiers", id, "fallback", "grace"], fallback.grace, BOUNDS.fallbackGrace);
      const w = typeof fallback.window === "string" ? parseWindow(fallback.window) : undefined;
      if (w && w.from === w.to && fresh(["tiers", id, "fallback", "window"]))
        problemAt(
          ["tiers", id, "fallback", "window"],
          `the window '${fallback.window}' is empty (it ends where it starts); write one such as 01:00-06:00 or 22:00-04:00, or any`,
        );
    }
  }
  let tiers: Record<string, Tier> = {};
  if (![...reported].some((k) => k === "tiers" || k.startsWith("tiers."))) {
    try {
      tiers = resolveTiers(tierInput as Record<string, TierInput>);
    } catch (e) {
      problemAt(["tiers"], (e as Error).message);
    }
  }
  for (const [id, t] of Object.entries(tiers)) {
    const p = ["tiers", id, "schedule"];
    if (!t.schedule || !fresh(p)) continue;
    const fromFile = typeof obj(tierInput[id])?.schedule === "string";
    const where = fromFile ? p : ["tiers", id];
    try {
      const f = frequency(parseCalendarEvent(t.schedule));
      if (f.gapMs === null)
        warningAt(
          where,
          `PVE accepts the schedule '${t.schedule}', but how often it runs cannot be derived (${f.why}): guests of tier ${id} are not checked against it`,
        );
      else if (t.protect && f.gapMs > t.maxAgeMs)
        warningAt(
          where,
          `the schedule '${t.schedule}' runs only every ${formatDuration(f.gapMs)}, but tier ${id} allows backups at most ${formatDuration(t.maxAgeMs)} old (max_age): its guests will show as unprotected`,
        );
    } catch (e) {
      if (!(e instanceof CalendarEventError)) throw e;
      problemAt(where, `'${t.schedule}' is not a PVE calendar event: ${e.message} (examples: ${CALENDAR_EXAMPLES})`);
    }
  }
  const knownTiers = Object.keys(tiers);
  const unknownTier = (id: string) => {
    const near = knownTiers.find((k) => k.toLowerCase() === id.toLowerCase());
    return `unknown tier "${id}"${near ? `; tier ids are case-sensitive: did you mean ${near}?` : ` (known: ${knownTiers.join(", ")})`}`;
  };
  for (const [key, g] of Object.entries(obj(cfg.guests) ?? {})) {
    const tier = obj(g)?.tier;
    if (typeof tier === "string" && knownTiers.length && !(tier in tiers))
      problemAt(["guests", key, "tier"], unknownTier(tier));
  }
  const jobs = obj(cfg.jobs);
  for (const [tierId, jobId] of Object.entries(obj(jobs?.adopt) ?? {})) {
    if (knownTiers.length && !(tierId in tiers)) problemAt(["jobs", "adopt", tierId], unknownTier(tierId), true);
    if (typeof jobId === "string" && jobId.startsWith("backup2mqtt-"))
      problemAt(
        ["jobs", "adopt", tierId],
        `job "${jobId}" is already managed by backup2mqtt; adopt names a job someone else created`,
      );
  }
  for (const tierId of Object.keys(obj(jobs?.tiers) ?? {})) {
    if (knownTiers.length && !(tierId in tiers)) problemAt(["jobs", "tiers", tierId], unknownTier(tierId), true);
  }
  return { tiers };
}
