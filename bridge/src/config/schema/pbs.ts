/** `pbs:` — Proxmox Backup Servers whose datastores hold the PVE backups (optional). */
import { z } from "zod";
import { duration, fingerprint, httpsUrl, record, secret, sourceName, tokenId } from "./common.js";

const datastoreSchema = z.strictObject({
  storages: z
    .array(z.string())
    .meta({ description: "PVE storage ids (type pbs) pointing at this datastore." })
    .default([]),
});

export const pbsSchema = z.strictObject({
  name: sourceName(),
  url: httpsUrl("https://pbs:8007 (a host, no path)"),
  token_id: tokenId("USER@REALM!TOKENNAME"),
  token_secret: secret().optional(),
  token_secret_file: z.string().optional(),
  fingerprint: fingerprint().optional(),
  ca_file: z.string().optional(),
  timeout: duration("Timeout of one API request, 1s to 1h.").default("15s"),
  poll_interval: duration("How often the datastores are read, 1s to 24h.").default("5m"),
  offsite: z
    .boolean()
    .meta({ description: "This PBS stands at another site: its datastores hold off-site copies." })
    .default(false),
  sync_offsite: z.boolean().meta({ description: "Push sync jobs to a remote count as off-site copies." }).default(true),
  datastores: record(datastoreSchema)
    .meta({
      description: "Key: datastore name. Only these are read when given; otherwise every datastore the token sees.",
    })
    .default({}),
});
