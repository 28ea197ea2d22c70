/** `jobs:` — policy as code (backup2mqtt plan / apply): how the one PVE backup job per tier is shaped. */
import { z } from "zod";
import { backupModes, compressions, patterned, record } from "./common.js";

export const jobsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .meta({
        description:
          "false = manual-only: the jobs are created disabled (Run now in PVE, Back up now in Home Assistant); the guests then stay 'unprotected'.",
      })
      .default(true),
    storage: z
      .string()
      .meta({ description: "Target storage of the tier jobs (default: proxmox[].backup.storage)." })
      .optional(),
    mode: z.enum(backupModes).default("snapshot"),
    compress: z.enum(compressions).default("zstd"),
    notes_template: z.string().default("{{guestname}}"),
    adopt: record(patterned("^\\S{1,50}$"))
      .meta({
        description:
          "tier id -> id of an existing PVE job that apply takes over for that tier (otherwise jobs backup2mqtt did not create are never touched).",
      })
      .default({}),
    tiers: record(z.strictObject({ enabled: z.boolean().optional(), storage: z.string().optional() }))
      .meta({ description: "Per-tier overrides of enabled and storage." })
      .default({}),
  })
  .meta({ description: "Policy as code (backup2mqtt plan / apply): one PVE backup job per tier." });
