/**
 * The bridge's info: MQTT <base>/bridge/info (retained). bridge/schemas/bridge-info.schema.json is
 * generated from it. Open objects: a reader must accept keys it does not know.
 */
import { z } from "zod";
import { jsonDateTime, jsonInteger, jsonRecord } from "./json-schema.js";

const count = () => jsonInteger({ minimum: 0 });
const COUNTS = [
  "guests",
  "ok",
  "stale",
  "failed",
  "missing",
  "running",
  "unknown",
  "problem",
  "untiered",
  "orphaned",
] as const;

export const bridgeInfoSchema = z.object({
  version: z.string(),
  site: z.string(),
  base_topic: z.string().optional(),
  sources: jsonRecord(
    z.object({
      kind: z.string(),
      up: z.boolean(),
      degraded: z.boolean(),
      error: z.string().optional(),
      last_success: jsonDateTime().nullable().optional(),
      requests_last_refresh: jsonInteger().optional(),
    }),
  ),
  // Every count is a whole number ≥ 0; these ten are always there.
  counts: jsonRecord(count(), (keys, ctx) => {
    for (const k of COUNTS) if (!keys.includes(k)) ctx.addIssue({ code: "custom", message: `'${k}' is missing` });
  }).meta({ required: [...COUNTS] }),
  last_refresh: jsonDateTime().nullable(),
  missed_jobs: z
    .array(
      z.object({
        job: z.string(),
        comment: z.string().optional(),
        source: z.string(),
        due: jsonDateTime(),
        nodes: z.array(z.string()),
        guests: z.array(z.string()),
        repeat_missed: z.boolean(),
      }),
    )
    .meta({
      description:
        "Enabled backup jobs that did not run when due (computed from their schedule; a task of the job clears it).",
    })
    .optional(),
});

export const BRIDGE_INFO_SCHEMA_META = {
  id: "https://backup2mqtt.dev/schemas/bridge-info.schema.json",
  title: "Bridge info (MQTT <base>/bridge/info, retained)",
};
