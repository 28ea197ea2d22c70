import fs from "node:fs";
import path from "node:path";
import type { Evidence } from "../evidence.js";
import { JsonFile } from "./json-file.js";

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
  inflight: InflightTask[];
  verifications: VerificationRecord[];
  restores: RestoreRecord[];
  lastError: string | undefined;

  constructor(readonly dir: string) {
    this.inflightFile = new JsonFile(path.join(dir, "inflight.json"), []);
    this.verificationsFile = new JsonFile(path.join(dir, "verifications.json"), []);
    this.restoresFile = new JsonFile(path.join(dir, "restore-tests.json"), []);
    this.auditPath = path.join(dir, "audit.jsonl");
    this.inflight = this.inflightFile.read();
    this.verifications = this.verificationsFile.read();
    this.restores = this.restoresFile.read();
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
      fs.appendFileSync(this.auditPath, JSON.stringify(r) + "\n", { mode: 0o600 });
    } catch (e) {
      this.lastError = `audit log: ${(e as Error).message}`;
    }
  }

  /** What the bridge recorded, as policy evidence. */
  evidence(): Pick<Evidence, "verifications" | "restoreTests"> {
    const strip = <T extends { reason?: string }>(r: T) => (r.reason ? { reason: r.reason } : {});
    return {
      verifications: this.verifications.map((v) => ({ source: v.source, vmid: v.vmid, volid: v.volid, timeMs: v.timeMs, ok: v.ok, ...strip(v) })),
      restoreTests: this.restores.map((r) => ({ source: r.source, vmid: r.vmid, volid: r.volid, timeMs: r.timeMs, ok: r.ok, ...strip(r) })),
    };
  }

  readAudit(limit = 200): AuditRecord[] {
    try {
      const lines = fs.readFileSync(this.auditPath, "utf8").trim().split("\n").filter(Boolean);
      return lines.slice(-limit).map((l) => JSON.parse(l) as AuditRecord);
    } catch {
      return [];
    }
  }

  private save<T>(file: JsonFile<T>, value: T): boolean {
    const err = file.write(value);
    this.lastError = err;
    return err === undefined;
  }
}
