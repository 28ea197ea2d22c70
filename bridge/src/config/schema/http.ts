/** `http:` — where the HTTP API listens, its token and the PVE webhook's shared secret. */
import { z } from "zod";
import { lengthLimited } from "../../schemas/json-schema.js";
import { patterned, secret } from "./common.js";

const LISTEN = "HOST:PORT or [IPv6]:PORT; port 0-65535 (0 = any free port).";

export const httpSchema = z.strictObject({
  listen: patterned("^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]]*):[0-9]+$")
    .meta({ description: LISTEN })
    .default("127.0.0.1:8080"),
  token: secret("Bearer token for mutating routes (secret).").optional(),
  token_file: z.string().optional(),
  webhook_secret: lengthLimited(z.string(), { minLength: 16 })
    .meta({
      description:
        "Shared secret PVE's notification webhook sends in the X-Backup2mqtt-Secret header (secret, at least 16 characters).",
    })
    .optional(),
  webhook_secret_file: z.string().optional(),
});
