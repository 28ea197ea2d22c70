import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { SimResponse } from "../https-base.js";
import { pbsHandler } from "./router.js";
import { PbsScenarioSchema, type PbsScenario } from "./scenario.js";
import { PbsState } from "./state.js";
import { listTasks, mayReadTask, taskEndLine, taskOfStore, type PbsTask, type TaskListQuery } from "./tasks.js";
import { formatUpid, parseUpid } from "./upid.js";

const NOW = Date.parse("2025-06-02T12:00:00Z");
const ADMIN = "admin@pbs!t";
const READER = "reader@pbs!t";
const scenario: PbsScenario = {
  tokens: [
    { id: ADMIN, secret: "a", acl: [{ path: "/", role: "Admin" }] },
    { id: READER, secret: "r", acl: [{ path: "/datastore/store1", role: "DatastoreReader" }] },
  ],
  datastores: [
    {
      name: "store1",
      snapshots: [
        { type: "vm", id: "100", age: "6h", verification: "ok" },
        { type: "ct", id: "104", age: "3d" },
      ],
      gc: { age: "20h", state: "OK" },
      verifyJobs: [{ id: "v-weekly", lastRun: { age: "2d", state: "WARNINGS: 1" } }],
      syncJobs: [{ id: "s1", remote: "r1", remoteStore: "offsite", direction: "pull", lastRun: { age: "4h" } }],
      pruneJobs: [{ id: "p1", "keep-last": 2, lastRun: { age: "22h", state: "prune failed - disk full" } }],
    },
  ],
};

function lab() {
  const clock = new ManualClock(NOW);
  const pbs = new PbsState(PbsScenarioSchema.parse(scenario), NOW, 1);
  const handler = pbsHandler(pbs, clock, () => "AB:CD");
  const call = (method: string, path: string, params: Record<string, string> = {}, token = `${ADMIN}:a`) =>
    handler({ method, path, params, headers: { authorization: `PBSAPIToken=${token}` } });
  return { pbs, clock, call };
}
const data = (r: SimResponse) => (JSON.parse(r.body) as { data: unknown }).data;
const q = (o: Partial<TaskListQuery> = {}): TaskListQuery => ({
  start: 0,
  limit: 50,
  errors: false,
  running: false,
  ...o,
});

describe("UPIDs (proxmox-rest-server worker_task.rs)", () => {
  it("formats ten colon-separated parts with the worker id systemd-escaped, and parses them back", () => {
    const u = {
      node: "pbs",
      pid: 1234,
      pstart: 6699,
      taskId: 7,
      starttime: 1_700_000_000,
      workerType: "backup",
      workerId: "store1:vm/100",
      authId: "backup2mqtt@pbs!bridge",
    };
    const s = formatUpid(u);
    expect(s).toBe("UPID:pbs:000004D2:00001A2B:00000007:6553F100:backup:store1\\x3avm-100:backup2mqtt@pbs!bridge:");
    expect(s.split(":")).toHaveLength(10);
    expect(parseUpid(s)).toEqual(u);
    expect(parseUpid("UPID:pbs:1:2:3")).toBeNull();
  });
});

describe("task list (src/api2/node/tasks.rs list_tasks)", () => {
  it("lists running tasks first, then finished ones by end time; total counts one more when the page is full", () => {
    const { pbs } = lab();
    pbs.addTask({
      workerType: "verify",
      workerId: "store1",
      auth: ADMIN,
      startMs: NOW - 1000,
      endMs: NOW + 60_000,
      state: null,
    });
    const all = [...pbs.tasks.values()];
    const { items, total } = listTasks(all, NOW, q({ limit: 3 }), () => true);
    expect(items[0]!.workerType).toBe("verify");
    expect(items.slice(1).map((t) => t.endMs)).toEqual([...items.slice(1).map((t) => t.endMs)].sort((a, b) => b - a));
    expect(total).toBe(4);
    const rest = listTasks(all, NOW, q({ start: 3, limit: 0 }), () => true);
    expect(rest.total).toBe(all.length);
    expect(rest.items).toHaveLength(all.length - 3);
  });

  it("filters: errors, statusfilter, typefilter, userfilter, store, running, since/until", () => {
    const { pbs } = lab();
    const all = [...pbs.tasks.values()];
    const types = (o: Partial<TaskListQuery>) => listTasks(all, NOW, q(o), () => true).items.map((t) => t.workerType);
    expect(types({ errors: true }).sort()).toEqual(["prunejob", "verificationjob"]);
    expect(types({ statusfilter: ["warning"] })).toEqual(["verificationjob"]);
    expect(types({ statusfilter: ["error"] })).toEqual(["prunejob"]);
    expect(new Set(types({ typefilter: "verif" }))).toEqual(new Set(["verificationjob"]));
    expect(types({ running: true })).toEqual([]);
    expect(types({ since: Math.floor(NOW / 1000) - 4.5 * 3600 })).toEqual(["syncjob"]);
    expect(types({ until: Math.floor(NOW / 1000) - 30 * 3600 }).sort()).toEqual(["backup", "verificationjob"]);
    expect(types({ userfilter: "nobody" })).toEqual([]);
    const t = all.find((x) => x.workerType === "syncjob")!;
    expect(taskOfStore(t, "store1")).toBe(true);
    expect(taskOfStore(t, "offsite")).toBe(false);
  });

  it("who may read a task: its owner, Sys.Audit on /system/tasks, or the job's privileges (check_task_access)", () => {
    const { pbs } = lab();
    const of = (type: string) => [...pbs.tasks.values()].find((t) => t.workerType === type)!;
    expect(mayReadTask(pbs.acl, ADMIN, of("backup"))).toBe(true);
    expect(mayReadTask(pbs.acl, READER, of("verificationjob"))).toBe(true); // Datastore.Verify
    for (const type of ["backup", "garbage_collection", "syncjob", "prunejob"])
      expect(mayReadTask(pbs.acl, READER, of(type))).toBe(false);
    const own: PbsTask = { ...of("backup"), auth: READER };
    expect(mayReadTask(pbs.acl, "reader@pbs", own)).toBe(true); // the token's user
    expect(taskEndLine("OK")).toBe("TASK OK");
    expect(taskEndLine("WARNINGS: 2")).toBe("TASK WARNINGS: 2");
    expect(taskEndLine("disk full")).toBe("TASK ERROR: disk full");
  });
});

describe("task endpoints and error texts", () => {
  it("status has the UPID's fields, tokenid for tokens, running until the task ends; the log counts lines from 1", () => {
    const { call, clock } = lab();
    const upid = data(call("POST", "/api2/json/admin/datastore/store1/gc")) as string;
    const status = () => data(call("GET", `/api2/json/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`));
    expect(status()).toMatchObject({ status: "running", node: "pbs", type: "garbage_collection", id: "store1" });
    expect(status()).toMatchObject({ user: "admin@pbs", tokenid: "t", starttime: Math.floor(NOW / 1000) });
    expect(status()).not.toHaveProperty("exitstatus");
    expect(call("POST", "/api2/json/admin/datastore/store1/gc")).toMatchObject({
      status: 400,
      body: "garbage collection already running",
    });
    clock.advance(60_000);
    expect(status()).toMatchObject({ status: "stopped", exitstatus: "OK" });
    const log = JSON.parse(
      call("GET", `/api2/json/nodes/localhost/tasks/${upid}/log`, { start: "2", limit: "2" }).body,
    );
    expect(log.data.map((l: { n: number }) => l.n)).toEqual([2, 3]);
    expect(log.total).toBeGreaterThan(3);
    const first = JSON.parse(
      call("GET", `/api2/json/nodes/localhost/tasks/${upid}/log`, { start: "0", limit: "1" }).body,
    );
    expect(first.data[0].n).toBe(1);
  });

  it("answers PBS's texts: 404 with the full path, task access, a malformed UPID, an unknown one", () => {
    const { call, pbs } = lab();
    expect(call("GET", "/api2/json/nodes/localhost/nothing")).toMatchObject({
      status: 404,
      body: "Path '/api2/json/nodes/localhost/nothing' not found.",
    });
    expect(call("GET", "/api2/json/nodes/localhost/nothing", {}, "x@pbs!y:z").status).toBe(401); // auth first
    expect(call("DELETE", "/api2/json/admin/datastore").status).toBe(404);
    expect(call("GET", "/api2/xml/version").body).toBe("Unsupported output format 'xml'.");
    const gc = [...pbs.tasks.values()].find((t) => t.workerType === "garbage_collection")!;
    expect(call("GET", `/api2/json/nodes/localhost/tasks/${gc.upid}/status`, {}, `${READER}:r`)).toMatchObject({
      status: 400,
      body: "task access not allowed",
    });
    expect(call("GET", "/api2/json/nodes/localhost/tasks/nope/status").body).toBe(
      "parameter verification failed - 'upid': value does not match the regex pattern",
    );
    const ghost = gc.upid.replace(/:[0-9A-F]{8}:garbage/, ":000000FF:garbage");
    expect(data(call("GET", `/api2/json/nodes/localhost/tasks/${ghost}/status`))).toMatchObject({
      status: "stopped",
      exitstatus: "unknown",
    });
    expect(call("GET", "/api2/json/nodes/localhost/tasks", { limit: "-1" }).body).toBe(
      "parameter verification failed - 'limit': value must have a minimum value of 0 (got -1)",
    );
    expect(call("GET", "/api2/json/nodes/localhost/status", {}, `${READER}:r`)).toMatchObject({
      status: 403,
      body: "permission check failed",
    });
  });

  it("prunes one group: dry run marks oldest first, then removes what it marked", () => {
    const { call, pbs } = lab();
    pbs.stores
      .get("store1")!
      .snaps.push(
        ...[1, 2].map((d) => ({ ...pbs.stores.get("store1")!.snaps[0]!, time: Math.floor(NOW / 1000) - d * 86_400 })),
      );
    const p = { "backup-type": "vm", "backup-id": "100", "keep-last": "2" };
    const dry = data(call("POST", "/api2/json/admin/datastore/store1/prune", { ...p, "dry-run": "1" })) as {
      keep: boolean;
      "backup-time": number;
    }[];
    expect(dry.map((m) => m.keep)).toEqual([false, true, true]);
    expect(dry[0]!["backup-time"]).toBeLessThan(dry[2]!["backup-time"]);
    expect(pbs.stores.get("store1")!.snaps.filter((s) => s.id === "100")).toHaveLength(3);
    call("POST", "/api2/json/admin/datastore/store1/prune", p);
    expect(pbs.stores.get("store1")!.snaps.filter((s) => s.id === "100")).toHaveLength(2);
    expect(call("POST", "/api2/json/admin/datastore/store1/prune", p, `${READER}:r`)).toMatchObject({
      status: 403,
      body: "permission check failed - missing Datastore.Modify|Datastore.Prune on /datastore/store1",
    });
  });
});
