/**
 * The benchmark's result: the table of measures against their targets, then one JSON line with
 * the figures, both on stdout.
 */
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
}

/** Prints the table and the JSON line; true when every target is met. */
export function printResults(f: BenchFigures): boolean {
  const { plan, archives, brokerKind, pollS, naive, floor, callsPerRefresh, split } = f;
  const { refreshCpuMs, idlePublishes, heartbeats, discoveryS, rssMb, buttonMs, staleLateMs } = f;
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
  };
  const row = (name: string, value: string, target: string, ok: boolean) =>
    `| ${name.padEnd(34)} | ${value.padStart(12)} | ${target.padEnd(26)} | ${ok ? "met " : "MISSED"} |`;
  const lines = [
    "",
    `backup2mqtt benchmark — ${plan.nodes.length} nodes, ${plan.guests} guests, ${archives} archives, ${plan.backupStorages} backup storages (local on every node, nas, pbs); Node ${process.version}`,
    `broker: ${brokerKind}; bridge: its own process, poll = content interval = ${pollS} s; baseline: naive per-guest poller, 5 concurrent calls, same lab/token`,
    "",
    `| ${"measure".padEnd(34)} | ${"value".padStart(12)} | ${"target".padEnd(26)} | result |`,
    `|${"-".repeat(36)}|${"-".repeat(14)}|${"-".repeat(28)}|--------|`,
    row("API call floor", String(floor), `${plan.backupStorages} storages + 1 + ${plan.nodes.length} nodes`, true),
    row("bridge API calls per refresh", String(callsPerRefresh), `≤ floor (${floor})`, callsPerRefresh <= floor),
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
    staleLateMs >= 0
  );
}
