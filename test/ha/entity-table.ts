/**
 * What Home Assistant must show for a guest and for the bridge: README.md's "Home Assistant
 * entities" table turned into data, with, per entity, the HA state expected from a bridge
 * GuestState. The README table itself is parsed too, so a row added to (or changed in) the README
 * without an expectation here fails the suite instead of going untested.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GuestState } from "../../bridge/src/policy/types.js";
import { statusWord } from "../../bridge/src/words/render.js";

const README = join(dirname(fileURLToPath(import.meta.url)), "../../README.md");

export type Domain = "sensor" | "binary_sensor" | "select" | "button" | "event";

export interface ExpectedEntity {
  /** Entity name as the README gives it (HA shows "<device name> <name>"). */
  name: string;
  domain: Domain;
  deviceClass?: string;
  unit?: string;
  category?: "config" | "diagnostic";
  /** enum sensor / select options, event types (order-insensitive). */
  options?: readonly string[];
  /** The HA state this entity must show for a guest state (timestamps compared to the second). */
  expect?: (g: GuestState) => { kind: "timestamp"; value: string | null } | { kind: "exact"; value: string };
  /** State attributes that must equal fields of the guest state. */
  attributes?: (g: GuestState) => Record<string, unknown>;
}

const ts = (value: string | null) => ({ kind: "timestamp" as const, value });
const exact = (value: string) => ({ kind: "exact" as const, value });
const onOff = (b: boolean) => exact(b ? "on" : "off");
/** A float as Python's str() writes it, for the values here (no exponent): 36 → "36.0". */
const pythonFloat = (x: number) => (Number.isInteger(x) ? x.toFixed(1) : String(x));

/** The status sensor shows the status as a word (the bridge's language; these tests run it in English). */
export const STATUS_OPTIONS = ["OK", "Stale", "Failed", "Missing", "Running", "Unknown"] as const;
export const TIER_OPTIONS = ["P0", "P1", "P2", "none"] as const;
/**
 * README: "backup_/verify_/restore_test_ started, finished, failed; backup_unknown; command_rejected;
 * fallback_planned, fallback_started; backup_overrunning".
 */
export const EVENT_TYPES = [
  ...["backup", "verify", "restore_test"].flatMap((a) => ["started", "finished", "failed"].map((r) => `${a}_${r}`)),
  "backup_unknown",
  "command_rejected",
  "fallback_planned",
  "fallback_started",
  "backup_overrunning",
] as const;

/**
 * The README rows of entities only some guests have: their details start with "tiers with …"
 * (`fallback: ask` → Fallback pending + Approve fallback, `allow_stop: true` → Stop backup).
 * fallback-approval.e2e.test.ts checks the first two in HA.
 */
export const CONDITIONAL_GUEST_ENTITIES: readonly { name: string; domain: string }[] = [
  { name: "Fallback pending", domain: "binary_sensor" },
  { name: "Approve fallback", domain: "button" },
  { name: "Stop backup", domain: "button" },
];
export const readmeConditional = (row: ReadmeRow) => /^tiers with /.test(row.details);

/** One row per entity every guest has, in the README table's order. */
export const GUEST_ENTITIES: readonly ExpectedEntity[] = [
  { name: "Last backup", domain: "sensor", deviceClass: "timestamp", expect: (g) => ts(g.last_backup) },
  {
    name: "Backup status",
    domain: "sensor",
    deviceClass: "enum",
    options: STATUS_OPTIONS,
    expect: (g) => exact(statusWord(g.status, "en")),
  },
  {
    name: "Backup problem",
    domain: "binary_sensor",
    deviceClass: "problem",
    expect: (g) => onOff(g.problem),
    attributes: (g) => ({
      status: g.status,
      reasons: g.reasons,
      status_reason: g.status_reason,
      findings: g.findings.map((f) => f.code),
      reason_phrases: g.reason_phrases,
      status_phrase: g.status_phrase,
    }),
  },
  {
    name: "Backup size",
    domain: "sensor",
    deviceClass: "data_size",
    unit: "GiB",
    // Bytes in the state JSON, GiB in Home Assistant: the template's division is the same double,
    // written as Python writes a float ("36.0" where JavaScript writes "36").
    expect: (g) => exact(g.last_backup_size === null ? "unknown" : pythonFloat(g.last_backup_size / 1073741824)),
  },
  { name: "Backup archives", domain: "sensor", expect: (g) => exact(String(g.archive_count)) },
  { name: "Next scheduled backup", domain: "sensor", deviceClass: "timestamp", expect: (g) => ts(g.next_backup) },
  { name: "Last verified", domain: "sensor", deviceClass: "timestamp", expect: (g) => ts(g.last_verified) },
  { name: "Last off-site copy", domain: "sensor", deviceClass: "timestamp", expect: (g) => ts(g.last_offsite) },
  {
    name: "Backup tier",
    domain: "select",
    category: "config",
    options: TIER_OPTIONS,
    expect: (g) => exact(g.tier ?? "unknown"),
  },
  { name: "Backup running", domain: "binary_sensor", deviceClass: "running", expect: (g) => onOff(g.running) },
  {
    name: "Backup progress",
    domain: "sensor",
    unit: "%",
    expect: (g) => exact(g.progress === null ? "unknown" : String(g.progress)),
  },
  { name: "Back up now", domain: "button" },
  { name: "Verify now", domain: "button" },
  { name: "Restore test", domain: "button", category: "diagnostic" },
  {
    name: "Last restore test",
    domain: "sensor",
    deviceClass: "timestamp",
    category: "diagnostic",
    expect: (g) => ts(g.last_restore_test?.time ?? null),
    attributes: (g) => (g.last_restore_test ? { ok: g.last_restore_test.ok, volid: g.last_restore_test.volid } : {}),
  },
  { name: "Backup event", domain: "event", options: EVENT_TYPES },
];

/** The bridge device, from the README paragraph below the table (one Proxmox source named `pve`). */
export function bridgeEntities(sources: string[]): ExpectedEntity[] {
  return [
    ...sources.map(
      (s): ExpectedEntity => ({
        name: `Source ${s}`,
        domain: "binary_sensor",
        deviceClass: "connectivity",
        category: "diagnostic",
      }),
    ),
    ...["ok", "stale", "failed", "missing", "running", "unknown"].map(
      (s): ExpectedEntity => ({ name: `Guests ${s}`, domain: "sensor" }),
    ),
    { name: "Guests with problems", domain: "sensor" },
    { name: "Guests untiered", domain: "sensor" },
    { name: "Orphaned archive groups", domain: "sensor" },
    { name: "Missed jobs", domain: "sensor" },
    { name: "Last refresh", domain: "sensor", deviceClass: "timestamp", category: "diagnostic" },
    { name: "Refresh", domain: "button", category: "diagnostic" },
  ];
}

export interface ReadmeRow {
  name: string;
  platform: string;
  details: string;
}

/** Rows of the `| entity | platform | details |` table under "## Home Assistant entities". */
export function readmeEntityTable(text = readFileSync(README, "utf8")): ReadmeRow[] {
  const section = text.split(/^## Home Assistant entities\s*$/m)[1];
  if (!section) throw new Error("README.md has no '## Home Assistant entities' section");
  const lines = section.split("\n");
  const start = lines.findIndex((l) => /^\|\s*entity\s*\|\s*platform\s*\|\s*details\s*\|/.test(l));
  if (start < 0) throw new Error("README.md: no '| entity | platform | details |' table in the entities section");
  const rows: ReadmeRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    rows.push({ name: cells[0] ?? "", platform: cells[1] ?? "", details: cells[2] ?? "" });
  }
  return rows;
}

/** The device class a README row names: the first `backticked` word of its details. */
export function readmeDeviceClass(row: ReadmeRow): string | undefined {
  return /`([a-z_]+)`/.exec(row.details)?.[1];
}

/** The entity category a README row names: details that start with "diagnostic" or "config category". */
export function readmeCategory(row: ReadmeRow): string | undefined {
  return /^(diagnostic|config)\b/.exec(row.details)?.[1];
}
