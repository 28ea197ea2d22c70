/** `proxmox:` — the PVE clusters read (at least one), with the options of back up now, SSH, verification and restore tests. */
import { z } from "zod";
import { jsonInteger } from "../../schemas/json-schema.js";
import {
  backupModes,
  compressions,
  duration,
  fingerprint,
  httpsUrl,
  patterned,
  record,
  secret,
  sourceName,
  tokenId,
} from "./common.js";

const HOST_KEY = "^SHA256:[A-Za-z0-9+/]{43}=?$";
const port = () => jsonInteger({ minimum: 1, maximum: 65535 });

const backupSchema = z
  .strictObject({
    storage: z.string().optional(),
    mode: z.enum(backupModes).default("snapshot"),
    compress: z.enum(compressions).default("zstd"),
    notes_template: z.string().default("{{guestname}}"),
    method: z
      .enum(["api", "ssh"])
      .meta({
        description: "api: POST /nodes/{node}/vzdump (default). ssh: run vzdump on the node over SSH (needs ssh).",
      })
      .default("api"),
  })
  .meta({ description: "Options for 'back up now'." });

const sshNodeSchema = z.strictObject({
  host: z.string().optional(),
  port: port().optional(),
  host_key: patterned(HOST_KEY),
});

const sshSchema = z
  .strictObject({
    host: z.string().meta({ description: "Default: the host of url." }).optional(),
    port: port().default(22),
    username: z.string().default("root"),
    private_key_file: z.string().optional(),
    password: secret().optional(),
    password_file: z.string().optional(),
    host_key: patterned(HOST_KEY).meta({
      description: "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the node",
    }),
    nodes: record(sshNodeSchema).meta({ description: "Per node: other host and host key." }).default({}),
    timeout: duration("Timeout of one SSH command (a vzdump over SSH runs this long at most), 1s to 24h.").default(
      "2h",
    ),
  })
  .meta({
    description:
      "SSH to the nodes, for archive verification and vzdump over SSH. The host key is pinned; there is no trust-on-first-use.",
  });

const verifySchema = z.strictObject({
  automatic: z.boolean().meta({ description: "Verify archives by each tier's verify_every." }).default(true),
  quiet_hours: patterned("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")
    .meta({ description: "No automatic verification in this local-time window, e.g. 01:00-06:00 (the backup window)." })
    .optional(),
});

const restoreTestSchema = z
  .strictObject({
    scratch_vmid: jsonInteger({ minimum: 100, maximum: 999_999_999 }),
    storage: z.string(),
    node: z.string().optional(),
    timeout: duration("How long a restore test may take, 1m to 7d.").default("2h"),
  })
  .meta({ description: "Where restore tests restore to (tiers opt in with restore_test: true)." });

export const proxmoxSchema = z.strictObject({
  name: sourceName("Name of this cluster (source name)."),
  url: httpsUrl("https://host:8006 (a host, no path)"),
  token_id: tokenId("USER@REALM!TOKENID"),
  token_secret: secret("Secret (the token's UUID value).").optional(),
  token_secret_file: z.string().optional(),
  fingerprint: fingerprint(
    "SHA-256 certificate fingerprint as PVE shows it (AA:BB:...). Pins the certificate.",
  ).optional(),
  ca_file: z
    .string()
    .meta({
      description:
        "PEM file of the CA to trust, e.g. /etc/pve/pve-root-ca.pem (relative paths start at the config file's folder); it must exist.",
    })
    .optional(),
  timeout: duration("Timeout of one API request, 1s to 1h.").default("10s"),
  poll_interval: duration("How often the cluster is read, 1s to 24h.").default("60s"),
  content_interval: duration(
    "How often backup storages are listed (also at once after a backup task ends), 1s to 7d.",
  ).default("10m"),
  backup: backupSchema.prefault({}),
  ssh: sshSchema.optional(),
  verify: verifySchema.prefault({}),
  restore_test: restoreTestSchema.optional(),
});
