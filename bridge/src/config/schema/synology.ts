/** `synology:` — NAS whose Hyper Backup tasks carry PVE backup storages off-site (optional). */
import { z } from "zod";
import { duration, fingerprint, httpsUrl, patterned, record, secret, sourceName } from "./common.js";

const taskSchema = z.strictObject({
  protects: z
    .array(z.string())
    .meta({
      description:
        "PVE storage ids this task copies: vzdump archives on them get an off-site copy, guest disks on them are backed up. Default: found from the task's source folders and the storages' NFS/CIFS mounts.",
    })
    .default([]),
  offsite: z.boolean().meta({ description: "The task's target is at another site." }).default(true),
  max_age: duration("1m to 3650d.").optional(),
});

export const synologySchema = z.strictObject({
  name: sourceName("Name of this NAS (source name)."),
  url: httpsUrl("https://nas:5001 (a host, no path)"),
  username: z.string().meta({ description: "DSM account (see README for the rights it needs)." }),
  password: secret().optional(),
  password_file: z.string().optional(),
  session: patterned("^[A-Za-z0-9_.-]+$").meta({ description: "SYNO.API.Auth session name." }).default("webui"),
  device_name: patterned("^[A-Za-z0-9_.-]{1,64}$")
    .meta({ description: "Trusted-device label for 2FA (backup2mqtt dsm-login)." })
    .default("backup2mqtt"),
  timezone: z
    .string()
    .meta({ description: "IANA time zone of the NAS (Control Panel > Regional Options), e.g. Europe/Berlin." })
    .default("UTC"),
  fingerprint: fingerprint("SHA-256 certificate fingerprint (pins the certificate).").optional(),
  ca_file: z.string().optional(),
  timeout: duration("Timeout of one API request, 1s to 1h.").default("15s"),
  poll_interval: duration("How often Hyper Backup tasks are read, 1s to 24h.").default("5m"),
  max_age: duration("A task whose last success is older shows a problem; 1m to 3650d.").default("26h"),
  hosts: z
    .array(z.string().min(1))
    .meta({
      description:
        "Other names or addresses Proxmox storages use for this NAS (the `server` of an NFS/CIFS storage), when they differ from the url's host and the addresses it resolves to. Needed to find which Hyper Backup task backs up which guest disks.",
    })
    .optional(),
  tasks: record(taskSchema).meta({ description: "Key: Hyper Backup task id or task name." }).default({}),
});
