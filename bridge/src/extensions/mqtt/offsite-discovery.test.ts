import { describe, expect, it } from "vitest";
import { hyperBackupKey, pbsKey, Topics } from "../../core/identity.js";
import { hyperBackupHealth } from "../../policy/offsite.js";
import { pbsDatastoreHealth } from "../../policy/datastore.js";
import type { DiscoveryContext } from "./discovery.js";
import {
  hyperBackupDiscovery,
  hyperBackupState,
  pbsDatastoreDiscovery,
  pbsDatastoreState,
} from "./offsite-discovery.js";
import type { HyperBackupTask } from "../../sources/dsm/source.js";
import type { PbsDatastore } from "../../sources/pbs/source.js";

const NOW = Date.UTC(2026, 10, 26, 12);
const H = 3_600_000;
const ctx: DiscoveryContext = {
  topics: new Topics("backup2mqtt", "homeassistant", "home"),
  version: "0.1.0",
  site: "home",
  sourceUrls: {},
  tierIds: ["P0"],
};
const task: HyperBackupTask = {
  source: "nas",
  taskId: 2,
  name: "PVE to C2",
  state: "backupable",
  status: "none",
  lastResult: "done",
  lastAttemptMs: NOW - 3 * H,
  lastEndMs: NOW - 3 * H,
  lastSuccessMs: NOW - 3 * H,
  nextRunMs: NOW + 10 * H,
  progress: null,
  errorCode: 4401,
  error: null,
  targetType: "image",
  transferType: "image_remote",
  scheduleEnabled: true,
  integrity: null,
  protects: ["synology"],
  offsite: true,
  maxAgeMs: 26 * H,
};
const ds: PbsDatastore = {
  source: "pbs",
  store: "store1",
  total: 100,
  used: 95,
  avail: 5,
  namespaces: [""],
  groupCount: 1,
  snapshotCount: 2,
  lastBackupMs: NOW - H,
  verification: { ok: 1, failed: 1, none: 0 },
  verifyJobs: [
    { id: "v", state: "verification failed - please check the log", ok: false, endMs: NOW - H, nextMs: null },
  ],
  syncJobs: [],
  gc: { id: "gc", state: "OK", ok: true, endMs: NOW - 2 * H, nextMs: null },
  lastVerify: null,
  lastSync: null,
  storages: ["pbs"],
  offsite: false,
  unreadable: null,
  syncUnreadable: null,
};

function checkRules(payload: any, devId: string) {
  expect(payload.origin).toMatchObject({ name: "backup2mqtt" });
  expect(payload.device.identifiers).toEqual([devId]);
  for (const [k, c] of Object.entries<any>(payload.components)) {
    expect(c.unique_id, k).toMatch(new RegExp(`^${devId}_`));
    expect(c.default_entity_id, k).toMatch(/^(sensor|binary_sensor|button|event)\.[a-z0-9_]+$/);
    expect(c).not.toHaveProperty("object_id");
    if (["timestamp", "enum"].includes(c.device_class)) expect(c).not.toHaveProperty("state_class");
    if (c.p === "sensor") expect(c.entity_category).not.toBe("config");
  }
}

describe("off-site discovery", () => {
  it("Hyper Backup task device: rules, entities, availability on bridge + NAS", () => {
    const d = hyperBackupDiscovery(ctx, task, "2") as any;
    checkRules(d, "backup2mqtt_home_hyperbackup_2");
    expect(d.availability).toEqual([
      { topic: "backup2mqtt/bridge/state" },
      { topic: "backup2mqtt/source/nas/availability" },
    ]);
    expect(d.components.last_success).toMatchObject({
      device_class: "timestamp",
      state_topic: "backup2mqtt/hyperbackup/2/state",
    });
    expect(d.components.run).toMatchObject({
      p: "button",
      command_topic: "backup2mqtt/hyperbackup/2/command",
      payload_press: '{"action":"run","origin":"home_assistant"}',
    });
    expect(hyperBackupState(task, "2", hyperBackupHealth(task, true, task.maxAgeMs, NOW))).toMatchObject({
      status: "ok",
      problem: false,
      last_success: new Date(NOW - 3 * H).toISOString(),
      error_code: 4401,
    });
    expect(hyperBackupState(task, "2", hyperBackupHealth(task, false, task.maxAgeMs, NOW))).toMatchObject({
      status: "unknown",
      problem: false,
    });
  });
  it("keys: plain id with one NAS, prefixed with several", () => {
    expect(hyperBackupKey(task, false)).toBe("2");
    expect(hyperBackupKey(task, true)).toBe("nas_2");
    expect(pbsKey(ds, true)).toBe("pbs_store1");
  });
  it("PBS datastore device: usage %, data sizes in B, states as raw text; problem from failed verify and a full store", () => {
    const d = pbsDatastoreDiscovery(ctx, ds, "store1") as any;
    checkRules(d, "backup2mqtt_home_pbs_store1");
    expect(d.components.used).toMatchObject({ device_class: "data_size", unit_of_measurement: "B" });
    expect(d.components.verify.command_topic).toBe("backup2mqtt/pbs/store1/command");
    const st = pbsDatastoreState(ds, "store1", pbsDatastoreHealth(ds, true));
    expect(st).toMatchObject({ status: "problem", usage: 95, problem: true, last_gc_state: "OK" });
    expect(st.reasons).toEqual([
      "verify job 'v' failed: verification failed - please check the log",
      "1 snapshot(s) failed verification",
      "datastore is 95% full",
    ]);
    // PBS unreachable/unreadable: unknown, no problem judged from the last answer.
    expect(pbsDatastoreState(ds, "store1", pbsDatastoreHealth(ds, false))).toMatchObject({
      status: "unknown",
      problem: false,
      reasons: [],
    });
  });
});
