/**
 * The config file's schema: every key, its type, its default and its description. The loader
 * validates with it, the types of the file are inferred from it, and bridge/schemas/config.schema.json
 * (for editors) is generated from it (`npm run schemas`).
 */
import { z } from "zod";
import { patterned, record } from "./common.js";
import { heartbeatSchema } from "./heartbeat.js";
import { httpSchema } from "./http.js";
import { jobsSchema } from "./jobs.js";
import { mqttSchema } from "./mqtt.js";
import { pbsSchema } from "./pbs.js";
import { proxmoxSchema } from "./proxmox.js";
import { synologySchema } from "./synology.js";
import { tiersSchema } from "./tier.js";
import { LANGUAGES } from "../../words/language.js";

const SITE = "Short id of this lab; guest ids are <site>_<vmid>.";
const TIMEZONE =
  "IANA time zone in which reasons, the report and the status page show times (e.g. Europe/Berlin). Default: the system's.";
const LANGUAGE = "Language of what the bridge publishes itself: reasons and Home Assistant entity names (en or de).";

/** Whether Intl knows this IANA zone name (e.g. Europe/Berlin, UTC). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return name.length > 0;
  } catch {
    return false;
  }
}

export const configFileSchema = z.strictObject({
  site: patterned("^[a-z0-9][a-z0-9_]{0,31}$").meta({ description: SITE }).default("home"),
  timezone: z
    .string()
    .refine(isTimeZone, {
      error: (issue) =>
        `"${String(issue.input)}" is not a time zone; write an IANA name such as Europe/Berlin or America/New_York`,
    })
    .meta({ description: TIMEZONE })
    .optional(),
  language: z.enum(LANGUAGES).meta({ description: LANGUAGE }).default("en"),
  mqtt: mqttSchema,
  // A refinement, not .min(1): zod would also hold a string's length against it ("" is only "must be array").
  proxmox: z
    .array(proxmoxSchema)
    .refine((a) => a.length >= 1, { error: "must NOT have fewer than 1 items" })
    .meta({ minItems: 1 }),
  synology: z
    .array(synologySchema)
    .meta({ description: "Synology NAS (DSM 6/7) whose Hyper Backup tasks carry PVE backup storages off-site." })
    .default([]),
  pbs: z.array(pbsSchema).meta({ description: "Proxmox Backup Server instances." }).default([]),
  tiers: tiersSchema,
  guests: record(z.strictObject({ tier: z.string().optional() }))
    .meta({ description: "Keys are a VMID (100-999999999) or a guest name (a DNS name, as PVE allows)." })
    .default({}),
  http: httpSchema.prefault({}),
  jobs: jobsSchema.optional(),
  heartbeat: heartbeatSchema.optional(),
  state_dir: z.string().default("./state"),
  log: z
    .strictObject({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info") })
    .prefault({}),
});

/** A config file after validation: every default filled in. */
export type ConfigFile = z.output<typeof configFileSchema>;

export const CONFIG_SCHEMA_META = {
  id: "https://backup2mqtt.dev/schemas/config.schema.json",
  title: "backup2mqtt configuration",
  description:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the ${NAME} syntax a config may use
    "One YAML or JSON file. Any string may reference an environment variable as ${NAME}. Every secret may also be given as <key>_file (a path whose content is the secret).",
};
