/**
 * The command payload (MQTT <base>/guest/<id>/command, <base>/bridge/command,
 * <base>/hyperbackup/<task>/command, <base>/pbs/<store>/command; the HTTP action routes): one
 * object per action. The Command type is inferred from it and bridge/schemas/command.schema.json
 * is generated from it; the command router validates against that file, action by action.
 */
import { z } from "zod";
import { jsonPattern, lengthLimited } from "./json-schema.js";

const STORAGE_ID = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";
const DEVICE_ID = "^[A-Za-z0-9_.-]+$";

const shortText = (maxLength: number) => lengthLimited(z.string(), { maxLength });
/** Fields every command may carry: who sent it and an id the sender picks to find its event. */
const tracing = { request_id: shortText(64).optional(), origin: shortText(64).optional() };

const command = <A extends string, S extends z.ZodRawShape>(action: A, fields: S, description?: string) =>
  z.strictObject({
    action: description ? z.literal(action).meta({ description }) : z.literal(action),
    ...fields,
    ...tracing,
  });

export const commandSchema = z
  .discriminatedUnion("action", [
    command("backup", {
      storage: z
        .string()
        .regex(jsonPattern(STORAGE_ID))
        .meta({
          pattern: STORAGE_ID,
          description: "a Proxmox storage id: letters, digits, '_', '.' and '-', starting with a letter or digit",
        })
        .optional(),
      mode: z.enum(["snapshot", "suspend", "stop"]).meta({ description: "vzdump's backup mode" }).optional(),
    }),
    command("verify", {}),
    command("restore_test", {}),
    command("set_tier", { tier: shortText(16) }),
    command(
      "approve_fallback",
      {},
      "Guest only: approve the planned fallback backup of a guest whose tier has fallback: ask (it starts when its window allows).",
    ),
    command(
      "stop_backup",
      {},
      "Guest only: stop the guest's running vzdump (DELETE of its Proxmox task); only for guests whose tier has allow_stop: true.",
    ),
    command("refresh", {}),
    command("run", {}, "Run a Hyper Backup task now (<base>/hyperbackup/<task>/command)."),
    command(
      "forget",
      {
        guest: lengthLimited(z.string().regex(jsonPattern(DEVICE_ID)), { maxLength: 128 }).meta({
          pattern: DEVICE_ID,
          description: "the device's id as in its topics, e.g. home_103",
        }),
      },
      "Bridge device only (<base>/bridge/command): remove the Home Assistant device of a guest (or Hyper Backup task / PBS datastore) that is gone, now instead of after mqtt.removal_grace.",
    ),
  ])
  .meta({ type: "object", required: ["action"] });

/** A valid command. */
export type Command = z.output<typeof commandSchema>;

export const COMMAND_SCHEMA_META = {
  id: "https://backup2mqtt.dev/schemas/command.schema.json",
  title:
    "Command (MQTT <base>/guest/<id>/command and <base>/bridge/command, <base>/hyperbackup/<task>/command, <base>/pbs/<store>/command)",
};
