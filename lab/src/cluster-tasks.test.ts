import { afterEach, describe, expect, it } from "vitest";
import { activeList, broadcastList, clusterTasks, MAX_BROADCAST_BYTES, MAX_FINISHED } from "./cluster-tasks.js";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { validateScenario } from "./scenario.js";
import { LabState } from "./state.js";
import { settle } from "./tasks.js";
import { ADMIN, api as labApi, type ApiRequest, BRIDGE, READONLY, T0, twoNodeScenario } from "./testing.js";
import { addPlainTask, startTimedTask } from "./workers.js";

/** The lab's JSON answers, which these tests walk freely (test files may use `any`: biome.json). */
const api = (l: Lab, path: string, req?: ApiRequest) => labApi<any>(l, path, req);

/** No Sys.Audit on / (only below it): PVE answers 200 with the entries whose `user` is the caller. */
const NODEAUDIT = "nodes@pve!audit";

function state(): LabState {
  const scenario = twoNodeScenario();
  scenario.tokens = [
    ...(scenario.tokens ?? []),
    { id: NODEAUDIT, secret: "s", acl: [{ path: "/nodes", roles: ["PVEAuditor"] }] },
  ];
  return new LabState(validateScenario(scenario), new ManualClock(T0), 1);
}

const token = (s: LabState, id: string) => s.tokens.get(id)!;
const noop = () => ({ lines: [] });

describe("/cluster/tasks (RESTEnvironment.pm active_workers, Cluster.pm broadcast_tasklist and tasks)", () => {
  it("per node: running tasks (pid, no status) first, then MAX_FINISHED minus the running ones, newest first, no pstart", () => {
    const s = state();
    for (let i = 0; i < 30; i++)
      addPlainTask(s, "pve1", "qmstart", String(100 + i), "root@pam", T0 - (60 - i) * 60_000, 2000, "OK");
    const a = startTimedTask(s, "pve1", "qmrestore", "150", BRIDGE, T0 - 20_000, 60_000, noop);
    const b = startTimedTask(s, "pve1", "vzrestore", "151", BRIDGE, T0 - 15_000, 60_000, noop);
    addPlainTask(s, "pve2", "qmstart", "200", "root@pam", T0 - 3_600_000, 1000, "OK");
    const rows = clusterTasks(s, token(s, ADMIN), T0);
    const pve1 = rows.filter((r) => r.node === "pve1");
    expect(pve1).toHaveLength(MAX_FINISHED);
    expect(pve1.slice(0, 2).map((r) => r.upid)).toEqual([a.upid, b.upid]);
    for (const r of pve1.slice(0, 2)) {
      expect(r).not.toHaveProperty("status");
      expect(r).not.toHaveProperty("endtime");
      expect(r.pid).toEqual(expect.any(Number));
      expect(r).toMatchObject({ user: "backup2mqtt@pve", tokenid: "bridge" });
    }
    const finished = pve1.slice(2);
    expect(finished).toHaveLength(MAX_FINISHED - 2);
    expect(finished.map((r) => r.starttime)).toEqual(
      [...finished.map((r) => r.starttime as number)].sort((x, y) => y - x),
    );
    expect(finished[0]).toMatchObject({ type: "qmstart", id: "129", user: "root@pam", status: "OK", saved: "1" });
    expect(finished[0]).not.toHaveProperty("pid");
    expect(finished[0]).not.toHaveProperty("tokenid");
    for (const r of rows) expect(r).not.toHaveProperty("pstart");
    expect(rows.filter((r) => r.node === "pve2").map((r) => r.id)).toEqual(["200"]);
  });

  it("finished entries dropped while others ran do not come back; a task's end time is when the node noticed it", () => {
    const s = state();
    for (let i = 0; i < 30; i++)
      addPlainTask(s, "pve1", "qmstart", String(100 + i), "root@pam", T0 - (60 - i) * 60_000, 2000, "OK");
    const run = startTimedTask(s, "pve1", "qmrestore", "150", ADMIN, T0 - 20_000, 0, noop);
    delete run.timed;
    run.endMs = T0 + 10_500;
    run.exitstatus = "restore failed - disk full";
    const before = activeList(s.tasks, T0).list;
    expect(before).toHaveLength(MAX_FINISHED); // 1 running + 24 finished
    const after = broadcastList(s.tasks, T0 + 60_000);
    expect(after).toHaveLength(MAX_FINISHED); // 24 kept + the restore, not the 25th qmstart back
    const restore = after.find((r) => r.upid === run.upid)!;
    expect(restore).toMatchObject({ endtime: Math.floor((T0 + 10_500) / 1000), status: "restore failed - disk full" });
    expect(after.map((r) => r.id)).not.toContain("105");
  });

  it("`saved`: absent on the task whose start was just broadcast, numeric right after an end, strings after pvestatd's next pass", () => {
    const s = state();
    const done = addPlainTask(s, "pve1", "qmstart", "100", "root@pam", T0 - 5000, 1000, "OK");
    const fresh = startTimedTask(s, "pve1", "qmrestore", "150", ADMIN, T0, 60_000, noop);
    const now = broadcastList(s.tasks, T0 + 1000);
    expect(now.find((r) => r.upid === fresh.upid)).not.toHaveProperty("saved");
    expect(now.find((r) => r.upid === done.upid)?.saved).toBe("1");
    const later = broadcastList(s.tasks, T0 + 20_000);
    expect(later.find((r) => r.upid === fresh.upid)?.saved).toBe("0");
    settle(s, T0 + 60_000);
    const ended = broadcastList(s.tasks, T0 + 60_000);
    expect(ended.find((r) => r.upid === fresh.upid)).toMatchObject({ saved: 1, status: "OK" });
  });

  it("the serialized list stays under 32 KiB: entries are popped off the end, oldest finished first", () => {
    const s = state();
    for (let i = 0; i < 20; i++)
      addPlainTask(s, "pve1", "qmstart", String(100 + i), "root@pam", T0 - (60 - i) * 60_000, 1000, "OK");
    const long = "x".repeat(120);
    for (let i = 0; i < 100; i++)
      startTimedTask(s, "pve1", "imgcopy", `${long}${i}`, "root@pam", T0 - 1000 + i, 600_000, noop);
    const full = activeList(s.tasks, T0 + 1000).list;
    expect(full).toHaveLength(100); // 100 running, no room for finished ones
    const sent = broadcastList(s.tasks, T0 + 1000);
    expect(Buffer.byteLength(JSON.stringify(sent))).toBeLessThan(MAX_BROADCAST_BYTES);
    expect(sent.length).toBeLessThan(100);
    // What is left is the head of the list: the longest-running tasks.
    expect(sent.map((r) => r.upid)).toEqual(full.slice(0, sent.length).map((e) => e.t.upid));
    // With few running tasks the 25 entries fit, and the cut takes the oldest finished first.
    const huge = "y".repeat(600);
    const s2 = state();
    for (let i = 0; i < 30; i++)
      addPlainTask(s2, "pve1", "qmstart", `${huge}${i}`, "root@pam", T0 - (60 - i) * 60_000, 1000, "OK");
    const sent2 = broadcastList(s2.tasks, T0);
    expect(Buffer.byteLength(JSON.stringify(sent2))).toBeLessThan(MAX_BROADCAST_BYTES);
    expect(sent2.length).toBeLessThan(MAX_FINISHED);
    expect(sent2.map((r) => r.id)).toEqual(Array.from({ length: sent2.length }, (_, k) => `${huge}${29 - k}`));
  });

  it("without Sys.Audit on /: only entries whose user is the caller — for a token, whose tasks are split into user + tokenid, none", () => {
    const s = state();
    addPlainTask(s, "pve1", "qmstart", "100", NODEAUDIT, T0 - 5000, 1000, "OK");
    addPlainTask(s, "pve2", "qmstart", "200", "root@pam", T0 - 5000, 1000, "OK");
    expect(clusterTasks(s, token(s, NODEAUDIT), T0)).toEqual([]);
    const readonly = clusterTasks(s, token(s, READONLY), T0); // PVEAuditor on / has Sys.Audit
    expect(readonly.map((r) => r.id).sort()).toEqual(["100", "200"]);
    expect(readonly.find((r) => r.id === "100")).toMatchObject({ user: "nodes@pve", tokenid: "audit" });
  });
});

describe("GET /cluster/tasks over HTTPS", () => {
  const labs: Lab[] = [];
  afterEach(async () => {
    await Promise.all(labs.splice(0).map((l) => l.stop()));
  });

  it("is current whenever read: a vzdump shows up running at its start and finished at its end, on its node", async () => {
    const scenario = twoNodeScenario();
    scenario.tokens = [
      ...(scenario.tokens ?? []),
      { id: NODEAUDIT, secret: "s", acl: [{ path: "/nodes", roles: ["PVEAuditor"] }] },
    ];
    const clock = new ManualClock(T0);
    const lab = await startLab({ scenario, clock, authFailDelayMs: 0 });
    labs.push(lab);
    const r = await api(lab, "/nodes/pve2/vzdump", { form: { vmid: 200, storage: "local" } });
    expect(r.status).toBe(200);
    const upid = r.json.data as string;
    const running = (await api(lab, "/cluster/tasks")).json.data.find((t: any) => t.upid === upid);
    expect(running).toMatchObject({ node: "pve2", type: "vzdump", id: "200", user: "root@pam", tokenid: "admin" });
    expect(running).not.toHaveProperty("status");
    clock.advance(3_600_000);
    const ended = (await api(lab, "/cluster/tasks")).json.data.find((t: any) => t.upid === upid);
    expect(ended).toMatchObject({ status: "OK", endtime: expect.any(Number) });
    expect(ended).not.toHaveProperty("pid");
    const denied = await api(lab, "/cluster/tasks", { token: NODEAUDIT });
    expect(denied.status).toBe(200);
    expect(denied.json.data).toEqual([]);
  });
});
