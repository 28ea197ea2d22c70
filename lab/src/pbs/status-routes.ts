/**
 * The simulated PBS's usage and node statistics (proxmox-backup 3.2.4):
 * - GET /status/datastore-usage (src/api2/status.rs datastore_status): per datastore with
 *   Datastore.Audit|Backup {store, total, used, avail, history, history-start, history-delta,
 *   estimated-full-date, gc-status}; with only a namespace privilege just {store}; others left out.
 *   `history`: the month RRD (30-minute slots) of used/(used+available), null where the RRD has
 *   nothing; `estimated-full-date`: with at least 7 values, the linear regression usage = a + b·t
 *   (src/tools/statistics.rs linear_regression) solved for 1.0: floor((1 - a) / b), 0 when b = 0;
 * - GET /admin/datastore/{store}/rrd?timeframe&cf (get_rrd_stats, Datastore.Audit|Backup, a
 *   router check): [{time, total, available, used, read_ios, read_bytes, write_ios, write_bytes,
 *   io_ticks}] per slot, keys absent where the RRD has no value;
 * - GET /nodes/{node}/status (src/api2/node/status.rs get_status, Sys.Audit on /system/status).
 * The lab's RRD derives from its state: a datastore was created before its oldest snapshot, its
 * usage grew by each snapshot's size at the snapshot's time up to the scenario's `used`.
 * Windows and resolutions: src/rrd_cache.rs extract_rrd_data; the slot being written (the
 * current one) has no value yet (proxmox-rrd RRA::extract_data: `t >= rrd_end` → None).
 */
import type { SimResponse } from "../https-base.js";
import { NS_PRIVS_OK, PRIV, anyPrivsBelow } from "./acl.js";
import { err, json, pbsParameterError, type PbsCall } from "./http.js";
import { gcStatus } from "./job-routes.js";
import type { DatastoreState, PbsState } from "./state.js";

/** RRDTimeFrame → [window seconds, resolution seconds] (extract_rrd_data). */
export const RRD_TIMEFRAMES: Record<string, [number, number]> = {
  hour: [3600, 60],
  day: [86_400, 60],
  week: [7 * 86_400, 1800],
  month: [30 * 86_400, 1800],
  year: [365 * 86_400, 6 * 3600],
  decade: [10 * 366 * 86_400, 7 * 86_400],
};

/** linear_regression: (a, b) of y = a + b·x, or null for empty or unequal lists. */
export function linearRegression(x: number[], y: number[]): [number, number] | null {
  if (!x.length || x.length !== y.length) return null;
  const mx = x.reduce((a, v) => a + v, 0) / x.length;
  const my = y.reduce((a, v) => a + v, 0) / y.length;
  let cov = 0;
  let vari = 0;
  for (let i = 0; i < x.length; i++) {
    cov += (x[i]! - mx) * (y[i]! - my);
    vari += (x[i]! - mx) * (x[i]! - mx);
  }
  const b = cov / vari;
  return [my - b * mx, b];
}

/** estimated-full-date of a usage history (datastore_status): null below 7 values. */
export function estimatedFullDate(start: number, delta: number, history: (number | null)[]): number | null {
  const t: number[] = [];
  const u: number[] = [];
  history.forEach((v, i) => {
    if (v === null) return;
    t.push(start + i * delta);
    u.push(v);
  });
  if (u.length < 7) return null;
  const r = linearRegression(t, u);
  if (!r) return null;
  const [a, b] = r;
  if (b === 0) return 0; // "infinite estimate, set to past for gui to detect"
  return Math.floor((1 - a) / b);
}

/** A datastore's bytes used at epoch second `t` (the scenario's `used` less what later snapshots added). */
const usedAt = (st: DatastoreState, t: number) =>
  st.cfg.used - st.snaps.filter((s) => s.time > t).reduce((a, s) => a + s.size, 0);

/** One RRD series of a datastore: [start, resolution, values] as extract_rrd_data answers it. */
export function datastoreRrd(
  pbs: PbsState,
  st: DatastoreState,
  name: string,
  timeframe: string,
  cf: "AVERAGE" | "MAX",
  nowMs: number,
): [number, number, (number | null)[]] {
  const [window, reso] = RRD_TIMEFRAMES[timeframe]!;
  const end = Math.floor(nowMs / 1000);
  const start = reso * Math.floor((end - window) / reso);
  const rrdEnd = reso * Math.floor(end / reso);
  const created = Math.floor(pbs.createdMs / 1000);
  const out: (number | null)[] = [];
  for (let t = start; t <= end; t += reso) {
    if (t >= rrdEnd || t + reso <= created) {
      out.push(null);
      continue;
    }
    // AVERAGE: the slot's middle; MAX: its end (usage only grows).
    const at = cf === "MAX" ? t + reso - 1 : t + Math.floor(reso / 2);
    const used = usedAt(st, at);
    const written = st.snaps.filter((s) => s.time >= t && s.time < t + reso).reduce((a, s) => a + s.size, 0) / reso;
    const v: Record<string, number> = {
      total: st.cfg.total,
      used,
      available: st.cfg.total - used,
      read_ios: 0,
      read_bytes: 0,
      write_bytes: written,
      write_ios: written / 4_194_304,
      io_ticks: written / 200_000_000,
    };
    out.push(v[name] ?? null);
  }
  return [start, reso, out];
}

/** One /status/datastore-usage entry. */
function usageItem(pbs: PbsState, c: PbsCall, store: string): Record<string, unknown> | null {
  const p = c.privs(["datastore", store]);
  if (!(p & (PRIV["Datastore.Audit"] | PRIV["Datastore.Backup"])))
    return anyPrivsBelow(pbs.acl, c.me, ["datastore", store], NS_PRIVS_OK) ? { store } : null;
  const st = pbs.stores.get(store)!;
  const [start, delta, used] = datastoreRrd(pbs, st, "used", "month", "AVERAGE", c.now);
  const avail = datastoreRrd(pbs, st, "available", "month", "AVERAGE", c.now)[2];
  const history = used.map((u, i) => (u === null || avail[i] === null ? null : u / (u + avail[i]!)));
  const full = estimatedFullDate(start, delta, history);
  return {
    store,
    total: st.cfg.total,
    used: st.cfg.used,
    avail: st.cfg.total - st.cfg.used,
    history,
    "history-start": start,
    "history-delta": delta,
    ...(full !== null ? { "estimated-full-date": full } : {}),
    "gc-status": gcStatus(pbs, store),
  };
}

/** The lab's node: a small PBS VM (NodeStatus, pbs-api-types node.rs; kebab-case). */
function nodeStatus(pbs: PbsState, c: PbsCall, fingerprint: string) {
  const up = Math.floor((c.now - pbs.createdMs) / 1000);
  const GiB = 1024 ** 3;
  const kernel = {
    sysname: "Linux",
    release: "6.8.12-4-pve",
    version: "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4",
    machine: "x86_64",
  };
  return {
    memory: { total: 4 * GiB, used: 1.6 * GiB, free: 2.4 * GiB },
    root: { total: 32 * GiB, used: 5 * GiB, avail: 27 * GiB },
    swap: { total: 4 * GiB, used: 0, free: 4 * GiB },
    uptime: up,
    loadavg: [0.12, 0.09, 0.05],
    kversion: `${kernel.sysname} ${kernel.release} ${kernel.version}`,
    "current-kernel": kernel,
    cpu: 0.021,
    wait: 0.001,
    cpuinfo: { model: "QEMU Virtual CPU version 2.5+", sockets: 1, cpus: 2 },
    info: { fingerprint },
    "boot-info": { mode: "efi", secureboot: false },
  };
}

/** GET /status/datastore-usage, …/rrd, /nodes/{node}/status; null for any other request. */
export function statusRoute(pbs: PbsState, c: PbsCall, fingerprint: string): SimResponse | null {
  if (c.method !== "GET") return null;
  if (c.path === "/status/datastore-usage")
    return json([...pbs.stores.keys()].map((s) => usageItem(pbs, c, s)).filter((x) => x !== null));
  if (/^\/nodes\/[^/]+\/status$/.test(c.path)) {
    if (!(c.privs(["system", "status"]) & PRIV["Sys.Audit"])) return err(403, "permission check failed");
    return json(nodeStatus(pbs, c, fingerprint));
  }
  const rrd = /^\/admin\/datastore\/([^/]+)\/rrd$/.exec(c.path);
  if (!rrd) return null;
  const store = decodeURIComponent(rrd[1]!);
  // The router checks the permission (with the path's {store}) before the parameters.
  if (!(c.privs(["datastore", store]) & (PRIV["Datastore.Audit"] | PRIV["Datastore.Backup"])))
    return err(403, "permission check failed");
  const bad: [string, string][] = [];
  const { timeframe, cf } = c.q;
  if (timeframe === undefined) bad.push(["timeframe", "parameter is missing and it is not optional."]);
  else if (!RRD_TIMEFRAMES[timeframe])
    bad.push(["timeframe", `value '${timeframe}' is not defined in the enumeration.`]);
  if (cf === undefined) bad.push(["cf", "parameter is missing and it is not optional."]);
  else if (cf !== "AVERAGE" && cf !== "MAX") bad.push(["cf", `value '${cf}' is not defined in the enumeration.`]);
  for (const k of Object.keys(c.q))
    if (!["timeframe", "cf", "_dc"].includes(k)) bad.push([k, "schema does not allow additional properties."]);
  if (bad.length) return err(400, pbsParameterError(bad));
  const st = pbs.stores.get(store);
  if (!st) return err(400, `datastore '${store}' does not exist`);
  const fields = ["total", "available", "used", "read_ios", "read_bytes", "write_ios", "write_bytes", "io_ticks"];
  const series = fields.map((f) => datastoreRrd(pbs, st, f, timeframe!, cf as "AVERAGE" | "MAX", c.now));
  const [start, reso] = series[0]!;
  return json(
    series[0]![2].map((_, i) => ({
      time: start + i * reso,
      ...Object.fromEntries(fields.flatMap((f, j) => (series[j]![2][i] === null ? [] : [[f, series[j]![2][i]]]))),
    })),
  );
}
