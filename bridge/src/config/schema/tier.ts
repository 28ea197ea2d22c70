/** `tiers:` — what each tier demands; P0, P1, P2 and none have defaults (../tiers.ts) that these override key by key. */
import { z } from "zod";
import { jsonInteger } from "../../schemas/json-schema.js";
import { duration, durationOrNull, patterned, record } from "./common.js";

const keep = () => jsonInteger({ minimum: 0 }).optional();

export const retentionSchema = z.strictObject({
  "keep-last": keep(),
  "keep-hourly": keep(),
  "keep-daily": keep(),
  "keep-weekly": keep(),
  "keep-monthly": keep(),
  "keep-yearly": keep(),
});

/** `fallback:` — what the bridge does itself when the tier's guest goes stale, failed or missing. */
export const FALLBACK_ACTIONS = ["off", "ask", "auto"] as const;
const WINDOW = "^(any|([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])$";
export const fallbackSchema = z
  .union(
    [
      z.enum(FALLBACK_ACTIONS),
      z.strictObject({
        action: z.enum(FALLBACK_ACTIONS).meta({ description: "off, ask (wait for approval) or auto." }),
        window: patterned(WINDOW)
          .meta({
            description:
              "When a fallback may start, HH:MM-HH:MM in the config's time zone (may cross midnight, e.g. 22:00-04:00), or any (default).",
          })
          .optional(),
        grace: duration("How long the guest must have been stale, failed or missing first (default 1h).").optional(),
        max_per_day: jsonInteger({ minimum: 1 })
          .meta({ description: "Fallbacks per guest and day (default 1)." })
          .optional(),
        storage: patterned("^[A-Za-z0-9][A-Za-z0-9_.-]*$")
          .meta({ description: "Proxmox storage of the fallback's vzdump (default: the source's backup.storage)." })
          .optional(),
        mode: z
          .enum(["snapshot", "suspend", "stop"])
          .meta({ description: "vzdump's backup mode (default: the source's backup.mode)." })
          .optional(),
      }),
    ],
    { error: "must match a schema in anyOf" },
  )
  .meta({
    description:
      "Self-healing fallback: off (default), ask or auto, or { action, window, grace, max_per_day, storage, mode }. The bridge runs the guest's vzdump itself when it has been stale, failed or missing for `grace`, inside `window`.",
  });

/** The kinds of evidence a tier may accept as a backup. */
export const ACCEPTED_EVIDENCE = ["vzdump", "hyperbackup"] as const;

export const tierSchema = z.strictObject({
  label: z.string().optional(),
  max_age: duration("1m to 3650d.").optional(),
  schedule: z
    .string()
    .meta({
      description:
        "PVE calendar event of the tier's backup job, e.g. 02:00, sun 03:00, mon..fri 21:00, *-*-01 04:00, daily (PVE's full grammar; checked when the config is loaded). Empty = no schedule.",
    })
    .optional(),
  retention: retentionSchema.optional(),
  min_copies: jsonInteger({ minimum: 0 }).optional(),
  offsite: z.boolean().optional(),
  verify_every: durationOrNull("1h to 3650d, or null (no verification).").optional(),
  allow_manual: z.boolean().optional(),
  protect: z.boolean().meta({ description: "false = deliberately not backed up (tier none)." }).optional(),
  restore_test: z
    .boolean()
    .meta({ description: "Opt in to automatic-on-demand restore tests (button); default false." })
    .optional(),
  fallback: fallbackSchema.optional(),
  max_runtime: durationOrNull(
    "A running vzdump of the tier's guest is overrunning past max(3 × its median duration, this); null (default) = the median alone.",
  ).optional(),
  stall_after: duration(
    "A running vzdump whose task log shows no new line for this long is stalled (default 30m).",
  ).optional(),
  accepts: z
    .array(z.enum(ACCEPTED_EVIDENCE))
    .min(1)
    .meta({
      description:
        "Which backups count for the tier: vzdump (archives on Proxmox storages or PBS, point-in-time images) and hyperbackup (Hyper Backup file copies of guest disks on NAS storage). Default both.",
    })
    .optional(),
  allow_stop: z
    .boolean()
    .meta({ description: "Opt in to the Stop backup button on the tier's guests (default false)." })
    .optional(),
});

/** Tier ids: case-sensitive (p2 next to P2 is refused after the schema, in ../checks.ts). */
export const tiersSchema = record(tierSchema, "^[A-Za-z0-9_-]{1,16}$")
  .meta({
    description:
      "Tier definitions; P0, P1, P2 and none have defaults that these override key by key. Tier ids are case-sensitive (p2 next to P2 is refused).",
  })
  .default({});
