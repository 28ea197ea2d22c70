import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Evidence } from "../evidence.js";
import type { Logger } from "../log.js";
import { JsonFile, type ReadProblem } from "./json-file.js";
import type { FallbackRecord, FallbackRecords } from "../policy/fallback.js";
import type { JobDue, JobsDueState } from "../policy/missed-jobs.js";

/** A vzdump (or restore test) the bridge started and has not seen end yet. */
export interface InflightTask {
  kind: "backup" | "restore_test";
  source: string;
  upid: string;
  node: string;
  vmid: number;
  startedMs: number;
  origin: string;
}

export interface VerificationRecord {
  source: string;
  vmid: number;
  volid: string;
  timeMs: number;
  ok: boolean;
  method: "ssh" | "pbs";
  reason?: string;
}

export interface RestoreRecord {
  source: string;
  vmid: number;
  volid: string;
  scratchVmid: number;
  timeMs: number;
  durationMs: number;
  ok: boolean;
  reason?: string;
  cleanedUp: boolean;
}

export interface AuditRecord {
  time: string;
  action: string;
  target: string;
  /** Who or where from: home_assistant, http, mqtt, scheduler, … */
  origin: string;
  result: "accepted" | "rejected" | "finished" | "failed";
  detail?: string;
}

const KEEP_RECORDS = 5000;

/*
 * The shapes of the state files. Fields the bridge reads are checked; fields it does not know
 * (written by a newer version) are kept as they are.
 */
const int = z.number().int();
const time = z.number().finite();
const inflightSchema: z.ZodType<InflightTask> = z.looseObject({
  kind: z.enum(["backup", "restore_test"]),
  source: z.string(),
  upid: z.string().min(1),
  node: z.string(),
  vmid: int,
  startedMs: time,
  origin: z.string(),
});
const verificationSchema: z.ZodType<VerificationRecord> = z.looseObject({
  source: z.string(),
  vmid: int,
  volid: z.string(),
  timeMs: time,
  ok: z.boolean(),
  method: z.enum(["ssh", "pbs"]),
  reason: z.string().optional(),
});
const restoreSchema: z.ZodType<RestoreRecord> = z.looseObject({
  source: z.string(),
  vmid: int,
  volid: z.string(),
  scratchVmid: int,
  timeMs: time,
  durationMs: z.number().finite(),
  ok: z.boolean(),
  reason: z.string().optional(),
  cleanedUp: z.boolean(),
});
const auditSchema: z.ZodType<AuditRecord> = z.looseObject({
  time: z.string(),
  action: z.string(),
  target: z.string(),
  origin: z.string(),
  result: z.enum(["accepted", "rejected", "finished", "failed"]),
  detail: z.string().optional(),
});
/** jobs-due.json: per backup job (`<source>/<id>`), what the missed-jobs watchdog remembers. */
const jobDueSchema: z.ZodType<JobDue> = z.looseObject({
  schedule: z.string(),
  sinceMs: time,
  dueMs: time.nullable(),
  ranMs: z.record(z.string(), time),
  offlineMs: z.record(z.string(), time).optional(),
});
/** fallback.json: per guest id, the self-healing fallback's memory (policy/fallback.ts). */
const fallbackSchema: z.ZodType<FallbackRecord> = z.looseObject({
  badSince: time.optional(),
  approved: z.boolean().optional(),
  announced: z.string().optional(),
  runs: z.array(
    z.looseObject({
      startedMs: time,
      upid: z.string().optional(),
      node: z.string(),
      result: z.enum(["running", "ok", "failed"]),
      endedMs: time.optional(),
    }),
  ),
});
/** Guest id → tier id, set from Home Assistant. */
const tierOverridesSchema = z.record(z.string(), z.string());

const were = (n: number | undefined, one: string, many: string) =>
  n === 1 ? `${one} was` : `${n === undefined ? "" : `${n} `}${many} were`;

export interface StoreOptions {
  /** Where the one line about each unreadable state file goes. */
  log?: Logger;
  /** Leave unreadable files where they are (report, plan: they change nothing in state_dir). */
  readOnly?: boolean;
}

/** tier-overrides.json: the tiers set from Home Assistant, validated like every state file. */
export function tierOverridesFile(dir: string, opts: StoreOptions = {}): JsonFile<Record<string, string>> {
  return new JsonFile<Record<string, string>>(
    path.join(dir, "tier-overrides.json"),
    {},
    {
      schema: tierOverridesSchema,
      loss: (n) =>
        n === undefined
          ? "every tier set from Home Assistant is forgotten and those guests are back on their configured tier"
          : `${n === 1 ? "that guest is" : "those guests are"} back on ${n === 1 ? "its" : "their"} configured tier`,
      ...opts,
    },
  );
}

/**
 * What no upstream remembers for us, in state_dir: in-flight task ids (so a restart — even after
 * kill -9 — resumes following them), verification and restore-test results, and an append-only
 * audit of manual actions. Files are replaced atomically; the audit is appended line by line.
 * A failing disk is reported (lastError) and never crashes the bridge.
 */
export class Store {
  private readonly inflightFile: JsonFile<InflightTask[]>;
  private readonly verificationsFile: JsonFile<VerificationRecord[]>;
  private readonly restoresFile: JsonFile<RestoreRecord[]>;
  private readonly auditPath: string;
  /** tier-overrides.json (read and written by the bridge's set_tier). */
  readonly tierOverridesFile: JsonFile<Record<string, string>>;
  private readonly jobsDueFile: JsonFile<JobsDueState>;
  /** The missed-jobs watchdog's memory (policy/missed-jobs.ts): when each job was first seen, was due, ran. */
  jobsDue: JobsDueState;
  private readonly fallbackFile: JsonFile<FallbackRecords>;
  /** The self-healing fallback's plans and runs per guest (extensions/fallback.ts). */
  fallback: FallbackRecords;
  inflight: InflightTask[];
  verifications: VerificationRecord[];
  restores: RestoreRecord[];
  lastError: string | undefined;
  /** What was wrong with the state files when they were read (each also logged once). */
  readonly problems: ReadProblem[] = [];
  private auditSkipReported = false;
  private auditNeedsNewline: boolean;

  /** Never throws: an unreadable file is moved aside, logged, and its content starts empty. */
  constructor(
    readonly dir: string,
    private readonly opts: StoreOptions = {},
  ) {
    this.inflightFile = new JsonFile<InflightTask[]>(path.join(dir, "inflight.json"), [], {
      schema: z.array(inflightSchema),
      loss: (n) =>
        `the bridge will not report the end of ${n === undefined ? "the backups and restore tests that were" : were(n, "a backup or restore test that", "backups or restore tests that")} running before this start`,
      ...opts,
    });
    this.verificationsFile = new JsonFile<VerificationRecord[]>(path.join(dir, "verifications.json"), [], {
      schema: z.array(verificationSchema),
      loss: (n) =>
        `${n === undefined ? "earlier archive verification results are" : n === 1 ? "that verification result is" : "those verification results are"} forgotten, so those archives count as not verified until they are verified again`,
      ...opts,
    });
    this.restoresFile = new JsonFile<RestoreRecord[]>(path.join(dir, "restore-tests.json"), [], {
      schema: z.array(restoreSchema),
      loss: (n) =>
        `${n === undefined ? "earlier restore test results are" : n === 1 ? "that restore test result is" : "those restore test results are"} forgotten until the next restore test`,
      ...opts,
    });
    this.tierOverridesFile = tierOverridesFile(dir, opts);
    this.jobsDueFile = new JsonFile<JobsDueState>(
      path.join(dir, "jobs-due.json"),
      {},
      {
        schema: z.record(z.string(), jobDueSchema),
        loss: (n) =>
          `the missed-jobs watchdog starts over for ${n === undefined ? "every backup job" : n === 1 ? "that backup job" : "those backup jobs"}: a run missed before this start is not reported`,
        ...opts,
      },
    );
    this.jobsDue = this.jobsDueFile.read();
    if (this.jobsDueFile.problem) this.problems.push(this.jobsDueFile.problem);
    this.fallbackFile = new JsonFile<FallbackRecords>(
      path.join(dir, "fallback.json"),
      {},
      {
        schema: z.record(z.string(), fallbackSchema),
        loss: (n) =>
          `the fallback forgets what it planned and ran for ${n === undefined ? "every guest" : n === 1 ? "that guest" : "those guests"} (a fallback running now is still followed as a backup the bridge started)`,
        ...opts,
      },
    );
    this.fallback = this.fallbackFile.read();
    if (this.fallbackFile.problem) this.problems.push(this.fallbackFile.problem);
    this.auditPath = path.join(dir, "audit.jsonl");
    this.inflight = this.inflightFile.read();
    this.verifications = this.verificationsFile.read();
    this.restores = this.restoresFile.read();
    for (const f of [this.inflightFile, this.verificationsFile, this.restoresFile])
      if (f.problem) this.problems.push(f.problem);
    this.auditNeedsNewline = endsWithoutNewline(this.auditPath);
  }

  /** Returns false when the record could not be made durable (the caller must not acknowledge). */
  addInflight(t: InflightTask): boolean {
    this.inflight = [...this.inflight.filter((x) => x.upid !== t.upid), t];
    return this.save(this.inflightFile, this.inflight);
  }

  removeInflight(upid: string): void {
    if (!this.inflight.some((x) => x.upid === upid)) return;
    this.inflight = this.inflight.filter((x) => x.upid !== upid);
    this.save(this.inflightFile, this.inflight);
  }

  /** Keeps the missed-jobs watchdog's memory (written only when it changed). */
  setJobsDue(state: JobsDueState): void {
    if (state === this.jobsDue || JSON.stringify(state) === JSON.stringify(this.jobsDue)) return;
    this.jobsDue = state;
    this.save(this.jobsDueFile, state);
  }

  /** Keeps the fallback's records; false when they could not be made durable. */
  setFallback(records: FallbackRecords): boolean {
    this.fallback = records;
    return this.save(this.fallbackFile, records);
  }

  addVerification(r: VerificationRecord): void {
    this.verifications = [...this.verifications, r].slice(-KEEP_RECORDS);
    this.save(this.verificationsFile, this.verifications);
  }

  addRestore(r: RestoreRecord): void {
    this.restores = [...this.restores, r].slice(-KEEP_RECORDS);
    this.save(this.restoresFile, this.restores);
  }

  audit(r: AuditRecord): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      // A line cut off by a crash is closed first, so it does not swallow this record.
      const prefix = this.auditNeedsNewline ? "\n" : "";
      fs.appendFileSync(this.auditPath, `${prefix + JSON.stringify(r)}\n`, { mode: 0o600 });
      this.auditNeedsNewline = false;
    } catch (e) {
      this.lastError = `audit log: ${(e as Error).message}`;
    }
  }

  /** What the bridge recorded, as policy evidence. */
  evidence(): Pick<Evidence, "verifications" | "restoreTests"> {
    const strip = <T extends { reason?: string }>(r: T) => (r.reason ? { reason: r.reason } : {});
    return {
      verifications: this.verifications.map((v) => ({
        source: v.source,
        vmid: v.vmid,
        volid: v.volid,
        timeMs: v.timeMs,
        ok: v.ok,
        ...strip(v),
      })),
      restoreTests: this.restores.map((r) => ({
        source: r.source,
        vmid: r.vmid,
        volid: r.volid,
        timeMs: r.timeMs,
        ok: r.ok,
        ...strip(r),
      })),
    };
  }

  /** The last `limit` readable records of the audit; a damaged line is skipped, never the whole log. */
  readAudit(limit = 200): AuditRecord[] {
    let text: string;
    try {
      text = fs.readFileSync(this.auditPath, "utf8");
    } catch {
      return [];
    }
    const out: AuditRecord[] = [];
    let skipped = 0;
    const lines = text.split("\n");
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const line = lines[i]!.trim();
      if (!line) continue;
      let rec: AuditRecord | undefined;
      try {
        const r = auditSchema.safeParse(JSON.parse(line));
        if (r.success) rec = r.data;
      } catch {
        /* not JSON */
      }
      if (rec) out.push(rec);
      else skipped++;
    }
    if (skipped && !this.auditSkipReported) {
      this.auditSkipReported = true;
      this.opts.log?.warn(
        { file: this.auditPath, skipped },
        `audit.jsonl has ${skipped === 1 ? "a line" : `${skipped} lines`} that could not be read; ${skipped === 1 ? "it is" : "they are"} skipped and the rest of the audit is shown`,
      );
    }
    return out.reverse();
  }

  private save<T>(file: JsonFile<T>, value: T): boolean {
    const err = file.write(value);
    this.lastError = err;
    return err === undefined;
  }
}

/** True when the file exists, is not empty and its last byte is not a newline. */
function endsWithoutNewline(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    if (size === 0) return false;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
