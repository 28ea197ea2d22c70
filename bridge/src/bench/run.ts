/**
 * `npm run bench`: the bridge against a simulated cluster of 50 nodes, 2,500 guests and 250,000
 * archives, beside a naive per-guest poller on the same lab, in one run. The bridge runs as its
 * own process (`backup2mqtt run`), so its CPU time and memory are its own; a separate subscriber
 * process timestamps what reaches the broker. Prints a table, then one JSON line with the figures.
 *
 * This file holds the measurement steps in their order; the harness (broker, waiting, /proc
 * samples) is in harness.ts, the table of results in table.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { Agent, request } from "undici";
import { startLab } from "backup2mqtt-lab";
import { type CycleStart, callKinds, idleCycles, median, pollCalls, type Seen } from "./cycles.js";
import { log, procSample, sleep, spawnBridge, startBroker, until } from "./harness.js";
import { benchScenario, BENCH_TOKEN } from "./scenario.js";
import { naivePoll } from "./naive.js";
import { printResults } from "./table.js";
import { measureHomelab } from "./homelab.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "..", "cli.js");
const probeJs = path.join(here, "probe.js");
const SITE = "bench";
const POLL_S = 10;
/**
 * The safety sweep's interval (content_interval, its default): longer than the whole idle phase,
 * so the idle polls are change-driven ones; a sweep is measured on its own (the Refresh button).
 */
const CONTENT_S = 600;
/** Idle polls whose API calls are measured (median), at POLL_S: about 5 minutes. */
const IDLE_POLLS = 30;
const P1_MAX_AGE_MS = 26 * 3600_000;

const lastBridgeOutput: string[] = [];

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-bench-"));
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    // --- the home-lab footprint first, on a quiet machine (bench/homelab.ts, ~7 min) -----------
    const homelab = await measureHomelab();

    // --- the lab -----------------------------------------------------------------------------
    const t = performance.now();
    const plan = benchScenario({
      nodes: 50,
      guestsPerNode: 50,
      archivesPerGuest: 100,
      historyRuns: 3,
      nowMs: Date.now(),
    });
    const lab = await startLab({ scenario: plan.scenario, taskSpeed: 20, authFailDelayMs: 0 });
    cleanups.push(() => lab.stop());
    const archives = lab.control.state.archives.length;
    const labBuildS = (performance.now() - t) / 1000;
    log(
      `lab: ${plan.nodes.length} nodes, ${plan.guests} guests, ${archives} archives, ${lab.control.state.tasks.length} tasks in history (${labBuildS.toFixed(1)} s to build)`,
    );
    const floor = plan.backupStorages + 1 + plan.nodes.length;

    const broker = await startBroker(tmp);
    cleanups.push(() => broker.stop());
    log(`broker: ${broker.kind} at ${broker.url}`);

    // --- the baseline: a naive per-guest poller on the same lab --------------------------------
    const tokenHeader = `PVEAPIToken=${BENCH_TOKEN.id}=${BENCH_TOKEN.secret}`;
    await naivePoll({ url: lab.url, token: tokenHeader, ca: lab.certPem, concurrency: 5 }); // warm-up (lab caches)
    const before = lab.requests.length;
    const naive = await naivePoll({ url: lab.url, token: tokenHeader, ca: lab.certPem, concurrency: 5 });
    const naiveServed = lab.requests.length - before;
    log(
      `baseline: ${naive.calls} calls (${naiveServed} served, ${naive.errors} errors), ${naive.archivesSeen} archive rows, ${(naive.wallMs / 1000).toFixed(1)} s`,
    );

    // --- the probe (separate subscriber process) -----------------------------------------------
    const probeId = `${SITE}_${plan.probeVmid}`;
    const seen: Seen[] = [];
    const probe = spawn(
      process.execPath,
      [probeJs, broker.url, "homeassistant/#,backup2mqtt/#", `(state|event)$|bridge/info$`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(probe);
    let buf = "";
    probe.stdout!.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const [at, topic, bytes, payload] = buf.slice(0, i).split("\t");
        buf = buf.slice(i + 1);
        seen.push({ at: Number(at), topic: topic!, bytes: Number(bytes), payload: payload ?? "-" });
      }
    });
    await until("probe subscribed", () => seen.some((s) => s.topic === "$ready"), 10_000);
    const cmd = await mqtt.connectAsync(broker.url, { clientId: `bench_cmd_${process.pid}` });
    cleanups.push(() => cmd.endAsync(true));

    // --- the bridge ----------------------------------------------------------------------------
    const cfgFile = path.join(tmp, "backup2mqtt.yaml");
    fs.writeFileSync(
      cfgFile,
      `site: ${SITE}
mqtt: { url: "${broker.url}" }
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${BENCH_TOKEN.id}"
    token_secret: \${BENCH_PVE_SECRET}
    fingerprint: "${lab.fingerprint}"
    poll_interval: ${POLL_S}s
    content_interval: ${CONTENT_S}s
    timeout: 60s
http: { listen: "127.0.0.1:0" }
state_dir: ${path.join(tmp, "state")}
log: { level: warn }
`,
    );
    const bridgeOut = lastBridgeOutput;
    const t0 = Date.now();
    const { child: bridge, stopping } = spawnBridge(cli, cfgFile, {
      output: bridgeOut,
      keep: 200,
      label: "bridge",
      env: { ...process.env, BENCH_PVE_SECRET: BENCH_TOKEN.secret },
    });
    children.push(bridge);
    let peakRss = 0;
    const rssTimer = setInterval(() => {
      const s = procSample(bridge.pid!);
      if (s) peakRss = Math.max(peakRss, s.rssMb, s.hwmMb);
    }, 100);
    cleanups.push(async () => clearInterval(rssTimer));

    // Cycle starts: each refresh begins with GET /cluster/resources. Sample the bridge's CPU then.
    const cycles: CycleStart[] = [];
    let scanned = lab.requests.length;
    const cycleTimer = setInterval(() => {
      for (; scanned < lab.requests.length; scanned++) {
        if (lab.requests[scanned]!.path.endsWith("/cluster/resources")) {
          const s = procSample(bridge.pid!);
          cycles.push({
            reqIndex: scanned,
            at: Date.now(),
            cpuMs: s?.cpuMs ?? NaN,
            seenIndex: seen.length,
            rssMb: s?.rssMb ?? NaN,
          });
        }
      }
    }, 5);
    cleanups.push(async () => clearInterval(cycleTimer));

    const configTopic = /^homeassistant\/device\/backup2mqtt_[^/]+\/config$/;
    const stateTopic = /^backup2mqtt\/guest\/[^/]+\/state$/;
    const configs = new Set<string>();
    const states = new Set<string>();
    let discoveredAt = 0;
    let scannedSeen = 0;
    await until(
      "discovery of every device",
      () => {
        for (; scannedSeen < seen.length; scannedSeen++) {
          const m = seen[scannedSeen]!;
          if (configTopic.test(m.topic) && m.bytes > 0) configs.add(m.topic);
          if (stateTopic.test(m.topic) && m.bytes > 0) states.add(m.topic);
          if (configs.size >= plan.guests + 1 && states.size >= plan.guests && !discoveredAt) discoveredAt = m.at;
        }
        return discoveredAt;
      },
      120_000,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: ${configs.size} configs, ${states.size} states, ${seen.length} messages seen, ${lab.requests.length} lab requests`,
      );
    });
    const discoveryS = (discoveredAt - t0) / 1000;
    log(`discovery: ${configs.size} device configs and ${states.size} states in ${discoveryS.toFixed(2)} s`);

    // --- steady state: whole refresh cycles with nothing changing -------------------------------
    const firstCycle = cycles.length;
    const MEASURED = 3;
    await until(
      "idle refresh cycles",
      () => cycles.length >= firstCycle + 2 + Math.max(MEASURED, IDLE_POLLS),
      (Math.max(MEASURED, IDLE_POLLS) + 3) * (POLL_S + 15) * 1000,
      50,
    );
    // Idle polls: change-driven ones only (sweeps and the slow-cadence reads are counted on their own).
    const idlePolls = idleCycles(cycles.slice(firstCycle + 1, firstCycle + 2 + IDLE_POLLS), lab.requests, seen).map(
      (c) => pollCalls(c.paths, plan.nodes.length, plan.backupStorages),
    );
    const idleCalls = idlePolls.filter((c) => !c.sweep).map((c) => c.calls);
    const idleApiCallsPerPoll = median(idleCalls);
    // A safety sweep at steady state (not the first refresh, which also reads 35 days of task
    // history): the Refresh button runs one (every node's task list, every listing, and the jobs,
    // retention and privileges). Its requests: from its /cluster/resources until the lab is quiet.
    // The wait above ends at a poll's first request: let that poll finish first (its /cluster/tasks
    // would otherwise be counted in the sweep's window).
    await sleep(3_000);
    const sweepFrom = lab.requests.length;
    await cmd.publishAsync("backup2mqtt/bridge/command", JSON.stringify({ action: "refresh", origin: "bench" }), {
      qos: 1,
    });
    const sweepStart = await until(
      "the sweep's /cluster/resources",
      () => {
        const i = lab.requests.findIndex((r, j) => j >= sweepFrom && r.path.endsWith("/cluster/resources"));
        return i >= 0 ? i : undefined;
      },
      30_000,
    );
    let quietSince = Date.now();
    let count = lab.requests.length;
    await until(
      "the sweep's end (lab quiet for 2 s)",
      () => {
        if (lab.requests.length !== count) [count, quietSince] = [lab.requests.length, Date.now()];
        return Date.now() - quietSince >= 2_000;
      },
      120_000,
      100,
    );
    const sweepReqs = lab.requests.slice(sweepStart);
    const nextPoll = sweepReqs.findIndex((r, j) => j > 0 && r.path.endsWith("/cluster/resources"));
    const sweepWindow = nextPoll > 0 ? sweepReqs.slice(0, nextPoll) : sweepReqs;
    const sweepCalls = pollCalls(sweepWindow, plan.nodes.length, plan.backupStorages);
    const sweepOther = sweepWindow
      .map((r) => r.path.replace("/api2/json", ""))
      .filter((p) => !/\/cluster\/resources$|^\/nodes\/[^/]+\/tasks$|\/content$/.test(p));
    log(`sweep: ${JSON.stringify(callKinds(sweepWindow))}; other: ${sweepOther.join(", ")}`);
    log(
      `idle polls: ${idleCalls.length} measured (${idlePolls.length - idleCalls.length} sweeps left out), calls ${idleCalls.join(", ")}; median ${idleApiCallsPerPoll}; sweep ${sweepCalls.calls} calls + ${sweepCalls.meta} jobs/retention/privileges`,
    );
    const measured = cycles.slice(firstCycle + 1, firstCycle + 2 + MEASURED);
    const perCycle = idleCycles(measured, lab.requests, seen);
    const heartbeats = Math.max(...perCycle.map((c) => c.heartbeat));
    const callsPerRefresh = Math.max(...perCycle.map((c) => c.calls));
    const refreshCpuMs = Math.max(...perCycle.map((c) => c.cpuMs));
    const idlePublishes = Math.max(...perCycle.map((c) => c.publishes));
    const split = callKinds(perCycle[0]!.paths);
    log(
      `steady state: calls per refresh ${perCycle.map((c) => c.calls).join(", ")} (${JSON.stringify(split)}); CPU ms ${perCycle.map((c) => c.cpuMs.toFixed(0)).join(", ")}; publishes ${perCycle.map((c) => c.publishes).join(", ")}${
        idlePublishes
          ? ` (e.g. ${perCycle
              .flatMap((c) => c.pubTopics)
              .slice(0, 5)
              .join(", ")})`
          : ""
      } + bridge/info ${perCycle.map((c) => c.heartbeat).join(", ")}; RSS at cycle start ${perCycle.map((c) => c.rssMb.toFixed(0)).join(", ")} MB, peak so far ${peakRss.toFixed(0)} MB`,
    );

    // --- Back up now: button → task ---------------------------------------------------------------
    const presses: number[] = [];
    for (const vmid of [plan.buttonVmid, plan.buttonVmid + 50 * 17, plan.buttonVmid + 50 * 33]) {
      const id = `${SITE}_${vmid}`;
      const from = seen.length;
      const at = Date.now();
      await cmd.publishAsync(`backup2mqtt/guest/${id}/command`, JSON.stringify({ action: "backup", origin: "bench" }), {
        qos: 1,
      });
      const ev = await until(
        `backup_started of ${id}`,
        () =>
          seen
            .slice(from)
            .find((m) => m.topic === `backup2mqtt/guest/${id}/event` && m.payload.includes("backup_started")),
        30_000,
        5,
      );
      const upid = (JSON.parse(ev.payload) as { upid?: string }).upid;
      if (!upid || !lab.control.state.findTask(upid)) throw new Error(`no task ${upid} in the lab`);
      presses.push(ev.at - at);
      await sleep(1500);
    }
    const buttonMs = Math.max(...presses);
    log(`button → task: ${presses.map((p) => `${p} ms`).join(", ")}`);

    // --- stale flip: a P1 guest gets an archive that turns 26 h old in 25 s ----------------------
    const volid = lab.control.addArchive({ vmid: plan.probeVmid, storage: "nas", ageSeconds: 26 * 3600 - 25 });
    const ctime = lab.control.state.archives.find((a) => a.volid === volid)!.ctime;
    const deadline = ctime * 1000 + P1_MAX_AGE_MS;
    const probeState = `backup2mqtt/guest/${probeId}/state`;
    const from = seen.length;
    const statusAt = (status: string) =>
      seen.slice(from).find((m) => m.topic === probeState && m.payload.includes(`"status":"${status}"`));
    await until("the probe guest ok", () => statusAt("ok"), 40_000, 10);
    const stale = await until("the probe guest stale", () => statusAt("stale"), deadline - Date.now() + 30_000, 5);
    const staleLateMs = stale.at - deadline;
    log(`stale flip: deadline ${new Date(deadline).toISOString()}, published stale ${staleLateMs} ms after it`);

    // --- a backup started outside the bridge (the lab's API, its token): its end → the new archive in the state
    const externalBackupS = await externalBackup(lab, plan.buttonVmid + 50 * 10 + 7, seen, tokenHeader);
    log(`external backup → state: ${externalBackupS.toFixed(1)} s`);

    const end = procSample(bridge.pid!);
    const rssMb = Math.max(peakRss, end?.hwmMb ?? 0);
    stopping();

    process.exitCode = printResults({
      plan,
      archives,
      brokerKind: broker.kind,
      pollS: POLL_S,
      naive,
      floor,
      callsPerRefresh,
      split,
      refreshCpuMs,
      idlePublishes,
      heartbeats,
      discoveryS,
      rssMb,
      buttonMs,
      staleLateMs,
      contentS: CONTENT_S,
      idlePolls: idleCalls.length,
      idleApiCallsPerPoll,
      sweepApiCalls: sweepCalls.calls,
      metaApiCalls: sweepCalls.meta,
      externalBackupS,
      homelab,
    })
      ? 0
      : 1;
  } catch (e) {
    if (lastBridgeOutput.length) process.stderr.write(`bridge output (last lines):\n${lastBridgeOutput.join("")}\n`);
    throw e;
  } finally {
    await stopAll();
  }
}

/**
 * POST /nodes/{node}/vzdump for `vmid` with the lab's token (not the bridge's button), waits for
 * the task's end in the lab, then for the guest's state topic to carry a newer last backup.
 * Returns the seconds from the task's end to that state message.
 */
async function externalBackup(
  lab: Awaited<ReturnType<typeof startLab>>,
  vmid: number,
  seen: Seen[],
  tokenHeader: string,
): Promise<number> {
  const topic = `backup2mqtt/guest/${SITE}_${vmid}/state`;
  const lastBackup = () => {
    for (let i = seen.length - 1; i >= 0; i--)
      if (seen[i]!.topic === topic && seen[i]!.payload !== "-")
        return (JSON.parse(seen[i]!.payload) as { last_backup: string | null }).last_backup;
    return undefined;
  };
  const before = lastBackup();
  const node = lab.control.state.guests.get(vmid)?.node;
  if (!node) throw new Error(`no guest ${vmid} in the lab`);
  const agent = new Agent({ connect: { ca: lab.certPem } });
  const from = seen.length;
  try {
    const res = await request(`${lab.url}/api2/json/nodes/${node}/vzdump`, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: tokenHeader, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ vmid: String(vmid), storage: "nas", mode: "snapshot" }).toString(),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`POST vzdump: ${res.statusCode} ${text}`);
    const upid = (JSON.parse(text) as { data: string }).data;
    const ended = await until(
      "the outside backup's end",
      () => lab.control.state.findTask(upid)?.endMs ?? undefined,
      60_000,
      5,
    );
    const state = await until(
      "the outside backup in the guest's state",
      () =>
        seen.slice(from).find((m) => {
          if (m.topic !== topic || m.payload === "-") return false;
          const st = JSON.parse(m.payload) as { last_backup: string | null; running: boolean };
          return st.last_backup !== before && !st.running;
        }),
      60_000,
      5,
    );
    return Math.max(0, state.at - ended) / 1000;
  } finally {
    await agent.close();
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
