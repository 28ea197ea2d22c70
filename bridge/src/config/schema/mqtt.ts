/** `mqtt:` — the broker, the topics and how long a gone guest keeps its Home Assistant device. */
import { z } from "zod";
import { duration, patterned, secret } from "./common.js";

/** How long a gone guest keeps its Home Assistant device unless the config says otherwise. */
export const REMOVAL_GRACE_DEFAULT = "24h";

const URL_TEXT = "Broker URL with a host, e.g. mqtt://127.0.0.1:1883 (mqtt, mqtts, ws, wss or tcp)";

export const mqttSchema = z.strictObject({
  url: patterned("^(mqtts?|wss?|tcp)://").meta({ description: URL_TEXT }),
  username: z.string().optional(),
  password: secret().optional(),
  password_file: z.string().optional(),
  client_id: z.string().optional(),
  base_topic: patterned("^[^#+\\s]+$").default("backup2mqtt"),
  discovery_prefix: patterned("^[^#+\\s]+$").default("homeassistant"),
  ca_file: z
    .string()
    .meta({
      description:
        "PEM file of the CA that signed the broker's certificate (relative paths start at the config file's folder); it must exist.",
    })
    .optional(),
  removal_grace: duration(
    "How long a guest must be confirmed gone from its source (a complete, successful read) before its Home Assistant device is removed; 0s = at once. 0s to 365d.",
  ).default(REMOVAL_GRACE_DEFAULT),
});
