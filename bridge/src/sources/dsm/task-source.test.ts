import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "backup2mqtt-lab";
import { startDsmLab, type DsmLab, type DsmScenario } from "backup2mqtt-lab/dsm";
import { dsmLabSourceConfig } from "../../demo/lab-wiring.js";
import { createLogger } from "../../log.js";
import { SynologySource, TASK_GET_TTL_MS } from "./source.js";
import { parseTaskSchedule, parseTaskSource } from "./task-source.js";

/** A DSM 7 SYNO.Backup.Task get `data.source` (Hyper Backup 4.x capture, trimmed). */
const dsm7Source = {
  app_config: [],
  app_list: [],
  backup_filter: { exclude_list: [], whitelist: [] },
  backup_volumes: [],
  file_list: [
    {
      dataEncryped: false,
      encryptedShare: false,
      fileSystem: "BTRFS",
      fileSystemType: "internal",
      folderPath: "/docker",
      fullPath: "/volume1/docker",
      isValidSource: true,
      missing: false,
    },
  ],
  folder_list: [
    {
      dataEncryped: false,
      encryptedShare: false,
      fileSystem: "BTRFS",
      fileSystemType: "internal",
      folderPath: "/docker",
      fullPath: "/volume1/docker",
      isValidSource: true,
      missing: false,
    },
    { folderPath: "/proxmox/images", fullPath: "/volume1/proxmox/images", isValidSource: false, missing: true },
  ],
  share_list: { docker: { fullPath: "/volume1/docker", isValidSource: true } },
};

describe("parseTaskSource", () => {
  it.each([
    {
      name: "DSM 7: folder_list wins over file_list",
      raw: dsm7Source,
      folders: [
        { folderPath: "/docker", fullPath: "/volume1/docker", valid: true },
        { folderPath: "/proxmox/images", fullPath: "/volume1/proxmox/images", valid: false },
      ],
      excludes: [],
    },
    {
      name: "file_list alone; excludes as strings and as objects, others dropped",
      raw: {
        file_list: [{ folderPath: "/proxmox", fullPath: "/volume1/proxmox" }],
        backup_filter: {
          exclude_list: [
            "/proxmox/dump/tmp",
            { path: "/proxmox/a" },
            { fullPath: "/volume1/proxmox/b" },
            { folderPath: "/proxmox/c" },
            { path: 3 },
            7,
          ],
          whitelist: [],
        },
      },
      folders: [{ folderPath: "/proxmox", fullPath: "/volume1/proxmox", valid: true }],
      excludes: ["/proxmox/dump/tmp", "/proxmox/a", "/volume1/proxmox/b", "/proxmox/c"],
    },
    {
      name: "DSM 6: no folder list → folders unknown (null), not none",
      raw: { app_list: [], share_list: { proxmox: {} } },
      folders: null,
      excludes: [],
    },
    { name: "an empty folder list is no folders", raw: { folder_list: [] }, folders: [], excludes: [] },
  ])("$name", ({ raw, folders, excludes }) => {
    expect(parseTaskSource(raw)).toEqual({ folders, excludes });
  });

  it.each([
    ["folder_list not a list", { folder_list: "x" }],
    ["a folder without fullPath", { folder_list: [{ folderPath: "/a" }] }],
    ["exclude_list not a list", { folder_list: [], backup_filter: { exclude_list: {} } }],
    ["not an object", "nope"],
  ])("throws on %s", (_, raw) => {
    expect(() => parseTaskSource(raw)).toThrow(/source/);
  });
});

describe("parseTaskSchedule", () => {
  it.each([
    {
      name: "DSM 7 schedule: every day at 03:30, once",
      raw: {
        schedule_enable: true,
        schedule: {
          date: "2025/1/16",
          date_type: 0,
          hour: 3,
          last_work_hour: 3,
          min: 30,
          next_trigger_time: "2025-01-16 03:30",
          repeat: 0,
          repeat_hour: 0,
          repeat_min: 0,
          week_name: "0,1,2,3,4,5,6",
        },
      },
      schedule: { enabled: true, weekDays: [0, 1, 2, 3, 4, 5, 6], hour: 3, minute: 30, repeatHours: 0 },
    },
    {
      name: "disabled, weekdays only, every 6 hours, numbers as strings",
      raw: { schedule_enable: false, schedule: { hour: "22", min: "0", repeat_hour: 6, week_name: "5,1,3" } },
      schedule: { enabled: false, weekDays: [1, 3, 5], hour: 22, minute: 0, repeatHours: 6 },
    },
    {
      name: "week_name as a list",
      raw: { schedule_enable: true, schedule: { hour: 1, min: 5, week_name: [6, 0] } },
      schedule: { enabled: true, weekDays: [0, 6], hour: 1, minute: 5, repeatHours: 0 },
    },
    { name: "only the enable flag (a status without additional)", raw: { schedule_enable: true }, schedule: null },
    { name: "absent", raw: undefined, schedule: null },
    { name: "wrong type", raw: { schedule_enable: "yes", schedule: { hour: 1 } }, schedule: null },
  ])("$name", ({ raw, schedule }) => {
    expect(parseTaskSchedule(raw)).toEqual(schedule);
  });
});

describe("Synology source: what each task backs up (simulated DSM)", () => {
  const T0 = Date.UTC(2026, 2, 30, 10, 0, 0);
  let lab: DsmLab | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const tasks: DsmScenario["tasks"] = [
    {
      id: 2,
      name: "PVE to C2",
      schedule: "03:30",
      weekdays: "1,3,5",
      repeatHours: 6,
      sources: [{ path: "/proxmox", volume: "volume1", missing: false }],
      excludes: ["/proxmox/dump"],
      protects: ["nas-nfs"],
      lastSuccess: { age: "5h" },
    },
    { id: 3, name: "docker", sources: [{ path: "/docker/data", volume: "volume2", missing: true }] },
  ];

  async function source(extra: Partial<DsmScenario> = {}) {
    const clock = new ManualClock(T0);
    lab = await startDsmLab({ scenario: { timezone: "Europe/Berlin", tasks, ...extra }, clock });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-dsm-"));
    dirs.push(dir);
    return { s: new SynologySource(dsmLabSourceConfig(lab), createLogger("silent"), () => clock.now(), dir), clock };
  }

  it("DSM 7: folders, excludes and schedule from the task list, no extra request; nasHosts named", async () => {
    const { s } = await source();
    await s.refresh();
    const before = s.client.requestCount;
    await s.refresh();
    // list + log + one status per task, as before: the source rides on the list.
    expect(s.client.requestCount - before).toBe(2 + tasks.length);
    const [t2, t3] = s.hyperBackupEvidence();
    expect(t2).toEqual({
      source: s.name,
      nasHosts: expect.arrayContaining(["127.0.0.1", lab!.hostname]),
      taskId: 2,
      name: "PVE to C2",
      folders: [{ folderPath: "/proxmox", fullPath: "/volume1/proxmox", valid: true }],
      excludes: ["/proxmox/dump"],
      configuredStorages: ["nas-nfs"],
      schedule: { enabled: true, weekDays: [1, 3, 5], hour: 3, minute: 30, repeatHours: 6 },
      lastSuccessMs: T0 - 5 * 3_600_000,
      offsite: true,
      readable: true,
      integrity: null,
    });
    expect(t3).toMatchObject({
      taskId: 3,
      folders: [{ folderPath: "/docker/data", fullPath: "/volume2/docker/data", valid: false }],
      configuredStorages: null,
      schedule: { enabled: false },
    });
  });

  it("DSM 6: no folder list → folders unknown", async () => {
    const { s } = await source({ dsm: 6 });
    await s.refresh();
    expect(s.health).toMatchObject({ up: true, degraded: false });
    expect(s.hyperBackupEvidence().map((t) => [t.taskId, t.folders, t.excludes])).toEqual([
      [2, null, []],
      [3, null, []],
    ]);
  });

  it("a list without source falls back to Task get, at most once an hour per task", async () => {
    const { s, clock } = await source();
    const list = s.client.listTasks.bind(s.client);
    s.client.listTasks = async () => {
      const l = await list();
      for (const t of l.task_list) delete t.source;
      return l;
    };
    const gets = () => lab!.requests.filter((r) => r.what === "SYNO.Backup.Task get").length;
    await s.refresh();
    await s.refresh();
    expect(gets()).toBe(tasks.length);
    expect(s.hyperBackupEvidence()[0]!.folders).toEqual([
      { folderPath: "/proxmox", fullPath: "/volume1/proxmox", valid: true },
    ]);
    clock.advance(TASK_GET_TTL_MS);
    await s.refresh();
    expect(gets()).toBe(2 * tasks.length);
  });

  it("a wrong type in a task's source leaves its folders unknown, the NAS stays readable", async () => {
    const { s } = await source();
    const list = s.client.listTasks.bind(s.client);
    s.client.listTasks = async () => {
      const l = await list();
      l.task_list[0]!.source = { folder_list: [{ folderPath: 5 }] };
      return l;
    };
    await s.refresh();
    expect(s.health).toMatchObject({ up: true, degraded: false });
    expect(s.hyperBackupEvidence().map((t) => t.folders === null)).toEqual([true, false]);
  });

  it("never read: the configured tasks, unknown", async () => {
    const { s } = await source();
    await lab!.stop();
    lab = undefined;
    await s.refresh();
    expect(s.hyperBackupEvidence()).toEqual([
      expect.objectContaining({ taskId: 2, folders: null, configuredStorages: ["nas-nfs"], readable: false }),
    ]);
  });
});
