/**
 * An event: MQTT <base>/guest/<id>/event and <base>/bridge/event (not retained).
 * bridge/schemas/event.schema.json is generated from it. Open object: a reader must accept keys it
 * does not know.
 */
import { z } from "zod";
import { jsonDateTime } from "./json-schema.js";

/** What a guest's event entity in Home Assistant can show. */
export const GUEST_EVENT_TYPES = [
  "backup_started",
  "backup_finished",
  "backup_failed",
  "backup_unknown",
  "verify_started",
  "verify_finished",
  "verify_failed",
  "restore_test_started",
  "restore_test_finished",
  "restore_test_failed",
  "command_rejected",
  "fallback_planned",
  "fallback_started",
  "backup_overrunning",
] as const;

/** Every event the bridge sends: the guests' and the bridge's own. */
export const EVENT_TYPES = [...GUEST_EVENT_TYPES, "command_accepted", "device_forgotten"] as const;

export const eventSchema = z.object({
  event_type: z.enum(EVENT_TYPES),
  time: jsonDateTime(),
  guest: z.string().optional(),
  upid: z.string().optional(),
  result: z.string().optional(),
  error: z.string().optional(),
  action: z.string().optional(),
  reason: z.string().optional(),
  request_id: z.string().optional(),
  volid: z.string().optional(),
  at: jsonDateTime().meta({ description: "fallback_planned: when the planned fallback backup may start" }).optional(),
  device: z
    .string()
    .meta({ description: "device_forgotten (bridge event): the id of the device that was removed" })
    .optional(),
});

export const EVENT_SCHEMA_META = {
  id: "https://backup2mqtt.dev/schemas/event.schema.json",
  title: "Event (MQTT <base>/guest/<id>/event and <base>/bridge/event, not retained)",
};
