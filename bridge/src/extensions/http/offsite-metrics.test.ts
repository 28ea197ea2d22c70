import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { HyperBackupView, PbsDatastoreView, View } from "../../core/view.js";
import { pbsDatastoreHealth } from "../../policy/datastore.js";
import { hyperBackupHealth } from "../../policy/offsite.js";
import type { HyperBackupTask } from "../../sources/dsm/source.js";
import type { PbsDatastore } from "../../sources/pbs/source.js";
import { registerOffsiteMetrics } from "./offsite-metrics.js";

const NOW = Date.UTC(2026, 5, 1, 12);
const H = 3_600_000;
const task = {
  source: "nas",
  taskId: 2,
  name: "PVE to C2",
  state: "backupable",
  status: "none",
  lastResult: "done",
  lastAttemptMs: NOW - 30 * H,
  lastSuccessMs: NOW - 30 * H,
  errorCode: null,
  error: null,
  maxAgeMs: 26 * H,
} as unknown as HyperBackupTask;
const store = {
  source: "pbs",
  store: "store1",
  total: 100,
  used: 95,
  verifyJobs: [],
  syncJobs: [],
  gc: null,
  verification: { ok: 3, failed: 0, none: 0 },
  unreadable: null,
  syncUnreadable: null,
} as unknown as PbsDatastore;

/** A view with one stale Hyper Backup task and one 95 % full datastore (a unit test may fake the view). */
const view = {
  hyperBackupTasks: [
    {
      key: "2",
      task,
      verdict: hyperBackupHealth(task, true, task.maxAgeMs, NOW, { language: "en", timeZone: "UTC" }),
      readable: true,
      nasUrl: "",
    },
  ] as HyperBackupView[],
  pbsDatastores: [
    {
      key: "store1",
      datastore: store,
      verdict: pbsDatastoreHealth(store, true, { language: "en", timeZone: "UTC" }),
      readable: true,
      pbsUrl: "",
    },
  ] as PbsDatastoreView[],
} as unknown as View;

describe("off-site metrics", () => {
  it("show the policy's verdict of each Hyper Backup task and PBS datastore", async () => {
    const reg = new Registry();
    registerOffsiteMetrics(reg, view);
    const lines = (await reg.metrics()).split("\n").filter((l) => l && !l.startsWith("#"));
    expect(lines).toContain(
      'backup2mqtt_offsite_device_status{kind="hyperbackup",source="nas",device="2",name="PVE to C2",status="stale"} 1',
    );
    expect(lines).toContain(
      'backup2mqtt_offsite_device_status{kind="hyperbackup",source="nas",device="2",name="PVE to C2",status="ok"} 0',
    );
    expect(lines).toContain(
      'backup2mqtt_offsite_device_problem{kind="hyperbackup",source="nas",device="2",name="PVE to C2"} 1',
    );
    expect(lines).toContain(
      'backup2mqtt_offsite_device_status{kind="pbs",source="pbs",device="store1",name="store1",status="problem"} 1',
    );
    expect(lines).toContain(
      'backup2mqtt_offsite_device_problem{kind="pbs",source="pbs",device="store1",name="store1"} 1',
    );
    expect(lines).toContain('backup2mqtt_pbs_datastore_usage_ratio{source="pbs",device="store1",store="store1"} 0.95');
  });

  it("leave the usage out when the token may not read the datastore", async () => {
    const hidden = { ...store, unreadable: "needs Datastore.Audit on /datastore/store1" } as PbsDatastore;
    const reg = new Registry();
    registerOffsiteMetrics(reg, {
      hyperBackupTasks: [],
      pbsDatastores: [
        {
          key: "store1",
          datastore: hidden,
          verdict: pbsDatastoreHealth(hidden, true, { language: "en", timeZone: "UTC" }),
          readable: true,
          pbsUrl: "",
        },
      ],
    } as unknown as View);
    const text = await reg.metrics();
    expect(text).not.toMatch(/^backup2mqtt_pbs_datastore_usage_ratio\{/m);
    expect(text).toMatch(/status="unknown"\} 1/);
  });
});
