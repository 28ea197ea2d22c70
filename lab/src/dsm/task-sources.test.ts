/**
 * Hyper Backup tasks' sources, excludes and schedules as SYNO.Backup.Task get/list show them
 * (issue 20: guest disks on NAS storage, Hyper Backup as their backup).
 */
import https from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { loadScenario } from "../scenario.js";
import { type DsmLab, startDsmLab } from "./index.js";
import type { DsmScenario } from "./scenario.js";

let lab: DsmLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

// Tuesday 2026-03-10 13:00 in Berlin.
const clock = new ManualClock(Date.parse("2026-03-10T12:00:00Z"));

function post(
  path: string,
  form: Record<string, string>,
): Promise<{ success: boolean; data?: any; error?: { code: number } }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${lab!.url}/webapi/${path}`,
      { method: "POST", ca: lab!.certPem, headers: { "content-type": "application/x-www-form-urlencoded" } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve(JSON.parse(text)));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function session(scenario: DsmScenario) {
  lab = await startDsmLab({ scenario, clock });
  const dsm6 = scenario.dsm === 6;
  const user = lab.scenario.users[0]!;
  const login = await post(dsm6 ? "auth.cgi" : "entry.cgi", {
    api: "SYNO.API.Auth",
    version: dsm6 ? "6" : "7",
    method: "login",
    account: user.account,
    passwd: user.password,
    session: "webui",
    format: "sid",
  });
  expect(login.success).toBe(true);
  const sid = login.data.sid as string;
  return async (method: string, extra: Record<string, string> = {}) => {
    const r = await post("entry.cgi", { api: "SYNO.Backup.Task", version: "1", method, _sid: sid, ...extra });
    expect(r.success).toBe(true);
    return r.data;
  };
}

const folder = (path: string, extra: Record<string, unknown> = {}) => ({
  dataEncryped: false,
  encryptedShare: false,
  fileSystem: "BTRFS",
  fileSystemType: "internal",
  folderPath: path,
  fullPath: `/volume1${path}`,
  isValidSource: true,
  missing: false,
  ...extra,
});

const tasks: DsmScenario["tasks"] = [
  {
    id: 1,
    name: "VMs",
    schedule: "01:00",
    sources: [{ path: "/proxmox/images/100" }, { path: "/proxmox/images/999", missing: true }],
    excludes: ["/proxmox/images/100/vm-100-disk-1.qcow2"],
  },
  { id: 2, name: "weekly", schedule: "03:00", weekdays: "0" },
  { id: 3, name: "off", schedule: "05:00", scheduleEnabled: false },
  { id: 4, name: "repeat", schedule: "08:00", repeatHours: 6, weekdays: "1,2,3,4,5" },
];

describe("SYNO.Backup.Task sources (DSM 7)", () => {
  it("get: folders in file_list and folder_list, shares, a missing folder invalid, excludes as paths, the schedule always", async () => {
    const call = await session({ timezone: "Europe/Berlin", tasks });
    const got = await call("get", { task_id: "1" });
    const folders = [
      folder("/proxmox/images/100"),
      folder("/proxmox/images/999", { missing: true, isValidSource: false }),
    ];
    expect(got.source).toEqual({
      app_config: [],
      app_list: [],
      app_name_list: [],
      backup_filter: { exclude_list: ["/proxmox/images/100/vm-100-disk-1.qcow2"], whitelist: [] },
      backup_volumes: [],
      file_list: folders,
      folder_list: folders,
      share_list: {
        proxmox: {
          dataEncryped: false,
          encryptedShare: false,
          fileSystem: "BTRFS",
          fileSystemType: "internal",
          fullPath: "/volume1/proxmox",
          isValidSource: true,
        },
      },
    });
    expect(got.schedule).toEqual({
      schedule_enable: true,
      schedule: {
        date: "2026/3/11",
        date_type: 0,
        hour: 1,
        last_work_hour: 1,
        min: 0,
        next_trigger_time: "2026-03-11 01:00",
        repeat: 0,
        repeat_hour: 0,
        repeat_hour_store_config: [...Array(23).keys()].map((i) => i + 1),
        repeat_min: 0,
        repeat_min_store_config: [],
        week_name: "0,1,2,3,4,5,6",
      },
    });
  });

  it("default source: one folder named after the task; list with `source` carries the same object", async () => {
    const call = await session({ timezone: "Europe/Berlin", tasks });
    const list = await call("list", { additional: JSON.stringify(["source", "next_bkp_time"]) });
    const byId = Object.fromEntries((list.task_list as any[]).map((t) => [t.task_id, t]));
    expect(byId[2].source.folder_list).toEqual([folder("/weekly")]);
    expect(byId[2].source.backup_filter).toEqual({ exclude_list: [], whitelist: [] });
    expect(byId[1].source).toEqual((await call("get", { task_id: "1" })).source);
  });

  it("schedules: a weekly task's next run is the next matching weekday, repeats within the day, disabled → ''", async () => {
    const call = await session({ timezone: "Europe/Berlin", tasks });
    const list = await call("list", { additional: JSON.stringify(["next_bkp_time", "schedule"]) });
    const byId = Object.fromEntries((list.task_list as any[]).map((t) => [t.task_id, t]));
    expect(byId[2].next_bkp_time).toBe("2026/03/15 03:00"); // Sunday
    expect(byId[2].schedule.schedule.week_name).toBe("0");
    expect(byId[4].next_bkp_time).toBe("2026/03/10 14:00"); // 08:00 + 6 h, Tuesday
    expect(byId[4].schedule.schedule).toMatchObject({ repeat_hour: 6, last_work_hour: 23, week_name: "1,2,3,4,5" });
    expect(byId[3].next_bkp_time).toBe("");
    expect(byId[3].schedule.schedule_enable).toBe(false);
    const status = await call("status", { task_id: "3", additional: JSON.stringify(["next_bkp_time"]) });
    expect(status.next_bkp_time).toBe("");
    // After Sunday's run the weekly task is due the Sunday after.
    clock.advance(5 * 86_400_000 - 9 * 3_600_000 + 60_000); // Sunday 2026-03-15 03:01 Berlin
    const later = await call("list", { additional: JSON.stringify(["next_bkp_time"]) });
    expect((later.task_list as any[]).find((t) => t.task_id === 2).next_bkp_time).toBe("2026/03/22 03:00");
  });
});

describe("SYNO.Backup.Task sources (DSM 6)", () => {
  it("no folder_list, file_list or backup_filter: clients must treat the folders as unknown", async () => {
    const call = await session({ dsm: 6, timezone: "Europe/Berlin", tasks });
    const got = await call("get", { task_id: "1" });
    expect(got.source).not.toHaveProperty("folder_list");
    expect(got.source).not.toHaveProperty("file_list");
    expect(got.source).not.toHaveProperty("backup_filter");
    expect(Object.keys(got.source.share_list)).toEqual(["proxmox"]);
  });
});

describe("hyperbackup-primary scenario", () => {
  it("loads; its NAS is nas.home.arpa and its tasks list the guests' image folders on the nas-vms export", async () => {
    const sc = loadScenario("hyperbackup-primary");
    expect(sc.jobs.every((j) => j.enabled === 0)).toBe(true);
    const nasVms = sc.storages.find((s) => s.id === "nas-vms")!;
    expect(nasVms).toMatchObject({ type: "nfs", server: "nas.home.arpa", export: "/volume1/proxmox" });
    const call = await session(sc.synology!);
    expect(lab!.hostname).toBe("nas.home.arpa");
    const list = await call("list", { additional: JSON.stringify(["source", "next_bkp_time", "last_bkp_time"]) });
    const rows = (list.task_list as any[]).map((t) => [
      t.name,
      t.transfer_type,
      t.source.folder_list.map((f: { fullPath: string }) => f.fullPath),
    ]);
    expect(rows).toEqual([
      ["VMs daily", "image_local", ["/volume1/proxmox/images/100", "/volume1/proxmox/images/102"]],
      [
        "VMs weekly",
        "image_local",
        ["/volume1/proxmox/images/101", "/volume1/proxmox/images/103", "/volume1/proxmox/images/105"],
      ],
      ["VMs offsite", "image_remote", ["/volume1/proxmox/images/100", "/volume1/proxmox/images/102"]],
    ]);
    const weekly = await call("get", { task_id: "2" });
    expect(weekly.schedule.schedule.week_name).toBe("0");
  });
});
