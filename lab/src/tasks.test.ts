import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { UPID_RE } from "./routes/tasks.js";
import { ADMIN, api as labApi, type ApiRequest, BRIDGE, T0, twoNodeScenario } from "./testing.js";

/** The lab's JSON answers, which these tests walk freely (test files may use `any`: biome.json). */
const api = (l: Lab, path: string, req?: ApiRequest) => labApi<any>(l, path, req);

/** Labs started by a test, stopped after it (a test may compare two runs of the same scenario). */
const labs: Lab[] = [];
afterEach(async () => {
  await Promise.all(labs.splice(0).map((l) => l.stop()));
});

async function start(
  scenario: Parameters<typeof startLab>[0]["scenario"] = twoNodeScenario(),
  taskSpeed?: number,
): Promise<{ lab: Lab; clock: ManualClock }> {
  const clock = new ManualClock(T0);
  const lab = await startLab({ scenario, clock, authFailDelayMs: 0, ...(taskSpeed ? { taskSpeed } : {}) });
  labs.push(lab);
  return { lab, clock };
}

const enc = encodeURIComponent;
const logOf = async (l: Lab, node: string, upid: string): Promise<string[]> =>
  (await api(l, `/nodes/${node}/tasks/${enc(upid)}/log?limit=0`)).json.data.map((x: { t: string }) => x.t);

describe("POST vzdump", () => {
  it("returns a UPID matching PVE's parser, with the token as user; id = vmid for one guest", async () => {
    const { lab } = await start();
    const r = await api(lab, "/nodes/pve1/vzdump", {
      token: BRIDGE,
      form: { vmid: 100, storage: "nas", mode: "snapshot", compress: "zstd" },
    });
    expect(r.status).toBe(200);
    const upid = r.json.data as string;
    const m = UPID_RE.exec(upid);
    expect(m).not.toBeNull();
    expect(m![1]).toBe("pve1");
    expect(m![5]).toBe((T0 / 1000).toString(16).toUpperCase());
    expect(m![6]).toBe("vzdump");
    expect(m![7]).toBe("100");
    expect(m![8]).toBe(BRIDGE);
    const st = (await api(lab, `/nodes/pve1/tasks/${enc(upid)}/status`)).json.data;
    expect(st).toMatchObject({
      upid,
      node: "pve1",
      type: "vzdump",
      id: "100",
      user: "backup2mqtt@pve",
      tokenid: "bridge",
      status: "running",
      starttime: T0 / 1000,
    });
    expect(st).not.toHaveProperty("exitstatus");
    expect(st).not.toHaveProperty("endtime");
  });

  it("JSON bodies work; multi-guest task has an empty id", async () => {
    const { lab } = await start();
    const r = await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, jsonBody: { vmid: "100,101", storage: "local" } });
    expect(UPID_RE.exec(r.json.data)![7]).toBe("");
  });

  it('returns the literal "OK" (no task) when no selected guest is on the node', async () => {
    const { lab } = await start();
    const before = lab.control.state.tasks.length;
    const r = await api(lab, "/nodes/pve2/vzdump", { token: BRIDGE, form: { vmid: 100, storage: "nas" } });
    expect(r.json).toEqual({ data: "OK" });
    expect(lab.control.state.tasks.length).toBe(before);
  });

  it("needs VM.Backup and Datastore.AllocateSpace (403 otherwise)", async () => {
    const { lab } = await start();
    const r = await api(lab, "/nodes/pve1/vzdump", {
      token: "monitor@pve!readonly",
      form: { vmid: 100, storage: "nas" },
    });
    expect(r.status).toBe(403);
    expect(r.statusMessage).toBe("Permission check failed (/vms/100, VM.Backup)");
  });
});

describe("task lifecycle", () => {
  it("progresses with the clock: lock during run, archive + .log after, log paging and total", async () => {
    const { lab, clock } = await start();
    const upid = (
      await api(lab, "/nodes/pve1/vzdump", {
        token: BRIDGE,
        form: { vmid: 100, storage: "local", compress: "zstd", "notes-template": "{{guestname}} on {{node}}" },
      })
    ).json.data;
    const res = (await api(lab, "/cluster/resources?type=vm")).json.data;
    expect(res.find((x: { vmid: number }) => x.vmid === 100).lock).toBe("backup");
    expect((await api(lab, "/nodes/pve1/qemu")).json.data[0].lock).toBe("backup");
    expect((await api(lab, "/nodes/pve1/storage/local/content?content=backup")).json.data).toEqual([]);
    const active = (await api(lab, "/nodes/pve1/tasks?source=active")).json;
    expect(active.data[0]).toMatchObject({ upid, status: "RUNNING" });
    expect(active.data[0]).not.toHaveProperty("endtime");
    expect((await api(lab, "/nodes/pve1/tasks")).json).toEqual({ data: [], total: 0 }); // archive = finished only

    clock.advance(59_000);
    expect((await api(lab, `/nodes/pve1/tasks/${enc(upid)}/status`)).json.data.status).toBe("running");
    clock.advance(1_000);
    const st = (await api(lab, `/nodes/pve1/tasks/${enc(upid)}/status`)).json.data;
    expect(st).toMatchObject({ status: "stopped", exitstatus: "OK" });
    const res2 = (await api(lab, "/cluster/resources?type=vm")).json.data;
    expect(res2.find((x: { vmid: number }) => x.vmid === 100)).not.toHaveProperty("lock");

    const content = (await api(lab, "/nodes/pve1/storage/local/content?content=backup")).json.data;
    expect(content).toEqual([
      expect.objectContaining({
        volid: "local:backup/vzdump-qemu-100-2026_01_14-12_00_00.vma.zst",
        ctime: T0 / 1000,
        format: "vma.zst",
        notes: "web on pve1",
      }),
    ]);
    expect(lab.control.listFiles("local", "pve1")).toEqual([
      "vzdump-qemu-100-2026_01_14-12_00_00.log",
      "vzdump-qemu-100-2026_01_14-12_00_00.vma.zst",
      "vzdump-qemu-100-2026_01_14-12_00_00.vma.zst.notes",
    ]);

    const lines = await logOf(lab, "pve1", upid);
    expect(lines[0]).toBe(
      "INFO: starting new backup job: vzdump 100 --storage local --mode snapshot --compress zstd --notes-template '{{guestname}} on {{node}}'",
    );
    expect(lines).toContain("INFO: Starting Backup of VM 100 (qemu)");
    expect(lines).toContain("INFO: Backup started at 2026-01-14 12:00:00");
    expect(lines).toContain(
      "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-100-2026_01_14-12_00_00.vma.zst'",
    );
    expect(lines).toContain("INFO: Finished Backup of VM 100 (00:01:00)");
    expect(lines.filter((l) => /^INFO: archive file size: \d+(\.\d\d)?[KMGT]B$/.test(l))).toHaveLength(1);
    expect(lines.slice(-2)).toEqual(["INFO: notified via target `mail-to-root`", "TASK OK"]);

    const page = (await api(lab, `/nodes/pve1/tasks/${enc(upid)}/log?start=2&limit=3`)).json;
    expect(page.total).toBe(lines.length);
    expect(page.data).toEqual([
      { n: 3, t: lines[2] },
      { n: 4, t: lines[3] },
      { n: 5, t: lines[4] },
    ]);
    const def = (await api(lab, `/nodes/pve1/tasks/${enc(upid)}/log`)).json;
    expect(def.data.length).toBe(Math.min(50, lines.length));

    const list = (await api(lab, "/nodes/pve1/tasks?typefilter=vzdump&vmid=100")).json;
    expect(list.total).toBe(1);
    expect(list.data[0]).toMatchObject({
      upid,
      status: "OK",
      endtime: T0 / 1000 + 60,
      user: "backup2mqtt@pve",
      tokenid: "bridge",
    });
  });

  it("a VM backup prints vzdump's progress lines as time passes (a container prints none); polling does not change the log", async () => {
    const { lab, clock } = await start();
    const upid = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: "100,101", storage: "local" } }))
      .json.data;
    const progress = (lines: string[]) => lines.filter((l) => /^INFO:\s+\d{1,3}% \(/.test(l));
    let lines = await logOf(lab, "pve1", upid);
    expect(lines).toContain("INFO: Starting Backup of VM 100 (qemu)");
    expect(lines.some((l) => /^INFO: started backup task '[0-9a-f-]{36}'$/.test(l))).toBe(true);
    expect(progress(lines)).toEqual([]); // PVE's first status line comes after more than 2 s
    clock.advance(25_000); // VM 100 takes 60 s: the 10 … 40 % marks are due at 6, 12, 18 and 24 s
    lines = await logOf(lab, "pve1", upid);
    expect(progress(lines).map((l) => /(\d+)%/.exec(l)![1])).toEqual(["10", "20", "30", "40"]);
    expect(progress(lines)[3]).toBe("INFO:  40% (12.8 GiB of 32.0 GiB) in 24s, read: 546.1 MiB/s, write: 513.4 MiB/s");
    clock.advance(70_000); // the VM ends at 60 s, the container (30 s) at 90 s
    lines = await logOf(lab, "pve1", upid);
    expect(lines.at(-1)).toBe("TASK OK");
    const vm = lines.slice(
      lines.indexOf("INFO: Starting Backup of VM 100 (qemu)"),
      lines.indexOf("INFO: Finished Backup of VM 100 (00:01:00)") + 1,
    );
    expect(progress(vm).map((l) => /(\d+)%/.exec(l)![1])).toEqual([
      "10",
      "20",
      "30",
      "40",
      "50",
      "60",
      "70",
      "80",
      "90",
      "100",
    ]);
    const last = vm.indexOf("INFO: 100% (32.0 GiB of 32.0 GiB) in 1m, read: 546.1 MiB/s, write: 513.4 MiB/s");
    expect(last).toBeGreaterThan(0);
    expect(vm[last + 1]).toBe("INFO: transferred 32.00 GiB in 60 seconds (546.1 MiB/s)");
    expect(vm[last + 2]).toMatch(/^INFO: archive file size: /);
    const ct = lines.slice(lines.indexOf("INFO: Starting Backup of VM 101 (lxc)"));
    expect(progress(ct)).toEqual([]); // tar prints no percentages

    // The same world read once at the end: identical apart from the random backup task id.
    const { lab: lab2, clock: clock2 } = await start();
    const upid2 = (
      await api(lab2, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: "100,101", storage: "local" } })
    ).json.data;
    clock2.advance(95_000);
    const uuidless = (l: string[]) => l.map((x) => x.replace(/'[0-9a-f-]{36}'/, "'…'"));
    expect(uuidless(await logOf(lab2, "pve1", upid2))).toEqual(uuidless(lines));
  });

  it("one vzdump per node: the second waits for the lock", async () => {
    const { lab, clock } = await start();
    const a = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 100, storage: "local" } })).json
      .data;
    const b = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 101, storage: "local" } })).json
      .data;
    expect(await logOf(lab, "pve1", b)).toEqual(["INFO: trying to get global lock - waiting..."]);
    clock.advance(60_000);
    const lb = await logOf(lab, "pve1", b);
    expect(lb[1]).toBe("INFO: got global lock");
    expect((await api(lab, `/nodes/pve1/tasks/${enc(a)}/status`)).json.data.exitstatus).toBe("OK");
    clock.advance(30_000);
    expect((await api(lab, `/nodes/pve1/tasks/${enc(b)}/status`)).json.data.exitstatus).toBe("OK");
  });

  it("a failing guest in a multi-guest task: per-guest lines and `job errors`; no archive for it", async () => {
    const { lab, clock } = await start();
    lab.control.failNextBackup(100, "VM 100 qmp command 'backup' failed - got timeout");
    const upid = (
      await api(lab, "/nodes/pve1/vzdump", {
        token: BRIDGE,
        form: { vmid: "100,101", storage: "nas", compress: "zstd" },
      })
    ).json.data;
    clock.advance(10 * 60_000);
    const lines = await logOf(lab, "pve1", upid);
    expect(lines).toContain("ERROR: Backup of VM 100 failed - VM 100 qmp command 'backup' failed - got timeout");
    expect(lines).toContain("INFO: Starting Backup of VM 101 (lxc)");
    expect(lines.some((l) => /^INFO: Finished Backup of VM 101 \(\d\d:\d\d:\d\d\)$/.test(l))).toBe(true);
    expect(lines).toContain("INFO: Backup job finished with errors");
    expect(lines.at(-1)).toBe("TASK ERROR: job errors");
    expect((await api(lab, `/nodes/pve1/tasks/${enc(upid)}/status`)).json.data.exitstatus).toBe("job errors");
    const vmids = (await api(lab, "/nodes/pve1/storage/nas/content?content=backup")).json.data.map(
      (x: { vmid: number }) => x.vmid,
    );
    expect(vmids.sort()).toEqual([100, 101]); // 100's only archive is the scenario's old one
    expect(lab.control.state.archives.filter((a) => a.vmid === 100)).toHaveLength(1);
    const err = (await api(lab, "/nodes/pve1/tasks?statusfilter=error")).json.data;
    expect(err.map((t: { upid: string }) => t.upid)).toEqual([upid]);
  });

  it("a warning guest ends in WARNINGS: 1", async () => {
    const sc = twoNodeScenario();
    sc.guests![1] = { ...sc.guests![1]!, warn: "no efidisk configured! Using temporary efivars disk." };
    const { lab, clock } = await start(sc);
    const upid = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 101, storage: "local" } })).json
      .data;
    clock.advance(60_000);
    expect((await api(lab, `/nodes/pve1/tasks/${enc(upid)}/status`)).json.data.exitstatus).toBe("WARNINGS: 1");
    const lines = await logOf(lab, "pve1", upid);
    expect(lines).toContain("WARN: no efidisk configured! Using temporary efivars disk.");
    expect(lines.at(-1)).toBe("TASK WARNINGS: 1");
  });

  it("DELETE stops a task: interrupted by signal", async () => {
    const { lab, clock } = await start();
    const upid = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 100, storage: "local" } })).json
      .data;
    clock.advance(5_000);
    expect((await api(lab, `/nodes/pve1/tasks/${enc(upid)}`, { method: "DELETE", token: BRIDGE })).json).toEqual({
      data: null,
    });
    const st = (await api(lab, `/nodes/pve1/tasks/${enc(upid)}/status`)).json.data;
    expect(st).toMatchObject({ status: "stopped", exitstatus: "interrupted by signal" });
    clock.advance(120_000);
    expect((await api(lab, "/nodes/pve1/storage/local/content?content=backup")).json.data).toEqual([]);
  });

  it("enabled jobs run at their schedule as root@pam; retention prunes", async () => {
    const { lab, clock } = await start();
    // daily 02:00 UTC: next run 2026-01-15 02:00. Jump just past it.
    clock.set(Date.UTC(2026, 0, 15, 2, 0, 0) + 5_000);
    const tasks = (await api(lab, "/nodes/pve1/tasks?source=all&typefilter=vzdump", { token: ADMIN })).json.data;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      user: "root@pam",
      id: "",
      status: "RUNNING",
      starttime: Date.UTC(2026, 0, 15, 2) / 1000,
    });
    expect(tasks[0]).not.toHaveProperty("tokenid");
    // the disabled weekly job never runs; pve2 has no guests of "daily" → no task there
    clock.set(Date.UTC(2026, 0, 19, 12, 0, 0));
    const all1 = (await api(lab, "/nodes/pve1/tasks?typefilter=vzdump&limit=100")).json;
    expect(all1.total).toBe(5); // daily on 15th..19th
    expect((await api(lab, "/nodes/pve2/tasks?source=all")).json.total).toBe(0);
    // keep-last=2 + keep-daily=7 on nas: 100 keeps the protected scenario archive plus the daily ones
    const web = (await api(lab, "/nodes/pve1/storage/nas/content?content=backup&vmid=100")).json.data;
    expect(web.length).toBe(6);
    const log = await logOf(lab, "pve1", all1.data[0].upid);
    expect(log[0]).toBe(
      "INFO: starting new backup job: vzdump 100 101 --storage nas --mode snapshot --compress zstd --prune-backups keep-daily=7,keep-last=2",
    );
    expect(log).toContain("INFO: prune older backups with retention: keep-daily=7, keep-last=2");
  });

  it("runScheduledJobsNow starts a job (even a disabled one when named)", async () => {
    const { lab, clock } = await start();
    const upids = lab.control.runScheduledJobsNow("weekly-off");
    expect(upids).toHaveLength(2); // all=1: a task on every node with the storage
    clock.advance(10 * 60_000);
    const s2 = (await api(lab, `/nodes/pve2/tasks/${enc(upids[1]!)}/status`)).json.data;
    expect(s2).toMatchObject({ exitstatus: "OK", id: "200" });
    const lines = await logOf(lab, "pve2", upids[1]!);
    expect(lines).toContain("INFO: backup mode: stop"); // stopped guest is always backed up in stop mode
  });
});

describe("history from scenarios", () => {
  it("the demo's failed job task 2 h ago: 102 failed, 105 ok, exit `job errors`; 105 running at start", async () => {
    const { lab, clock } = await start("demo", 10);
    const tasks = (await api(lab, "/nodes/proxmox-home/tasks?source=all&typefilter=vzdump")).json.data;
    expect(tasks[0]).toMatchObject({ status: "RUNNING", id: "105" });
    const failed = tasks.find((t: { status: string }) => t.status === "job errors");
    expect(failed.starttime).toBe(T0 / 1000 - 7200);
    const lines = await logOf(lab, "proxmox-home", failed.upid);
    expect(lines.some((l) => l.startsWith("ERROR: Backup of VM 102 failed - "))).toBe(true);
    expect(lines.some((l) => /^INFO: Finished Backup of VM 105 /.test(l))).toBe(true);
    const res = (await api(lab, "/cluster/resources?type=vm")).json.data;
    expect(res.find((x: { vmid: number }) => x.vmid === 105).lock).toBe("backup");
    clock.advance(15_000);
    expect((await api(lab, `/nodes/proxmox-home/tasks/${enc(tasks[0].upid)}/status`)).json.data.exitstatus).toBe("OK");
  });
});
