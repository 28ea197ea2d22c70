/**
 * Metrics of the off-site layer's devices: each Hyper Backup task and PBS datastore with the
 * verdict the policy gave it (policy/offsite.ts, policy/datastore.ts) — the same verdict its Home
 * Assistant device shows. Read from the view at scrape time.
 */
import { Gauge, type Registry } from "prom-client";
import type { View } from "../../core/view.js";
import { HYPER_BACKUP_STATUSES } from "../../policy/offsite.js";

const LABELS = ["kind", "source", "device", "name"] as const;
const PBS_STATUSES = ["ok", "problem", "unknown"] as const;

interface OffsiteDevice {
  labels: { kind: string; source: string; device: string; name: string };
  status: string;
  statuses: readonly string[];
  problem: boolean;
}

function devices(view: View): OffsiteDevice[] {
  return [
    ...view.hyperBackupTasks.map((t) => ({
      labels: { kind: "hyperbackup", source: t.task.source, device: t.key, name: t.task.name },
      status: t.verdict.status,
      statuses: HYPER_BACKUP_STATUSES,
      problem: t.verdict.problem,
    })),
    ...view.pbsDatastores.map((d) => ({
      labels: { kind: "pbs", source: d.datastore.source, device: d.key, name: d.datastore.store },
      status: d.verdict.status,
      statuses: PBS_STATUSES,
      problem: d.verdict.problem,
    })),
  ];
}

export function registerOffsiteMetrics(reg: Registry, view: View): void {
  new Gauge({
    name: "backup2mqtt_offsite_device_status",
    help: "Status of a Hyper Backup task or PBS datastore: 1 for the current status, 0 for the others.",
    labelNames: [...LABELS, "status"],
    registers: [reg],
    collect() {
      this.reset();
      for (const d of devices(view))
        for (const s of d.statuses) this.set({ ...d.labels, status: s }, d.status === s ? 1 : 0);
    },
  });
  new Gauge({
    name: "backup2mqtt_offsite_device_problem",
    help: "1 when a Hyper Backup task or PBS datastore has a problem (failed, stale, broken, a failed job, 90 % full…).",
    labelNames: LABELS,
    registers: [reg],
    collect() {
      this.reset();
      for (const d of devices(view)) this.set(d.labels, d.problem ? 1 : 0);
    },
  });
  new Gauge({
    name: "backup2mqtt_pbs_datastore_usage_ratio",
    help: "Used share of a PBS datastore (0 to 1; absent when the token may not read it).",
    labelNames: ["source", "device", "store"],
    registers: [reg],
    collect() {
      this.reset();
      for (const d of view.pbsDatastores)
        if (d.verdict.usage !== null && !d.datastore.unreadable)
          this.set({ source: d.datastore.source, device: d.key, store: d.datastore.store }, d.verdict.usage / 100);
    },
  });
}
