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
/** How the verdicts word their reasons (policy/offsite.ts, policy/datastore.ts). */
const WORDS = { language: "en", timeZone: "UTC" } as const;
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
    expect(hyperBackupState(task, "2", hyperBackupHealth(task, true, task.maxAgeMs, NOW, WORDS))).toMatchObject({
      status: "ok",
      problem: false,
      last_success: new Date(NOW - 3 * H).toISOString(),
      error_code: 4401,
    });
    expect(hyperBackupState(task, "2", hyperBackupHealth(task, false, task.maxAgeMs, NOW, WORDS))).toMatchObject({
      status: "unknown",
      problem: false,
    });
  });
  it("keys: plain id with one NAS, prefixed with several", () => {
    expect(hyperBackupKey(task, false)).toBe("2");
    expect(hyperBackupKey(task, true)).toBe("nas_2");
    expect(pbsKey(ds, true)).toBe("pbs_store1");
  });
  it("PBS datastore device: usage %, data sizes in GiB from the state's bytes, states as raw text; problem from failed verify and a full store", () => {
    const d = pbsDatastoreDiscovery(ctx, ds, "store1") as any;
    checkRules(d, "backup2mqtt_home_pbs_store1");
    expect(d.components.used).toEqual({
      p: "sensor",
      name: "Used",
      unique_id: "backup2mqtt_home_pbs_store1_used",
      default_entity_id: "sensor.pbs_store1_used",
      state_topic: "backup2mqtt/pbs/store1/state",
      device_class: "data_size",
      unit_of_measurement: "GiB",
      state_class: "measurement",
      value_template: "{{ (value_json.used / 1073741824) if value_json.used is not none else None }}",
      suggested_display_precision: 1,
    });
    expect(d.components.avail).toMatchObject({
      unit_of_measurement: "GiB",
      value_template: "{{ (value_json.avail / 1073741824) if value_json.avail is not none else None }}",
      entity_category: "diagnostic",
    });
    expect(d.components.verify.command_topic).toBe("backup2mqtt/pbs/store1/command");
    const st = pbsDatastoreState(ds, "store1", pbsDatastoreHealth(ds, true, WORDS));
    expect(st).toMatchObject({ status: "problem", usage: 95, used: 95, avail: 5, problem: true, last_gc_state: "OK" });
    expect(st.reasons).toEqual([
      "Verify job v failed: verification failed - please check the log.",
      "1 snapshot failed verification.",
      "The datastore is 95 % full.",
    ]);
    // PBS unreachable/unreadable: unknown, no problem judged from the last answer.
    expect(pbsDatastoreState(ds, "store1", pbsDatastoreHealth(ds, false, WORDS))).toMatchObject({
      status: "unknown",
      problem: false,
      reasons: [],
    });
  });
  it("names in German with language de; unique_ids and entity ids as in English", () => {
    const de = { ...ctx, language: "de" as const };
    const pairs = [
      [hyperBackupDiscovery(ctx, task, "2"), hyperBackupDiscovery(de, task, "2")],
      [pbsDatastoreDiscovery(ctx, ds, "store1"), pbsDatastoreDiscovery(de, ds, "store1")],
    ] as any[];
    for (const [en, ger] of pairs) {
      const ids = (p: any) =>
        Object.entries<any>(p.components).map(([k, c]) => [k, c.unique_id, c.default_entity_id, c.p]);
      expect(ids(ger)).toEqual(ids(en));
    }
    const names = (p: any) => Object.fromEntries(Object.entries<any>(p.components).map(([k, c]) => [k, c.name]));
    expect(names(pairs[0][1])).toEqual({
      status: "Status",
      last_result: "Letztes Ergebnis",
      last_success: "Letzter Erfolg",
      last_attempt: "Letzter Versuch",
      next_run: "Nächster Lauf",
      progress: "Fortschritt",
      integrity: "Letzte Integritätsprüfung",
      problem: "Problem",
      running: "Läuft",
      run: "Jetzt ausführen",
      event: "Ereignis",
    });
    expect(names(pairs[1][1])).toEqual({
      usage: "Belegung",
      used: "Belegt",
      avail: "Verfügbar",
      snapshots: "Snapshots",
      unverified: "Ungeprüfte Snapshots",
      failed: "Fehlgeschlagene Prüfungen",
      last_backup: "Letzte Sicherung",
      last_verify: "Letzte Prüfung",
      last_verify_state: "Ergebnis der letzten Prüfung",
      last_sync: "Letzte Synchronisierung",
      last_sync_state: "Ergebnis der letzten Synchronisierung",
      last_gc: "Letzte Speicherbereinigung",
      last_gc_state: "Ergebnis der letzten Speicherbereinigung",
      problem: "Problem",
      verify: "Jetzt prüfen",
    });
  });
});
