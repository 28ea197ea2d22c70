/**
 * Prometheus metrics (prom-client). Values are read from the view at scrape time, so a scrape
 * always shows the current evaluation; nothing is kept in between except the request counters.
 */
import { registerOffsiteMetrics } from "./offsite-metrics.js";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { View } from "../../core/view.js";
import type { GuestState } from "../../policy/types.js";
import { FALLBACK_STATES, FINDING_CODES, STATUSES } from "../../policy/types.js";
import { fallbackPending } from "./status-page.js";
import { copiesOf } from "../../report/facts.js";
import { VERSION } from "../../util/version.js";

const GUEST_LABELS = ["id", "vmid", "name", "node", "tier", "source"] as const;
type GuestLabel = (typeof GUEST_LABELS)[number];

const guestLabels = (g: GuestState): Record<GuestLabel, string> => ({
  id: g.id,
  vmid: String(g.vmid),
  name: g.name,
  node: g.node,
  tier: g.tier ?? "",
  source: g.source,
});
const seconds = (iso: string | null) => (iso ? Date.parse(iso) / 1000 : null);

export function createMetrics(view: View): Registry {
  const reg = new Registry();
  // prom-client samples the event-loop delay with a libuv timer of `eventLoopMonitoringPrecision`
  // ms (default 10): 100 wake-ups a second, the bridge's whole idle CPU (~0.4 % of a core measured
  // with 5 guests). One sample a second keeps nodejs_eventloop_lag_* meaningful for a service
  // whose work comes once a minute.
  collectDefaultMetrics({ register: reg, eventLoopMonitoringPrecision: 1000 });
  const guests = () => view.result?.guests ?? [];
  /** Proxmox sources and the off-site layer's (Synology, PBS). */
  const allHealth = () => [...view.proxmox, ...view.offsiteSources].map((s) => s.health);

  const perGuest = (name: string, help: string, value: (g: GuestState) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: GUEST_LABELS,
      registers: [reg],
      collect() {
        this.reset();
        for (const g of guests()) {
          const v = value(g);
          if (v !== null && Number.isFinite(v)) this.set(guestLabels(g), v);
        }
      },
    });

  perGuest(
    "backup2mqtt_guest_last_backup_timestamp_seconds",
    "Time of the newest good backup archive (absent when there is none).",
    (g) => seconds(g.last_backup),
  );
  perGuest(
    "backup2mqtt_guest_last_backup_size_bytes",
    "Size of the newest good backup archive.",
    (g) => g.last_backup_size,
  );
  perGuest("backup2mqtt_guest_archives", "Number of good backup archives of the guest.", (g) => g.archive_count);
  perGuest(
    "backup2mqtt_guest_problem",
    "1 when the guest's backup breaks its tier's promise (failed, missing, stale or a finding).",
    (g) => (g.problem ? 1 : 0),
  );
  perGuest("backup2mqtt_guest_running", "1 while a backup of the guest runs.", (g) => (g.running ? 1 : 0));
  new Gauge({
    name: "backup2mqtt_guest_copies",
    help: "Distinct storages holding a good archive of the guest.",
    labelNames: GUEST_LABELS,
    registers: [reg],
    collect() {
      this.reset();
      const evidence = view.evidence();
      for (const g of guests()) this.set(guestLabels(g), copiesOf(g, evidence));
    },
  });
  perGuest(
    "backup2mqtt_guest_last_verified_timestamp_seconds",
    "Time of the last successful verification (absent when never verified).",
    (g) => seconds(g.last_verified),
  );
  perGuest(
    "backup2mqtt_guest_last_offsite_timestamp_seconds",
    "Time of the newest off-site copy (absent when none is known).",
    (g) => seconds(g.last_offsite),
  );
  perGuest(
    "backup2mqtt_guest_next_backup_timestamp_seconds",
    "Next scheduled backup by an enabled job (absent when none).",
    (g) => seconds(g.next_backup),
  );

  new Gauge({
    name: "backup2mqtt_guest_status",
    help: "Backup status of the guest: 1 for the current status, 0 for the others.",
    labelNames: [...GUEST_LABELS, "status"],
    registers: [reg],
    collect() {
      this.reset();
      for (const g of guests())
        for (const s of STATUSES) this.set({ ...guestLabels(g), status: s }, g.status === s ? 1 : 0);
    },
  });
  new Gauge({
    name: "backup2mqtt_guest_finding",
    help: "1 for each finding present on the guest (unprotected, retention_short, untiered, ...).",
    labelNames: [...GUEST_LABELS, "code"],
    registers: [reg],
    collect() {
      this.reset();
      for (const g of guests())
        for (const code of new Set(g.findings.map((f) => f.code)))
          if ((FINDING_CODES as readonly string[]).includes(code)) this.set({ ...guestLabels(g), code }, 1);
    },
  });
  new Gauge({
    name: "backup2mqtt_guests",
    help: "Number of guests per status.",
    labelNames: ["status"],
    registers: [reg],
    collect() {
      this.reset();
      for (const s of STATUSES) this.set({ status: s }, guests().filter((g) => g.status === s).length);
    },
  });
  new Gauge({
    name: "backup2mqtt_guests_with_problems",
    help: "Number of guests with a backup problem.",
    registers: [reg],
    collect() {
      this.set(guests().filter((g) => g.problem).length);
    },
  });
  // Self-healing (tier fallback) and the watchdogs' findings, counted over all guests for alert rules.
  new Gauge({
    name: "backup2mqtt_guests_with_finding",
    help: "Number of guests with each finding (job_missed, overrunning, fallback_failed, unprotected, ...).",
    labelNames: ["code"],
    registers: [reg],
    collect() {
      this.reset();
      for (const code of FINDING_CODES)
        this.set({ code }, guests().filter((g) => g.findings.some((f) => f.code === code)).length);
    },
  });
  new Gauge({
    name: "backup2mqtt_fallbacks",
    help: "Number of guests whose fallback backup is in each state (planned, running, waiting_for_job, done, failed).",
    labelNames: ["state"],
    registers: [reg],
    collect() {
      this.reset();
      for (const state of FALLBACK_STATES)
        this.set({ state }, guests().filter((g) => g.fallback?.state === state).length);
    },
  });
  new Gauge({
    name: "backup2mqtt_fallbacks_pending_approval",
    help: "Number of planned fallback backups waiting for approval (tier fallback: ask).",
    registers: [reg],
    collect() {
      this.set(guests().filter(fallbackPending).length);
    },
  });
  new Gauge({
    name: "backup2mqtt_orphaned_archive_groups",
    help: "Guests that no longer exist but still have archives.",
    registers: [reg],
    collect() {
      this.set(view.result?.orphans.length ?? 0);
    },
  });

  new Gauge({
    name: "backup2mqtt_source_up",
    help: "1 when the source answered readable data on its last refresh.",
    labelNames: ["source", "kind"],
    registers: [reg],
    collect() {
      this.reset();
      for (const h of allHealth()) this.set({ source: h.name, kind: h.kind }, h.up && !h.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: "backup2mqtt_source_last_success_timestamp_seconds",
    help: "Time the source last answered readable data.",
    labelNames: ["source", "kind"],
    registers: [reg],
    collect() {
      this.reset();
      for (const h of allHealth())
        if (h.lastSuccessMs) this.set({ source: h.name, kind: h.kind }, h.lastSuccessMs / 1000);
    },
  });
  const seen = new Map<string, number>();
  new Counter({
    name: "backup2mqtt_source_requests_total",
    help: "API requests sent to the source since the bridge started.",
    labelNames: ["source", "kind"],
    registers: [reg],
    collect() {
      for (const s of view.proxmox) {
        const name = s.health.name;
        const now = s.requestsTotal ?? 0;
        const delta = now - (seen.get(name) ?? 0);
        seen.set(name, now);
        this.inc({ source: name, kind: s.health.kind }, Math.max(0, delta));
      }
    },
  });
  new Gauge({
    name: "backup2mqtt_source_requests_last_refresh",
    help: "API requests the source's last refresh needed.",
    labelNames: ["source", "kind"],
    registers: [reg],
    collect() {
      this.reset();
      for (const s of [...view.proxmox, ...view.offsiteSources])
        this.set({ source: s.health.name, kind: s.health.kind }, s.requests);
    },
  });

  new Gauge({
    name: "backup2mqtt_refresh_duration_seconds",
    help: "Wall time of the last refresh of the sources.",
    registers: [reg],
    collect() {
      const ms = view.lastRefreshDurationMs;
      if (typeof ms === "number") this.set(ms / 1000);
    },
  });
  new Gauge({
    name: "backup2mqtt_last_refresh_timestamp_seconds",
    help: "Time of the last refresh of the sources.",
    registers: [reg],
    collect() {
      if (view.lastRefreshMs) this.set(view.lastRefreshMs / 1000);
    },
  });
  new Gauge({
    name: "backup2mqtt_mqtt_connected",
    help: "1 while the bridge is connected to the MQTT broker.",
    registers: [reg],
    collect() {
      this.set(view.mqttConnected ? 1 : 0);
    },
  });
  registerOffsiteMetrics(reg, view);
  const build = new Gauge({
    name: "backup2mqtt_build_info",
    help: "Version of the bridge and of Node.js (always 1).",
    labelNames: ["version", "nodejs"],
    registers: [reg],
  });
  build.set({ version: VERSION, nodejs: process.version }, 1);
  return reg;
}
