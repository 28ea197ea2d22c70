/**
 * kill -9 in the middle of a backup: the next bridge process resumes the task it had started
 * (its id is in state_dir) and publishes the outcome — nothing acknowledged is lost.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { startLab, type Lab } from "backup2mqtt-lab";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { Observer } from "../support/observer.js";
import { writeLabConfigFile } from "../support/config-file.js";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");
let lab: Lab | undefined;
let broker: EmbeddedBroker | undefined;
let observer: Observer | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await observer?.close();
  await broker?.close();
  await lab?.stop();
});

function runBridge(configFile: string): ChildProcess {
  const child = spawn(process.execPath, [cli, "run", "--config", configFile], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PVE_SECRET: lab!.tokens[0]!.secret },
  });
  child.stdout!.resume();
  child.stderr!.resume();
  children.push(child);
  return child;
}

it("kill -9 mid-backup → restart → the outcome is published", async () => {
  lab = await startLab({ scenario: "seed", taskSpeed: 8, authFailDelayMs: 0 });
  broker = await startEmbeddedBroker(0);
  observer = await Observer.connect(broker.url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-restart-"));
  const cfg = writeLabConfigFile(dir, lab, broker.url);
  const o = observer;
  const first = runBridge(cfg);
  await o.until("bridge up", () => o.json("backup2mqtt/guest/home_102/state"), 20_000);
  await o.publish("backup2mqtt/guest/home_102/command", '{"action":"backup","origin":"test"}');
  const started = await o.until("started", () =>
    o.messages.find((m) => m.topic === "backup2mqtt/guest/home_102/event" && m.payload.includes("backup_started")),
  );
  const upid = JSON.parse(started.payload).upid as string;
  expect(upid).toMatch(/^UPID:proxmox-home:.*:vzdump:102:backup2mqtt@pve!bridge:$/);
  const inflight = JSON.parse(fs.readFileSync(path.join(dir, "state", "inflight.json"), "utf8"));
  expect(inflight).toEqual([expect.objectContaining({ kind: "backup", upid, vmid: 102, origin: "test" })]);

  first.kill("SIGKILL");
  await new Promise((r) => first.once("exit", r));
  await o.until("will", () => o.last.get("backup2mqtt/bridge/state") === "offline");
  // The backup ends while no bridge runs.
  await o.until(
    "task ended in the lab",
    () => {
      if (lab!.control.state.tasks.find((t) => t.upid === upid)?.endMs != null) return true;
      lab!.control.settle();
      return false;
    },
    20_000,
  );
  const before = Date.now();
  expect(
    o.messages.some((m) => m.topic === "backup2mqtt/guest/home_102/event" && m.payload.includes("backup_finished")),
  ).toBe(false);

  runBridge(cfg);
  const finished = await o.until(
    "finished after restart",
    () =>
      o.messages.find(
        (m) =>
          m.at >= before && m.topic === "backup2mqtt/guest/home_102/event" && m.payload.includes("backup_finished"),
      ),
    20_000,
  );
  expect(JSON.parse(finished.payload)).toMatchObject({ event_type: "backup_finished", upid, result: "ok" });
  await o.until("status ok", () => o.json("backup2mqtt/guest/home_102/state")?.status === "ok", 10_000);
  await o.until(
    "in-flight cleared",
    () => JSON.parse(fs.readFileSync(path.join(dir, "state", "inflight.json"), "utf8")).length === 0,
  );
  const audit = fs
    .readFileSync(path.join(dir, "state", "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(audit.map((a) => [a.action, a.result, a.origin])).toEqual([
    ["backup", "accepted", "test"],
    ["backup", "finished", "test"],
  ]);
}, 60_000);
