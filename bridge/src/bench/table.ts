/**
 * The benchmark's result: the table of measures against their targets, then one JSON line with
 * the figures, both on stdout.
 */
import { HOMELAB_TARGETS, type HomelabFigures } from "./homelab.js";
import type { NaiveResult } from "./naive.js";
import type { BenchPlan } from "./scenario.js";

export interface BenchFigures {
  plan: Pick<BenchPlan, "nodes" | "guests" | "backupStorages">;
  archives: number;
  brokerKind: string;
  /** The bridge's poll and content interval, in seconds. */
  pollS: number;
  naive: Pick<NaiveResult, "calls" | "wallMs">;
  /** API calls the bridge cannot go below: backup storages + 1 + nodes. */
  floor: number;
  callsPerRefresh: number;
  /** The first measured refresh's calls by kind. */
  split: { resources: number; tasks: number; content: number; other: number };
  refreshCpuMs: number;
  idlePublishes: number;
  heartbeats: number;
  discoveryS: number;
  rssMb: number;
  buttonMs: number;
  staleLateMs: number;
  /** The safety sweep's interval (content_interval), in seconds. */
  contentS: number;
  /** Idle polls measured (sweeps left out), and the median of their API calls (slow-cadence reads left out). */
  idlePolls: number;
  idleApiCallsPerPoll: number;
  /** A safety sweep at steady state (the Refresh button): its API calls, and the jobs/retention/privileges reads besides. */
  sweepApiCalls: number;
  metaApiCalls: number;
  /** A vzdump started through the lab's API ended → the new archive in the guest's state topic, in seconds. */
  externalBackupS: number;
  /** The home-lab footprint: 5 guests, `run` with MQTT and HTTP, default poll (bench/homelab.ts). */
  homelab: HomelabFigures;
}

/** Targets of the change-driven refresh. */
export const IDLE_CALLS_TARGET = 2;
export const EXTERNAL_BACKUP_TARGET_S = 12;

/** Prints the table and the JSON line; true when every target is met. */
export function printResults(f: BenchFigures): boolean {
  const { plan, archives, brokerKind, pollS, naive, floor, callsPerRefresh, split } = f;
  const { refreshCpuMs, idlePublishes, heartbeats, discoveryS, rssMb, buttonMs, staleLateMs } = f;
  const { contentS, idlePolls, idleApiCallsPerPoll, sweepApiCalls, metaApiCalls, externalBackupS } = f;
  const homelabRssOk = f.homelab.homelab_rss_mb < HOMELAB_TARGETS.rssMb;
  const homelabCpuOk = f.homelab.homelab_idle_cpu_pct < HOMELAB_TARGETS.idleCpuPct;
  const result = {
    guests: plan.guests,
    archives,
    api_call_floor: floor,
    api_calls_per_refresh: callsPerRefresh,
    baseline_api_calls_per_refresh: naive.calls,
    refresh_cpu_ms: Math.round(refreshCpuMs),
    idle_cycle_publishes: idlePublishes,
    discovery_s: Math.round(discoveryS * 100) / 100,
    rss_mb: Math.round(rssMb),
    button_to_task_ms: buttonMs,
    stale_flip_late_ms: staleLateMs,
    homelab_rss_mb: f.homelab.homelab_rss_mb,
    homelab_idle_cpu_pct: f.homelab.homelab_idle_cpu_pct,
    idle_api_calls_per_poll: idleApiCallsPerPoll,
    naive_idle_api_calls_per_poll: naive.calls,
    sweep_api_calls: sweepApiCalls,
    sweep_meta_api_calls: metaApiCalls,
    external_backup_to_state_s: Math.round(externalBackupS * 10) / 10,
  };
  const idleOk = idleApiCallsPerPoll <= IDLE_CALLS_TARGET;
  const sweepOk = sweepApiCalls <= floor;
  const externalOk = externalBackupS <= EXTERNAL_BACKUP_TARGET_S;
  const row = (name: string, value: string, target: string, ok: boolean) =>
    `| ${name.padEnd(34)} | ${value.padStart(12)} | ${target.padEnd(26)} | ${ok ? "met " : "MISSED"} |`;
  const lines = [
    "",
    `backup2mqtt benchmark — ${plan.nodes.length} nodes, ${plan.guests} guests, ${archives} archives, ${plan.backupStorages} backup storages (local on every node, nas, pbs); Node ${process.version}`,
    `broker: ${brokerKind}; bridge: its own process, poll ${pollS} s, safety sweep (content_interval) ${contentS} s; baseline: naive per-guest poller, 5 concurrent calls, same lab/token`,
    "",
    `| ${"measure".padEnd(34)} | ${"value".padStart(12)} | ${"target".padEnd(26)} | result |`,
    `|${"-".repeat(36)}|${"-".repeat(14)}|${"-".repeat(28)}|--------|`,
    row("API call floor", String(floor), `${plan.backupStorages} storages + 1 + ${plan.nodes.length} nodes`, true),
    row("bridge API calls per refresh", String(callsPerRefresh), `≤ floor (${floor})`, callsPerRefresh <= floor),
    row(
      `idle API calls per poll (median/${idlePolls})`,
      String(idleApiCallsPerPoll),
      `≤ ${IDLE_CALLS_TARGET} (naive: ${naive.calls})`,
      idleOk,
    ),
    row(
      "safety sweep API calls",
      `${sweepApiCalls} + ${metaApiCalls}`,
      `≤ floor (${floor}) + jobs/privileges`,
      sweepOk,
    ),
    row(
      "  of which resources/tasks/content",
      `${split.resources}/${split.tasks}/${split.content}`,
      `other: ${split.other}`,
      true,
    ),
    row(
      "baseline API calls per refresh",
      String(naive.calls),
      `≥ 10× bridge (${callsPerRefresh * 10})`,
      naive.calls >= 10 * callsPerRefresh,
    ),
    row("baseline wall time per refresh", `${(naive.wallMs / 1000).toFixed(1)} s`, "(for comparison)", true),
    row("refresh CPU (bridge process)", `${Math.round(refreshCpuMs)} ms`, "< 1000 ms", refreshCpuMs < 1000),
    row("publishes per idle cycle", String(idlePublishes), "0 (guests, devices, events)", idlePublishes === 0),
    row("  bridge/info heartbeat per cycle", String(heartbeats), "1 (the 'last poll' entity)", heartbeats <= 1),
    row("discovery (all devices published)", `${discoveryS.toFixed(2)} s`, "< 15 s", discoveryS < 15),
    row("RSS (bridge process, peak)", `${Math.round(rssMb)} MB`, "< 250 MB", rssMb < 250),
    row("button → task (worst of 3)", `${buttonMs} ms`, "< 1000 ms", buttonMs < 1000),
    row("stale flip, late by", `${staleLateMs} ms`, "≤ 1000 ms", staleLateMs <= 1000 && staleLateMs >= 0),
    row(
      "outside backup end → state",
      `${externalBackupS.toFixed(1)} s`,
      `≤ ${EXTERNAL_BACKUP_TARGET_S} s (poll ${pollS} s)`,
      externalOk,
    ),
    row(
      "home lab RSS (5 guests, at 2 min)",
      `${f.homelab.homelab_rss_mb} MB`,
      `< ${HOMELAB_TARGETS.rssMb} MB`,
      homelabRssOk,
    ),
    row(
      "home lab idle CPU (5 min)",
      `${f.homelab.homelab_idle_cpu_pct} %`,
      `< ${HOMELAB_TARGETS.idleCpuPct} % of a core`,
      homelabCpuOk,
    ),
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return (
    callsPerRefresh <= floor &&
    naive.calls >= 10 * callsPerRefresh &&
    refreshCpuMs < 1000 &&
    idlePublishes === 0 &&
    discoveryS < 15 &&
    rssMb < 250 &&
    buttonMs < 1000 &&
    staleLateMs <= 1000 &&
    staleLateMs >= 0 &&
    idleOk &&
    sweepOk &&
    externalOk &&
    homelabRssOk &&
    homelabCpuOk
  );
}
