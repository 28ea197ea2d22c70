/**
 * Scenario files: the data that describes a simulated lab (nodes, storages, guests, archives,
 * jobs, task history, tokens). YAML or JSON, validated with zod so a typo fails loudly with
 * the file and key path instead of producing a silently different lab.
 */
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { z } from "zod";
import { parseCalendar } from "./calendar.js";
import { assertTimeZone } from "./timezone.js";
import { ROLES } from "./acl.js";
import { DsmScenarioSchema } from "./dsm/scenario.js";
import { PbsScenarioSchema } from "./pbs/scenario.js";
import { ReplicationSchema } from "./replication.js";

/** The package's scenarios/ folder, from src/ (tests) and from dist/ (compiled) alike: both sit one level below it. */
export const scenariosDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "scenarios");

const bool01 = z.union([z.literal(0), z.literal(1), z.boolean()]);
const vmidNum = z.number().int().min(100).max(999_999_999);
/** `[100, 101]` or `"100,101"` — jobs keep PVE's string form on the wire. */
const vmidList = z.union([z.array(vmidNum), z.string().regex(/^\d+(\s*,\s*\d+)*$/, "comma-separated VMIDs")]);
const duration = z.string().regex(/^(\d+(\.\d+)?[smhdw])+$/, "a duration like 90s, 5h, 10d, 1d12h");
const timeZone = z.string().refine(
  (tz) => {
    try {
      assertTimeZone(tz);
      return true;
    } catch {
      return false;
    }
  },
  { message: "unknown IANA time zone" },
);
const schedule = z.string().refine(
  (s) => {
    try {
      parseCalendar(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a calendar event PVE understands (e.g. '02:00', 'sun 03:00', 'mon..fri 21:00', '*/30')" },
);
const pruneValue = z.union([z.string(), z.number().int().min(0)]);
const pruneBackups = z.partialRecord(
  z.enum(["keep-all", "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"]),
  pruneValue,
);
const when = {
  /** Seconds before lab start. */
  ageSeconds: z.number().min(0).optional(),
  /** Same as ageSeconds, as a duration string. */
  age: duration.optional(),
  /** Absolute time (ISO 8601). */
  time: z.string().datetime({ offset: true }).optional(),
};

const NodeSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/, "a host name"),
    timezone: timeZone.default("UTC"),
    status: z.enum(["online", "offline"]).default("online"),
    uptimeSeconds: z
      .number()
      .int()
      .min(0)
      .default(40 * 86400),
    maxcpu: z.number().int().min(1).default(8),
    maxmem: z.number().int().min(1).default(34_359_738_368),
  })
  .strict();

const StorageSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i, "a PVE storage id"),
    type: z.enum(["dir", "nfs", "cifs", "pbs", "cephfs", "rbd", "btrfs", "lvmthin", "zfspool"]),
    shared: bool01.optional(),
    content: z.union([z.array(z.string()), z.string()]).default(["backup"]),
    /** Nodes the storage is available on; default all. */
    nodes: z.array(z.string()).optional(),
    path: z.string().optional(),
    total: z.number().int().min(0).default(1_000_000_000_000),
    used: z.number().int().min(0).default(250_000_000_000),
    enabled: bool01.default(1),
    /** 0 = unreachable: listed but content listing fails. */
    active: bool01.default(1),
    "prune-backups": pruneBackups.optional(),
    /**
     * Where a network storage mounts from, as storage.cfg holds it (pve-storage NFSPlugin.pm:
     * `server`, `export`, mount `options`; CIFSPlugin.pm: `server`, `share`, `subdir` — mounted as
     * //server/share<subdir> —, `username`, `domain`, `smbversion`; the CIFS password is kept in
     * /etc/pve/priv/storage/<id>.pw and never listed). Default for nfs: server nas.home.arpa, export
     * /volume1/<id>; for cifs: server nas.home.arpa, share <id>.
     */
    server: z.string().min(1).optional(),
    export: z.string().startsWith("/").optional(),
    options: z.string().optional(),
    share: z.string().min(1).optional(),
    subdir: z.string().startsWith("/").optional(),
    username: z.string().optional(),
    domain: z.string().optional(),
    smbversion: z.enum(["default", "2.0", "2.1", "3", "3.0", "3.11"]).optional(),
  })
  .strict();

/**
 * One disk (qemu drive) or mount point (lxc) of a guest, for its config and vzdump's
 * included_volumes. `key` is the config key; a volume lives on `storage` (default the guest's
 * `disk` storage), a passthrough disk / bind mount names its host `path` instead.
 */
const GuestDiskSchema = z
  .object({
    key: z
      .string()
      .regex(
        /^(ide\d|sata\d|scsi\d{1,2}|virtio\d{1,2}|efidisk0|tpmstate0|rootfs|mp\d{1,3})$/,
        "a disk key like scsi0, efidisk0, rootfs, mp0",
      ),
    storage: z.string().optional(),
    /** Size as PVE writes it ("32G", "528K"); default the guest's maxdisk (efidisk 528K/4M, tpmstate 4M). */
    size: z
      .string()
      .regex(/^\d+[KMGT]?$/, "a size like 32G")
      .optional(),
    /** false → `backup=0` (qemu: excluded). lxc mount points: true → `backup=1`, PVE backs up no mount point without it. */
    backup: z.boolean().optional(),
    /** A CD-ROM drive (never backed up); `iso` is its image, default none. */
    media: z.literal("cdrom").optional(),
    iso: z.string().optional(),
    /** A cloud-init drive (a CD-ROM on `storage`). */
    cloudinit: z.boolean().optional(),
    /** Passthrough disk (/dev/disk/by-id/…) or container bind mount (/srv/data) / device mount (/dev/…). */
    path: z.string().startsWith("/").optional(),
    /** lxc mount points: where it is mounted in the container (default /mnt/<key>). */
    mp: z.string().startsWith("/").optional(),
  })
  .strict();

const GuestSchema = z
  .object({
    vmid: vmidNum,
    type: z.enum(["qemu", "lxc"]),
    name: z.string().min(1),
    node: z.string(),
    status: z.enum(["running", "stopped", "paused"]).default("running"),
    tags: z.union([z.array(z.string()), z.string()]).default([]),
    template: bool01.default(0),
    pool: z.string().optional(),
    /** How long one backup of this guest takes (lab seconds, before taskSpeed). */
    backupSeconds: z.number().positive().optional(),
    /** Archive size in bytes. */
    archiveSize: z.number().int().positive().optional(),
    /** Every backup logs this `WARN:` line (→ task `WARNINGS: n`). */
    warn: z.string().optional(),
    /** Every backup fails with this reason. */
    failReason: z.string().optional(),
    /** The storage holding the guest's disks (default local-lvm); an `rbd` one makes container snapshot backups log rbd's own output. */
    disk: z.string().optional(),
    /** The guest's disks / mount points in config order; absent = one root disk (scsi0 / rootfs) on `disk`. */
    disks: z.array(GuestDiskSchema).optional(),
    cpus: z.number().int().min(1).default(2),
    maxmem: z.number().int().min(1).default(4_294_967_296),
    maxdisk: z.number().int().min(1).default(34_359_738_368),
    /** Config `onboot` (absent: not set, PVE's default 0). */
    onboot: bool01.optional(),
    /** Config `ostype`; default l26 (qemu) or debian (lxc). */
    ostype: z
      .string()
      .regex(/^[a-z0-9]+$/, "an ostype like l26, win11, debian, alpine")
      .optional(),
  })
  .strict();

const ArchiveSchema = z
  .object({
    vmid: vmidNum,
    storage: z.string(),
    /** For node-local storages: which node's copy; default the guest's node. */
    node: z.string().optional(),
    ...when,
    size: z.number().int().positive().optional(),
    format: z.enum(["vma", "vma.zst", "vma.gz", "vma.lzo", "tar", "tar.zst", "tar.gz", "tar.lzo"]).optional(),
    /** qemu|lxc; default from the guest (needed for archives of guests that no longer exist). */
    subtype: z.enum(["qemu", "lxc"]).optional(),
    notes: z.string().optional(),
    protected: bool01.optional(),
    /** PBS only: verify state. */
    verification: z.enum(["ok", "failed"]).optional(),
    /** The file is damaged (verification over SSH fails). */
    corrupt: z.boolean().optional(),
  })
  .strict();

const JobSchema = z
  .object({
    id: z.string().regex(/^\S{1,50}$/, "a job id (no spaces, ≤50 chars)"),
    schedule: schedule.optional(),
    enabled: bool01.optional(),
    vmid: vmidList.optional(),
    all: bool01.optional(),
    exclude: vmidList.optional(),
    pool: z.string().optional(),
    node: z.string().optional(),
    storage: z.string().optional(),
    mode: z.enum(["snapshot", "suspend", "stop"]).optional(),
    compress: z.union([z.enum(["0", "1", "gzip", "lzo", "zstd"]), z.literal(0), z.literal(1)]).optional(),
    "prune-backups": pruneBackups.optional(),
    "notes-template": z.string().optional(),
    comment: z.string().max(512).optional(),
    protected: bool01.optional(),
    "repeat-missed": bool01.optional(),
    remove: bool01.optional(),
    mailto: z.string().optional(),
    mailnotification: z.enum(["always", "failure"]).optional(),
    "notification-mode": z.enum(["auto", "legacy-sendmail", "notification-system"]).optional(),
    quiet: bool01.optional(),
    /**
     * Lab only (not served): the job's schedule becomes the daily time of day (node-local, whole
     * minutes) this long before lab start, so its last due instant is that old. Without a task of
     * the job at that age in `tasks`, that run did not happen (as if the node had been down then).
     */
    dueAge: duration.optional(),
    /** Lab only (not served): the next n scheduled runs after lab start do not happen (the node was down then). */
    skipRuns: z.number().int().min(1).optional(),
  })
  .strict();

const TaskGuestSchema = z
  .object({
    vmid: vmidNum,
    /** This guest's backup fails with this reason. */
    fail: z.string().optional(),
    warn: z.string().optional(),
    seconds: z.number().positive().optional(),
    /** This guest's backup hangs: it never ends and prints no progress (a stuck storage, a hung QMP); only a stop (DELETE of the task) ends it. */
    hang: z.boolean().optional(),
  })
  .strict();

/**
 * A task that started before the lab did. vzdump tasks are simulated from their start time,
 * so they write archives, logs and exit statuses exactly like live ones (and may still be
 * running at lab start). Other types are stored as given.
 */
const TaskSchema = z
  .object({
    node: z.string().optional(),
    type: z.string().default("vzdump"),
    ...when,
    user: z.string().default("root@pam"),
    /** vzdump: take storage/mode/compress/notes-template/prune-backups from this job. */
    job: z.string().optional(),
    storage: z.string().optional(),
    mode: z.enum(["snapshot", "suspend", "stop"]).optional(),
    compress: z.string().optional(),
    "notes-template": z.string().optional(),
    /** vzdump: guests in order, with forced outcomes. */
    guests: z.array(TaskGuestSchema).optional(),
    /** vzdump: the job fails as a whole right after its first lines ("ERROR: Backup job failed - <this>"), before any guest. */
    jobError: z.string().optional(),
    /** vzdump: an empty line before the closing TASK line, as some real logs have. */
    blankLineBeforeEnd: z.boolean().optional(),
    /** vzdump: the node's proxmox-backup-client version when the task ran (before 1.0.12 it logged "had to upload …"). */
    pbsClient: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, "a version like 1.0.11")
      .optional(),
    /** non-vzdump: the task id field, exit status and duration. */
    id: z.string().optional(),
    exitstatus: z.string().optional(),
    durationSeconds: z.number().min(0).optional(),
  })
  .strict();

const privName = z.string().regex(/^[A-Z][A-Za-z]*(\.[A-Za-z]+)+$/, "a privilege like VM.Audit");
export const AclEntrySchema = z
  .object({
    path: z.string().regex(/^\/[^\s]*$/, "an ACL path like /, /vms/100, /storage/local"),
    roles: z
      .array(
        z.string().refine((r) => r in ROLES, { message: `unknown role (known: ${Object.keys(ROLES).join(", ")})` }),
      )
      .default([]),
    privs: z.array(privName).default([]),
    propagate: bool01.default(1),
  })
  .strict();

const TokenSchema = z
  .object({
    id: z.string().regex(/^[^\s@!]+@[^\s@!]+![A-Za-z][A-Za-z0-9._-]*$/, "USER@REALM!TOKENID"),
    secret: z.string().min(1),
    /** privsep 0: the token has its user's privileges (modelled as Administrator). */
    privsep: bool01.default(1),
    acl: z.array(AclEntrySchema).default([]),
    /** Epoch seconds; expired tokens get 401. */
    expire: z.number().int().min(0).optional(),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    description: z.string().optional(),
    cluster: z.string().default("homelab"),
    version: z
      .object({ version: z.string(), release: z.string(), repoid: z.string() })
      .strict()
      .default({ version: "9.1.6", release: "9.1", repoid: "1f4e0a8c2f9d3b71" }),
    /** Default seconds per guest backup (before taskSpeed). */
    backupSeconds: z.number().positive().default(60),
    nodes: z.array(NodeSchema).min(1),
    storages: z.array(StorageSchema).default([]),
    guests: z.array(GuestSchema).default([]),
    archives: z.array(ArchiveSchema).default([]),
    jobs: z.array(JobSchema).default([]),
    tasks: z.array(TaskSchema).default([]),
    tokens: z.array(TokenSchema).default([]),
    /** Storage replication jobs (pvesr), see replication.ts. */
    replication: z.array(ReplicationSchema).default([]),
    /** Optional simulated Synology NAS (Hyper Backup), started beside the PVE lab by the demo. */
    synology: DsmScenarioSchema.optional(),
    /** Optional simulated Proxmox Backup Server. */
    pbs: PbsScenarioSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const nodes = new Set(s.nodes.map((n) => n.name));
    const storages = new Set(s.storages.map((x) => x.id));
    const guests = new Set<number>();
    const nodeRef = (name: string | undefined, p: (string | number)[]): void => {
      if (name !== undefined && !nodes.has(name))
        ctx.addIssue({ code: "custom", path: p, message: `unknown node '${name}'` });
    };
    const storageRef = (id: string | undefined, p: (string | number)[]): void => {
      if (id !== undefined && !storages.has(id))
        ctx.addIssue({ code: "custom", path: p, message: `unknown storage '${id}'` });
    };
    for (const [i, st] of s.storages.entries())
      for (const [j, n] of (st.nodes ?? []).entries()) nodeRef(n, ["storages", i, "nodes", j]);
    s.guests.forEach((g, i) => {
      nodeRef(g.node, ["guests", i, "node"]);
      storageRef(g.disk, ["guests", i, "disk"]);
      g.disks?.forEach((d, j) => {
        storageRef(d.storage, ["guests", i, "disks", j, "storage"]);
        const qemuKey = !/^(rootfs|mp\d+)$/.test(d.key);
        if (qemuKey !== (g.type === "qemu"))
          ctx.addIssue({
            code: "custom",
            path: ["guests", i, "disks", j, "key"],
            message: `'${d.key}' is not a ${g.type === "qemu" ? "VM drive" : "container mount point"} key`,
          });
        if (g.disks!.findIndex((o) => o.key === d.key) !== j)
          ctx.addIssue({
            code: "custom",
            path: ["guests", i, "disks", j, "key"],
            message: `duplicate disk key '${d.key}'`,
          });
      });
      if (guests.has(g.vmid))
        ctx.addIssue({ code: "custom", path: ["guests", i, "vmid"], message: `duplicate vmid ${g.vmid}` });
      guests.add(g.vmid);
    });
    s.archives.forEach((a, i) => {
      storageRef(a.storage, ["archives", i, "storage"]);
      nodeRef(a.node, ["archives", i, "node"]);
      if (!guests.has(a.vmid) && !a.subtype) {
        ctx.addIssue({
          code: "custom",
          path: ["archives", i, "subtype"],
          message: `vmid ${a.vmid} is not a guest: give subtype qemu|lxc`,
        });
      }
    });
    const jobIds = new Set<string>();
    s.jobs.forEach((j, i) => {
      storageRef(j.storage, ["jobs", i, "storage"]);
      nodeRef(j.node, ["jobs", i, "node"]);
      if (jobIds.has(j.id))
        ctx.addIssue({ code: "custom", path: ["jobs", i, "id"], message: `duplicate job id '${j.id}'` });
      jobIds.add(j.id);
      if (j.vmid !== undefined && (j.all || j.exclude !== undefined || j.pool !== undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["jobs", i, "vmid"],
          message: "vmid is mutually exclusive with all/exclude/pool",
        });
      }
      if (j.dueAge !== undefined && j.schedule !== undefined)
        ctx.addIssue({ code: "custom", path: ["jobs", i, "dueAge"], message: "give either schedule or dueAge" });
      if (j.vmid === undefined && !j.all && j.exclude === undefined && j.pool === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["jobs", i],
          message: "a job selects guests with vmid, all (+exclude) or pool",
        });
      }
    });
    s.tasks.forEach((t, i) => {
      nodeRef(t.node, ["tasks", i, "node"]);
      storageRef(t.storage, ["tasks", i, "storage"]);
      if (t.job !== undefined && !jobIds.has(t.job))
        ctx.addIssue({ code: "custom", path: ["tasks", i, "job"], message: `unknown job '${t.job}'` });
      if (t.type === "vzdump" && !t.guests?.length)
        ctx.addIssue({ code: "custom", path: ["tasks", i, "guests"], message: "a vzdump task needs guests" });
      if (t.ageSeconds === undefined && t.age === undefined && t.time === undefined) {
        ctx.addIssue({ code: "custom", path: ["tasks", i], message: "give ageSeconds, age or time" });
      }
    });
    const replicated = new Set<string>();
    s.replication.forEach((r, i) => {
      const guest = s.guests.find((g) => g.vmid === r.guest);
      if (!guest)
        ctx.addIssue({ code: "custom", path: ["replication", i, "guest"], message: `unknown guest ${r.guest}` });
      nodeRef(r.target, ["replication", i, "target"]);
      if (guest && guest.node === r.target)
        ctx.addIssue({ code: "custom", path: ["replication", i, "target"], message: "unable to sync to local node" });
      // One job per guest and target (ReplicationConfig.pm parse_config); ids are unique too.
      for (const key of [`${r.guest}>${r.target}`, `${r.guest}-${r.jobnum}`]) {
        if (replicated.has(key))
          ctx.addIssue({ code: "custom", path: ["replication", i], message: `duplicate replication job ${key}` });
        replicated.add(key);
      }
      if (r.schedule !== undefined) {
        try {
          parseCalendar(r.schedule);
        } catch {
          ctx.addIssue({ code: "custom", path: ["replication", i, "schedule"], message: "not a calendar event" });
        }
      }
    });
    s.archives.forEach((a, i) => {
      if (a.ageSeconds === undefined && a.age === undefined && a.time === undefined) {
        ctx.addIssue({ code: "custom", path: ["archives", i], message: "give ageSeconds, age or time" });
      }
    });
  });

/** What a scenario file (or object) may contain. */
export type Scenario = z.input<typeof ScenarioSchema>;
/** A validated scenario with defaults filled in. */
export type ResolvedScenario = z.output<typeof ScenarioSchema>;
export type ScenarioGuest = z.input<typeof GuestSchema>;
export type GuestDisk = z.output<typeof GuestDiskSchema>;
export type ScenarioJob = z.output<typeof JobSchema>;
export type AclEntryInput = z.input<typeof AclEntrySchema>;
export type AclEntry = z.output<typeof AclEntrySchema>;
export { GuestSchema, ArchiveSchema, JobSchema };

export class ScenarioError extends Error {}

function formatIssues(source: string, error: z.ZodError): string {
  const lines = error.issues.map((iss) => {
    const key = iss.path.length
      ? iss.path
          .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
          .join("")
          .replace(/^\./, "")
      : "(top level)";
    return `  ${key}: ${iss.message}`;
  });
  return `invalid scenario ${source}:\n${lines.join("\n")}`;
}

export function validateScenario(data: unknown, source = "(object)"): ResolvedScenario {
  const r = ScenarioSchema.safeParse(data);
  if (!r.success) throw new ScenarioError(formatIssues(source, r.error));
  return r.data;
}

/** Resolve "demo"/"seed" to scenarios/<name>.yaml of this package, else treat as a file path. */
export function scenarioPath(nameOrPath: string): string {
  if (/^[\w-]+$/.test(nameOrPath)) {
    const named = path.join(scenariosDir, `${nameOrPath}.yaml`);
    if (existsSync(named)) return named;
  }
  return path.resolve(nameOrPath);
}

export function loadScenario(nameOrPath: string): ResolvedScenario {
  const file = scenarioPath(nameOrPath);
  if (!existsSync(file)) {
    throw new ScenarioError(
      `scenario '${nameOrPath}' not found (looked for ${file}; named scenarios live in ${scenariosDir})`,
    );
  }
  const text = readFileSync(file, "utf8");
  let data: unknown;
  try {
    data = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ScenarioError(
      `scenario ${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`,
    );
  }
  return validateScenario(data, file);
}

/** Seconds-since-lab-start helpers for `ageSeconds` / `age` / `time`. */
export function parseDurationSeconds(text: string): number {
  let total = 0;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) total += Number(m[1]) * (unit[m[2] ?? "s"] ?? 1);
  return total;
}

export function resolveWhen(w: { ageSeconds?: number; age?: string; time?: string }, nowMs: number): number {
  if (w.time !== undefined) return Date.parse(w.time);
  if (w.age !== undefined) return nowMs - parseDurationSeconds(w.age) * 1000;
  return nowMs - (w.ageSeconds ?? 0) * 1000;
}
