/**
 * `npm run bench`: the bridge against a simulated cluster of 50 nodes, 2,500 guests and 250,000
 * archives, beside a naive per-guest poller on the same lab, in one run. The bridge runs as its
 * own process (`backup2mqtt run`), so its CPU time and memory are its own; a separate subscriber
 * process timestamps what reaches the broker. Prints a table, then one JSON line with the figures.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { startEmbeddedBroker } from "../demo/broker.js";
import { startLab } from "backup2mqtt-lab";
import { benchScenario, BENCH_TOKEN } from "./scenario.js";
import { naivePoll } from "./naive.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "..", "cli.js");
const probeJs = path.join(here, "probe.js");
const SITE = "bench";
const POLL_S = 10;
const P1_MAX_AGE_MS = 26 * 3600_000;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Mosquitto in its own process when installed (CI installs it), else the embedded broker. */
async function startBroker(dir: string): Promise<{ url: string; kind: string; stop(): Promise<void> }> {
  const bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((b) => fs.existsSync(b));
  if (!bin) {
    const b = await startEmbeddedBroker(0);
    return { url: b.url, kind: "embedded (aedes, in the bench process)", stop: b.close };
  }
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(
    conf,
    `${[
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_queued_messages 0",
      "max_queued_bytes 0",
      "log_type error",
      ...(process.getuid?.() === 0 ? ["user root"] : []),
    ].join("\n")}\n`,
  );
  const child = spawn(bin, ["-c", conf], { stdio: "ignore" });
  await until("mosquitto", () => child.exitCode === null && true, 1000);
  const open = () =>
    new Promise<boolean>((r) =>
      net
        .connect(port, "127.0.0.1")
        .once("connect", function (this: net.Socket) {
          this.destroy();
          r(true);
        })
        .once("error", () => r(false)),
    );
  for (let i = 0; i < 200 && !(await open()); i++) await sleep(25);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    kind: "mosquitto (own process)",
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    },
  };
}

interface ProcSample {
  cpuMs: number;
  rssMb: number;
  hwmMb: number;
}
function procSample(pid: number): ProcSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]); // utime + stime
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / CLK_TCK, rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

interface Seen {
  at: number;
  topic: string;
  bytes: number;
  payload: string;
}

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
    const cycles: { reqIndex: number; at: number; cpuMs: number; seenIndex: number; rssMb: number }[] = [];
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
    const perCycle = measured.slice(0, -1).map((c, i) => {
      const next = measured[i + 1]!;
      const reqs = lab.requests.slice(c.reqIndex, next.reqIndex);
      const pubs = seen.slice(c.seenIndex, next.seenIndex).filter((m) => m.topic !== "$ready");
      // The bridge's own heartbeat (bridge/info: "last poll" entity) changes every poll by design;
      // everything else — discovery, guest states, events — must stay silent when nothing changed.
      const heartbeat = pubs.filter((m) => m.topic === "backup2mqtt/bridge/info");
      const other = pubs.filter((m) => m.topic !== "backup2mqtt/bridge/info");
      return {
        calls: reqs.length,
        cpuMs: next.cpuMs - c.cpuMs,
        publishes: other.length,
        heartbeat: heartbeat.length,
        pubTopics: [...new Set(other.map((p) => p.topic))],
        paths: reqs,
        rssMb: c.rssMb,
      };
    });
    const heartbeats = Math.max(...perCycle.map((c) => c.heartbeat));
    const callsPerRefresh = Math.max(...perCycle.map((c) => c.calls));
    const refreshCpuMs = Math.max(...perCycle.map((c) => c.cpuMs));
    const idlePublishes = Math.max(...perCycle.map((c) => c.publishes));
    const kinds = (reqs: { path: string }[]) => {
      const k = { resources: 0, tasks: 0, content: 0, other: 0 };
      for (const r of reqs) {
        if (r.path.endsWith("/cluster/resources")) k.resources++;
        else if (/\/nodes\/[^/]+\/tasks$/.test(r.path)) k.tasks++;
        else if (/\/storage\/[^/]+\/content$/.test(r.path)) k.content++;
        else k.other++;
      }
      return k;
    };
    const split = kinds(perCycle[0]!.paths);
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
      `broker: ${broker.kind}; bridge: its own process, poll = content interval = ${POLL_S} s; baseline: naive per-guest poller, 5 concurrent calls, same lab/token`,
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
    const met =
      callsPerRefresh <= floor &&
      naive.calls >= 10 * callsPerRefresh &&
      refreshCpuMs < 1000 &&
      idlePublishes === 0 &&
      discoveryS < 15 &&
      rssMb < 250 &&
      buttonMs < 1000 &&
      staleLateMs <= 1000 &&
      staleLateMs >= 0;
    process.exitCode = met ? 0 : 1;
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
