/**
 * A guest's state: MQTT <base>/guest/<id>/state (retained) and the items of HTTP /api/v1/guests.
 * bridge/schemas/guest-state.schema.json is generated from it. Open objects: a reader must accept
 * keys it does not know.
 */
import { FALLBACK_STATES, FINDING_CODES, STATUSES } from "../policy/types.js";
import { z } from "zod";
import { jsonDateTime, jsonInteger, jsonPattern } from "./json-schema.js";

const time = () => jsonDateTime();
const check = (description: string) =>
  z
    .object({ time: time(), ok: z.boolean(), volid: z.string(), reason: z.string().optional() })
    .nullable()
    .meta({ description });

/** A sentence as data: a phrasebook key and its parameters (render it in any language the phrasebook has). */
const phraseSchema = z
  .object({ key: z.string(), params: z.record(z.string(), z.unknown()).optional() })
  .meta({ description: "A phrasebook key and its parameters." });

export const guestStateSchema = z.object({
  id: z.string().regex(jsonPattern("^[a-z0-9_]+$")).meta({ pattern: "^[a-z0-9_]+$" }),
  source: z.string().optional(),
  vmid: jsonInteger({ minimum: 1 }),
  name: z.string(),
  type: z.enum(["qemu", "lxc"]),
  node: z.string(),
  tier: z.string().nullable(),
  tier_source: z.enum(["config", "tag", "override"]).nullable().optional(),
  status: z.enum(STATUSES),
  status_reason: z.string().optional(),
  status_phrase: phraseSchema.optional(),
  problem: z.boolean(),
  reasons: z.array(z.string()).meta({ description: "Sentences for people, in the bridge's language." }),
  reason_phrases: z.array(phraseSchema).meta({ description: "`reasons` as phrases, in the same order." }).optional(),
  findings: z
    .array(
      z.object({
        code: z.enum(FINDING_CODES),
        key: z.string().optional(),
        params: z.record(z.string(), z.unknown()).optional(),
        reason: z.string(),
      }),
    )
    .optional(),
  last_backup: time().nullable(),
  last_backup_size: jsonInteger({ minimum: 0 }).nullable(),
  archive_count: jsonInteger({ minimum: 0 }),
  next_backup: time().nullable(),
  last_verified: time().nullable(),
  last_offsite: time().nullable(),
  copies: jsonInteger({ minimum: 0 })
    .nullable()
    .meta({
      description:
        "3-2-1: copies of a backup no older than the tier's max age (storages + Hyper Backup/PBS copies); null when no off-site source is configured.",
    })
    .optional(),
  running: z.boolean(),
  last_attempt: z
    .object({ time: time(), result: z.enum(["ok", "warnings", "failed", "running"]), error: z.string().optional() })
    .nullable()
    .optional(),
  changes_at: time().nullable().optional(),
  last_verification: check("The newest integrity check (over SSH) of one of the guest's archives.").optional(),
  last_restore_test: check("The newest restore test.").optional(),
  progress: jsonInteger({ minimum: 0, maximum: 100 })
    .nullable()
    .meta({ description: "Percent done of the running backup." })
    .optional(),
  protection: z
    .union([
      z.object({ by: z.literal("vzdump"), consistency: z.literal("point-in-time") }),
      z.object({
        by: z.literal("hyperbackup"),
        consistency: z.literal("file-copy"),
        tasks: z.array(z.string()),
        nas: z.string(),
      }),
    ])
    .nullable()
    .meta({
      description:
        "What the newest backup is: a vzdump archive (a point-in-time image) or a Hyper Backup file copy of the guest's disks on NAS storage (taken while the guest may write, without its configuration); null when none.",
    })
    .optional(),
  fallback: z
    .object({
      state: z.enum(FALLBACK_STATES),
      at: time().meta({
        description: "When it is planned to start, started, the job it waits for is due, or it ended.",
      }),
      reason: z.string().meta({ description: "Why, as a sentence in the bridge's language." }),
      action: z.enum(["auto", "ask"]),
      approved: z
        .boolean()
        .meta({ description: "ask: someone approved it (a pending fallback is ask, planned and not approved)." }),
    })
    .nullable()
    .meta({
      description:
        "The self-healing fallback (tier `fallback`): the bridge runs the guest's vzdump itself. null when the tier's fallback is off or there is nothing to say.",
    })
    .optional(),
});

export const GUEST_STATE_SCHEMA_META = {
  id: "https://backup2mqtt.dev/schemas/guest-state.schema.json",
  title: "Guest state (MQTT <base>/guest/<id>/state, retained; HTTP /api/v1/guests items)",
};
