/** `tiers:` — what each tier demands; P0, P1, P2 and none have defaults (../tiers.ts) that these override key by key. */
import { z } from "zod";
import { jsonInteger } from "../../schemas/json-schema.js";
import { duration, durationOrNull, record } from "./common.js";

const keep = () => jsonInteger({ minimum: 0 }).optional();

export const retentionSchema = z.strictObject({
  "keep-last": keep(),
  "keep-hourly": keep(),
  "keep-daily": keep(),
  "keep-weekly": keep(),
  "keep-monthly": keep(),
  "keep-yearly": keep(),
});

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
});

/** Tier ids: case-sensitive (p2 next to P2 is refused after the schema, in ../checks.ts). */
export const tiersSchema = record(tierSchema, "^[A-Za-z0-9_-]{1,16}$")
  .meta({
    description:
      "Tier definitions; P0, P1, P2 and none have defaults that these override key by key. Tier ids are case-sensitive (p2 next to P2 is refused).",
  })
  .default({});
