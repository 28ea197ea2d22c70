/**
 * Off-site layer end to end: simulated PVE + simulated Synology NAS (Hyper Backup) + simulated
 * PBS, all real HTTPS servers, the bridge, and a real MQTT broker. No mocks.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startLab, type Lab } from "backup2mqtt-lab";
import { labConfig, startOffsiteLabs, withOffsiteLabs } from "../../bridge/src/demo/lab-wiring.js";
import { startEmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { startService, type Running } from "../../bridge/src/commands/run.js";
import { createLogger } from "../../bridge/src/log.js";
import { schemaValidator, describeErrors } from "../../bridge/src/util/schemas.js";
import { Observer } from "../support/observer.js";

const GUEST = (id: string) => `backup2mqtt/guest/${id}/state`;
const HB = "backup2mqtt/hyperbackup/2";
const HB_CONFIG = "homeassistant/device/backup2mqtt_home_hyperbackup_2/config";
const PBS = "backup2mqtt/pbs/store1";
const PBS_CONFIG = "homeassistant/device/backup2mqtt_home_pbs_store1/config";

function expectValid(schema: string, payload: unknown) {
  const v = schemaValidator(schema);
  if (!v(payload)) throw new Error(`${schema}: ${describeErrors(v)}\n${JSON.stringify(payload)}`);
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function stack() {
  const lab: Lab = await startLab({ scenario: "demo", taskSpeed: 20, authFailDelayMs: 0 });
  const offsite = await startOffsiteLabs("demo", lab.clock, 20);
  const broker = await startEmbeddedBroker(0);
  const observer = await Observer.connect(broker.url);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-offsite-"));
  const cfg = withOffsiteLabs(labConfig(lab, broker.url, { stateDir, pollMs: 500, logLevel: "debug" }), offsite, 400);
  const logs: string[] = [];
  const sink = {
    write: (line: string) => {
      logs.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const service: Running = await startService(cfg, {
    log: createLogger("debug", () => cfg.secrets, sink),
    fastPollMs: 200,
    birthDelayMs: 100,
  });
  cleanup = async () => {
    await service.stop().catch(() => undefined);
    await observer.close().catch(() => undefined);
    await broker.close();
    await lab.stop();
    await offsite.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  return { lab, offsite, observer, cfg, logs };
}

describe("off-site layer through the broker", () => {
  it("publishes a device per Hyper Backup task and per PBS datastore, and guests with copies and last_offsite", async () => {
    const s = await stack();
    const o = s.observer;
    await o.until(
      "devices and states",
      () =>
        o.json(HB_CONFIG) &&
        o.json(`${HB}/state`) &&
        o.json(PBS_CONFIG) &&
        o.json(`${PBS}/state`) &&
        o.json(GUEST("home_100")),
    );

    const cfg = o.json(HB_CONFIG);
    expect(cfg.device).toMatchObject({
      identifiers: ["backup2mqtt_home_hyperbackup_2"],
      name: "Hyper Backup PVE dumps to remote NAS",
      manufacturer: "Synology",
    });
    expect(cfg.origin.name).toBe("backup2mqtt");
    expect(cfg.availability).toEqual([
      { topic: "backup2mqtt/bridge/state" },
      { topic: "backup2mqtt/source/nas/availability" },
    ]);
    for (const [key, c] of Object.entries<any>(cfg.components)) {
      expect(c.unique_id, key).toMatch(/^backup2mqtt_home_hyperbackup_2_/);
      expect(c.default_entity_id, key).toMatch(/^[a-z_]+\.hyper_backup_pve_dumps_to_remote_nas_[a-z_]+$/);
      expect(c).not.toHaveProperty("object_id");
      expect(c.name.toLowerCase()).not.toContain("pve dumps");
      if (c.device_class === "timestamp" || c.device_class === "enum") expect(c).not.toHaveProperty("state_class");
    }
    expect(Object.keys(cfg.components)).toEqual(
      expect.arrayContaining(["last_result", "last_success", "next_run", "progress", "problem", "run"]),
    );
    expect(cfg.components.run.command_topic).toBe(`${HB}/command`);

    const hb = o.json(`${HB}/state`);
    expect(hb).toMatchObject({
      task_id: 2,
      status: "ok",
      problem: false,
      last_result: "done",
      error_code: 4401,
      protects: ["synology"],
      offsite: true,
      integrity_ok: true,
    });
    expect(Date.parse(hb.next_run)).toBeGreaterThan(Date.now());
    await o.until("USB task stale", () => o.json("backup2mqtt/hyperbackup/3/state")?.status === "stale");

    const pbsCfg = o.json(PBS_CONFIG);
    expect(pbsCfg.device.name).toBe("PBS store1");
    expect(pbsCfg.components.usage).toMatchObject({ unit_of_measurement: "%", state_class: "measurement" });
    expect(pbsCfg.components.last_verify.device_class).toBe("timestamp");
    const pbs = o.json(`${PBS}/state`);
    expect(pbs).toMatchObject({
      store: "store1",
      usage: 30,
      namespaces: ["", "pve-home", "pve-home/old"],
      snapshot_count: 4,
      verified_ok: 2,
      unverified: 2,
      last_verify_state: "WARNINGS: 1",
      last_sync_state: "OK",
      last_gc_state: "OK",
      problem: false,
    });

    const ha = o.json(GUEST("home_100"));
    expectValid("guest-state", ha);
    expect(ha.status).toBe("ok");
    expect(ha.copies).toBe(4); // synology + pbs storages, Hyper Backup copy, PBS sync copy
    expect(Date.now() - Date.parse(ha.last_offsite)).toBeGreaterThan(3 * 3600_000 - 60_000);
    expect(ha.findings.map((f: any) => f.code)).not.toContain("no_offsite");
    const vw = o.json(GUEST("home_102"));
    expect(vw.findings.map((f: any) => f.code)).toContain("too_few_copies");
    const info = o.json("backup2mqtt/bridge/info");
    expectValid("bridge-info", info);
    expect(info.sources.nas).toMatchObject({ kind: "synology", up: true, degraded: false });
    expect(info.sources.pbs).toMatchObject({ kind: "pbs", up: true });
    // No secret in any MQTT payload.
    const all = o.messages.map((m: any) => String(m.payload)).join("\n");
    for (const secret of s.cfg.secrets) expect(all).not.toContain(secret);
    expect(s.logs.join("\n")).not.toContain("hyper-backup-demo");
  }, 30_000);

  it("Run now over MQTT: run_started, running with progress, then a new last success; a refused run gives command_rejected", async () => {
    const s = await stack();
    const o = s.observer;
    await o.until("hb state", () => o.json(`${HB}/state`)?.status === "ok");
    const before = o.json(`${HB}/state`).last_success;
    await o.publish(`${HB}/command`, JSON.stringify({ action: "run", origin: "test" }));
    await o.until("run_started", () =>
      o.messages.find(
        (m: any) => m.topic === `${HB}/event` && JSON.parse(String(m.payload)).event_type === "run_started",
      ),
    );
    await o.until("running", () => o.json(`${HB}/state`)?.status === "running");
    const done = await o.until(
      "ok again",
      () => o.json(`${HB}/state`)?.status === "ok" && o.json(`${HB}/state`),
      15_000,
    );
    expect(Date.parse(done.last_success)).toBeGreaterThan(Date.parse(before));
    await o.publish("backup2mqtt/hyperbackup/99/command", JSON.stringify({ action: "run" }));
    const rej = await o.until("rejected", () =>
      o.messages.find((m: any) => m.topic === "backup2mqtt/hyperbackup/99/event"),
    );
    expect(JSON.parse(String(rej.payload))).toMatchObject({
      event_type: "command_rejected",
      reason: "unknown Hyper Backup task '99'",
    });
  }, 30_000);

  it("NAS unreachable → its devices unavailable and unknown (never stale), guests keep their status; back → recovered", async () => {
    const s = await stack();
    const o = s.observer;
    await o.until("hb ok", () => o.json(`${HB}/state`)?.status === "ok");
    s.offsite.dsm!.control.setFault({ kind: "down" });
    await o.until("nas offline", () => o.last.get("backup2mqtt/source/nas/availability") === "offline");
    await o.until("unknown", () => o.json(`${HB}/state`)?.status === "unknown");
    expect(o.json("backup2mqtt/hyperbackup/3/state").status).toBe("unknown"); // the stale USB task is unknown too, not stale
    expect(o.last.get("backup2mqtt/source/pve/availability")).toBe("online");
    const ha = o.json(GUEST("home_100"));
    expect(ha.status).toBe("ok");
    expect(ha.findings.map((f: any) => f.code)).not.toContain("no_offsite"); // not guessed while the NAS is away
    expect(o.last.get(HB_CONFIG)).not.toBe(""); // an outage removes nothing
    s.offsite.dsm!.control.setFault(null);
    await o.until("back", () => o.json(`${HB}/state`)?.status === "ok", 10_000);
  }, 30_000);
});
