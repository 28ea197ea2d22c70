/**
 * The lab knobs behind the bridge's watchdogs: a job whose last due instant lies a given time
 * before lab start with no task for it (`dueAge`), scheduled runs that do not happen (`skipRuns`,
 * LabControl.skipNextRuns: the node was down then), and a vzdump that hangs (`hang`,
 * LabControl.hangNextBackup) until it is stopped.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { ScenarioError, validateScenario, type Scenario } from "./scenario.js";
import { ADMIN, api as labApi, BRIDGE, T0, twoNodeScenario } from "./testing.js";

/** The lab's JSON answers (test files may use `any`: biome.json). */
const api = (l: Lab, path: string, req?: Parameters<typeof labApi>[2]) => labApi<any>(l, path, req);
const enc = encodeURIComponent;
const MIN = 60_000;
const H = 60 * MIN;

const labs: Lab[] = [];
afterEach(async () => {
  await Promise.all(labs.splice(0).map((l) => l.stop()));
});

async function start(scenario: Scenario): Promise<{ lab: Lab; clock: ManualClock }> {
  const clock = new ManualClock(T0);
  const lab = await startLab({ scenario, clock, authFailDelayMs: 0 });
  labs.push(lab);
  return { lab, clock };
}

function withJobs(jobs: Scenario["jobs"], tasks: Scenario["tasks"] = []): Scenario {
  return { ...twoNodeScenario(), jobs, tasks };
}

const vzdumps = async (l: Lab, node: string) =>
  ((await api(l, `/nodes/${node}/tasks?typefilter=vzdump&source=all&limit=100`)).json.data as any[]).sort(
    (a, b) => a.starttime - b.starttime,
  );
const logOf = async (l: Lab, node: string, upid: string): Promise<string[]> =>
  (await api(l, `/nodes/${node}/tasks/${enc(upid)}/log?limit=0`)).json.data.map((x: { t: string }) => x.t);

describe("dueAge: a job whose last run was due before lab start", () => {
  it("serves the schedule of that time of day (node-local), not the lab-only keys; no task for it", async () => {
    const { lab } = await start(
      withJobs([
        { id: "missed", dueAge: "2h", vmid: [101], storage: "nas", comment: "ran nowhere" },
        // pve2 is in New York: 12:00 UTC - 90 min = 05:30 there.
        { id: "ny", dueAge: "90m", node: "pve2", vmid: [200], storage: "nas", skipRuns: 2 },
      ]),
    );
    const jobs = (await api(lab, "/cluster/backup", { token: ADMIN })).json.data as any[];
    const missed = jobs.find((j) => j.id === "missed");
    expect(missed.schedule).toBe("10:00");
    expect(missed["next-run"]).toBe((T0 + 22 * H) / 1000);
    expect(jobs.find((j) => j.id === "ny").schedule).toBe("05:30");
    for (const j of jobs) {
      expect(j).not.toHaveProperty("dueAge");
      expect(j).not.toHaveProperty("skipRuns");
    }
    expect(await vzdumps(lab, "pve1")).toEqual([]);
  });

  it("with a task of the job at that age, the run happened (it started at or after the due minute)", async () => {
    const { lab } = await start(
      withJobs(
        [{ id: "daily", dueAge: "1h", vmid: [100], storage: "nas" }],
        [
          {
            age: "1h",
            job: "daily",
            guests: [{ vmid: 100, fail: "VM 100 qmp command 'backup' failed - got timeout" }],
          },
        ],
      ),
    );
    const [t] = await vzdumps(lab, "pve1");
    expect(t).toMatchObject({ status: "job errors", starttime: (T0 - H) / 1000 });
    const jobs = (await api(lab, "/cluster/backup", { token: ADMIN })).json.data as any[];
    expect(jobs[0].schedule).toBe("11:00");
  });

  it("is refused together with a schedule", () => {
    expect(() =>
      validateScenario(withJobs([{ id: "x", schedule: "02:00", dueAge: "1h", vmid: [100] }]), "t.yaml"),
    ).toThrow(ScenarioError);
    expect(() =>
      validateScenario(withJobs([{ id: "x", schedule: "02:00", dueAge: "1h", vmid: [100] }]), "t.yaml"),
    ).toThrow(/jobs\[0\]\.dueAge: give either schedule or dueAge/);
  });
});

describe("skipRuns / skipNextRuns: scheduled runs that do not happen", () => {
  it("the skipped occurrence starts no task; the next one runs as usual", async () => {
    const { lab, clock } = await start(
      withJobs([{ id: "half-hourly", schedule: "*/30", vmid: [101], storage: "nas", skipRuns: 1 }]),
    );
    clock.advance(31 * MIN);
    expect(await vzdumps(lab, "pve1")).toEqual([]);
    clock.advance(30 * MIN);
    const tasks = await vzdumps(lab, "pve1");
    expect(tasks.map((t) => [t.starttime, t.user])).toEqual([[(T0 + 60 * MIN) / 1000, "root@pam"]]);
  });

  it("LabControl.skipNextRuns skips the given number of runs", async () => {
    const { lab, clock } = await start(
      withJobs([{ id: "half-hourly", schedule: "*/30", vmid: [101], storage: "nas" }]),
    );
    lab.control.skipNextRuns("half-hourly", 2);
    clock.advance(61 * MIN);
    expect(await vzdumps(lab, "pve1")).toEqual([]);
    clock.advance(30 * MIN);
    expect((await vzdumps(lab, "pve1")).map((t) => t.starttime)).toEqual([(T0 + 90 * MIN) / 1000]);
    expect(() => lab.control.skipNextRuns("nope")).toThrow(/job 'nope' does not exist/);
  });
});

describe("hang: a vzdump that never ends", () => {
  it("a replayed task started 3 h ago is still running, printed no progress, holds the guest's lock and the node's", async () => {
    const { lab, clock } = await start(
      withJobs(
        [{ id: "daily", schedule: "02:00", vmid: [100], storage: "nas" }],
        [
          { age: "2d", job: "daily", guests: [{ vmid: 100, seconds: 120 }] },
          { age: "3h", job: "daily", guests: [{ vmid: 100, hang: true }] },
        ],
      ),
    );
    clock.advance(10 * H);
    const tasks = await vzdumps(lab, "pve1");
    expect(tasks.map((t) => t.status)).toEqual(["OK", "RUNNING"]);
    const hung = tasks[1];
    expect((await api(lab, `/nodes/pve1/tasks/${enc(hung.upid)}/status`)).json.data.status).toBe("running");
    const log = await logOf(lab, "pve1", hung.upid);
    expect(log).toContain("INFO: Starting Backup of VM 100 (qemu)");
    expect(log.some((l) => l.startsWith("INFO: started backup task"))).toBe(true);
    expect(log.filter((l) => /^INFO:\s+\d+% \(/.test(l))).toEqual([]);
    // Its earlier run printed progress (the hang is the knob, not the guest).
    expect((await logOf(lab, "pve1", tasks[0].upid)).some((l) => /^INFO:\s+\d+% \(/.test(l))).toBe(true);
    const res = (await api(lab, "/cluster/resources?type=vm", { token: ADMIN })).json.data as any[];
    expect(res.find((r) => r.vmid === 100).lock).toBe("backup");
    // Another vzdump on the node waits for the global lock for as long as the hung one runs.
    const next = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 101, storage: "nas" } })).json
      .data as string;
    clock.advance(H);
    expect(await logOf(lab, "pve1", next)).toEqual(["INFO: trying to get global lock - waiting..."]);
    // Stopping it (PVE's DELETE of the task) ends it; the waiting one goes on.
    lab.control.stopTask(hung.upid);
    const stopped = (await api(lab, `/nodes/pve1/tasks/${enc(hung.upid)}/status`)).json.data;
    expect(stopped).toMatchObject({ status: "stopped", exitstatus: "interrupted by signal" });
    clock.advance(2 * MIN);
    expect((await api(lab, `/nodes/pve1/tasks/${enc(next)}/status`)).json.data.exitstatus).toBe("OK");
  });

  it("LabControl.hangNextBackup: the guest's next backup hangs (a container: no line after its start), the one after it does not", async () => {
    const { lab, clock } = await start(withJobs([]));
    lab.control.hangNextBackup(101);
    const upid = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 101, storage: "nas" } })).json
      .data as string;
    clock.advance(5 * MIN);
    const before = await logOf(lab, "pve1", upid);
    clock.advance(5 * H);
    expect(await logOf(lab, "pve1", upid)).toEqual(before);
    expect(before.at(-1)).toMatch(/^INFO: creating vzdump archive '.*vzdump-lxc-101-/);
    lab.control.stopTask(upid);
    const second = (await api(lab, "/nodes/pve1/vzdump", { token: BRIDGE, form: { vmid: 101, storage: "nas" } })).json
      .data as string;
    clock.advance(5 * MIN);
    expect((await api(lab, `/nodes/pve1/tasks/${enc(second)}/status`)).json.data.exitstatus).toBe("OK");
  });
});

describe("scenario self-healing", () => {
  it("at start: vaultwarden's last two job runs failed at job start, paperless's job was due 2 h ago with no task since, nextcloud's vzdump has hung for 3 h", async () => {
    const clock = new ManualClock(T0);
    const lab = await startLab({ scenario: "self-healing", clock, authFailDelayMs: 0 });
    labs.push(lab);
    const pve1 = await vzdumps(lab, "pve1");
    const ofGuest = (vmid: number) => pve1.filter((t) => t.id === String(vmid));
    expect(ofGuest(100).map((t) => t.status)).toEqual([
      "OK",
      "OK",
      "command '/usr/local/bin/mount-nas.sh job-start' failed: exit code 32",
      "command '/usr/local/bin/mount-nas.sh job-start' failed: exit code 32",
    ]);
    const jobs = (await api(lab, "/cluster/backup")).json.data as any[];
    // Europe/Berlin is UTC+1 in January: T0 12:00 UTC is 13:00 there.
    expect(Object.fromEntries(jobs.map((j) => [j.id, j.schedule]))).toEqual({
      "backup-vaultwarden": "12:00",
      "backup-paperless": "11:00",
      "backup-nextcloud": "10:00",
    });
    expect(ofGuest(101).map((t) => (T0 - t.starttime * 1000) / H)).toEqual([50, 26]);
    const pve2 = await vzdumps(lab, "pve2");
    expect(pve2.map((t) => t.status)).toEqual(["OK", "OK", "OK", "RUNNING"]);
    const hung = pve2[3];
    expect((T0 - hung.starttime * 1000) / H).toBe(3);
    expect((await logOf(lab, "pve2", hung.upid)).filter((l) => /^INFO:\s+\d+% \(/.test(l))).toEqual([]);
    clock.advance(H);
    expect((await vzdumps(lab, "pve2"))[3].status).toBe("RUNNING");
  });
});
