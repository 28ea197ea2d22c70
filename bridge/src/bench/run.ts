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
import { startLab } from "backup2mqtt-lab";
import { type CycleStart, callKinds, idleCycles, type Seen } from "./cycles.js";
import { log, procSample, sleep, startBroker, until } from "./harness.js";
import { benchScenario, BENCH_TOKEN } from "./scenario.js";
import { naivePoll } from "./naive.js";
import { printResults } from "./table.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "..", "cli.js");
const probeJs = path.join(here, "probe.js");
const SITE = "bench";
const POLL_S = 10;
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
    content_interval: ${POLL_S}s
    timeout: 60s
http: { listen: "127.0.0.1:0" }
state_dir: ${path.join(tmp, "state")}
log: { level: warn }
`,
    );
    const bridgeOut = lastBridgeOutput;
    const t0 = Date.now();
    const bridge = spawn(process.execPath, [cli, "run", "--config", cfgFile], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, BENCH_PVE_SECRET: BENCH_TOKEN.secret },
    });
    children.push(bridge);
    for (const s of [bridge.stdout!, bridge.stderr!])
      s.on("data", (d: Buffer) => bridgeOut.push(d.toString("utf8")) > 200 && bridgeOut.shift());
    bridge.once("exit", (code, sig) => {
      if (!stopping) log(`bridge exited (${code ?? sig}):\n${bridgeOut.join("")}`);
    });
    let stopping = false;
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
      () => cycles.length >= firstCycle + 2 + MEASURED,
      (MEASURED + 3) * (POLL_S + 15) * 1000,
      50,
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

    const end = procSample(bridge.pid!);
    const rssMb = Math.max(peakRss, end?.hwmMb ?? 0);
    stopping = true;

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

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
