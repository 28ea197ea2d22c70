/**
 * The benchmark's simulated cluster: 50 nodes, 2,500 guests, 250,000 archives. Generated, not a
 * file: a local `dir` storage with backup content on every node (as PVE installs it), a shared NFS
 * export and a shared PBS datastore; a nightly job for all guests whose last three runs are
 * replayed as real task history (logs, archives); and the documented least-privilege token.
 */
import type { Scenario } from "backup2mqtt-lab";

export interface BenchScenarioOptions {
  nodes: number;
  guestsPerNode: number;
  /** Archives per guest in total (history tasks included). */
  archivesPerGuest: number;
  /** Job runs replayed as task history (each adds one archive per guest). */
  historyRuns: number;
  /** Lab start, to place the nightly schedule 12 h away from the run. */
  nowMs: number;
}

export const BENCH_TOKEN = { id: "backup2mqtt@pve!bench", secret: "bench-7d41c1e2-0b3c-4a55-9f1e-2b9d8c3e4f50" };

export interface BenchPlan {
  scenario: Scenario;
  guests: number;
  archives: number;
  nodes: string[];
  /** Distinct backup storages as the API call floor counts them (local ones once per node). */
  backupStorages: number;
  /** A P1 guest whose archives are all older than 26 h: the stale-flip probe. */
  probeVmid: number;
  /** A guest the button test backs up. */
  buttonVmid: number;
}

const DAY = 86_400;
const failsLastRun = (vmid: number): boolean => vmid % 100 === 7;

export function benchScenario(o: BenchScenarioOptions): BenchPlan {
  const nodes = Array.from({ length: o.nodes }, (_, i) => `pve${String(i + 1).padStart(2, "0")}`);
  const hour = (new Date(o.nowMs).getUTCHours() + 12) % 24;
  const schedule = `${String(hour).padStart(2, "0")}:00`;
  // Last runs of the nightly job: the most recent occurrence of `hour` before now, and the days before.
  const lastRun = (() => {
    const d = new Date(o.nowMs);
    d.setUTCMinutes(0, 0, 0);
    d.setUTCHours(hour);
    if (d.getTime() > o.nowMs - 3600_000) d.setUTCDate(d.getUTCDate() - 1);
    return d.getTime();
  })();
  const guests: NonNullable<Scenario["guests"]> = [];
  const archives: NonNullable<Scenario["archives"]> = [];
  const tasks: NonNullable<Scenario["tasks"]> = [];
  let vmid = 1000;
  const tierTag = (i: number) => (i % 10 === 0 ? "backup-p0" : i % 10 < 5 ? "backup-p1" : "backup-p2");
  const probeVmid = 1000 + o.nodes * o.guestsPerNode - 1;
  const buttonVmid = 1001;
  const older = o.archivesPerGuest - o.historyRuns;
  const onPbs = Math.floor(older * 0.3);
  for (const node of nodes) {
    const onNode: number[] = [];
    for (let i = 0; i < o.guestsPerNode; i++, vmid++) {
      const lxc = vmid % 3 === 0;
      const probe = vmid === probeVmid;
      guests.push({
        vmid,
        type: lxc ? "lxc" : "qemu",
        name: `${lxc ? "ct" : "vm"}-${node}-${String(i + 1).padStart(2, "0")}`,
        node,
        tags: probe ? ["backup-p1", "bench-probe"] : [tierTag(vmid)],
        backupSeconds: 20,
      });
      if (!probe) onNode.push(vmid);
      // Older archives: nightly on the NAS, weekly on PBS. The probe's are all older than 26 h.
      const base = probe ? 2 * DAY : 0;
      for (let k = 0; k < older; k++) {
        const pbs = k < onPbs;
        const ageSeconds =
          base + (pbs ? (k + 1) * 7 * DAY : (o.historyRuns + k - onPbs + 1) * DAY) + 3600 + (vmid % 600);
        archives.push({
          vmid,
          storage: pbs ? "pbs" : "nas",
          ageSeconds,
          ...(pbs ? { verification: "ok" as const } : {}),
        });
      }
      if (probe)
        for (let k = 0; k < o.historyRuns; k++)
          archives.push({ vmid, storage: "nas", ageSeconds: base + (k + 1) * 3600 });
      // Guests whose last run fails (below) get one more old archive, so the total stays exact.
      if (!probe && failsLastRun(vmid))
        archives.push({ vmid, storage: "nas", ageSeconds: (older + o.historyRuns + 1) * DAY });
    }
    for (let r = o.historyRuns; r >= 1; r--) {
      tasks.push({
        type: "vzdump",
        node,
        job: "nightly",
        time: new Date(lastRun - (r - 1) * DAY * 1000).toISOString(),
        // One guest in a hundred fails on the last run: the log tells which.
        guests: onNode.map((v) => ({
          vmid: v,
          seconds: 20,
          ...(r === 1 && failsLastRun(v) ? { fail: "got timeout" } : {}),
        })),
      });
    }
  }
  const scenario: Scenario = {
    description: `benchmark: ${o.nodes} nodes, ${guests.length} guests`,
    cluster: "bench",
    backupSeconds: 20,
    nodes: nodes.map((name) => ({ name, timezone: "UTC" })),
    storages: [
      { id: "local", type: "dir", content: ["backup", "iso", "vztmpl"] },
      { id: "nas", type: "nfs", shared: 1, content: ["backup"] },
      { id: "pbs", type: "pbs", shared: 1, content: ["backup"] },
    ],
    guests,
    archives,
    jobs: [
      {
        id: "nightly",
        schedule,
        enabled: 1,
        all: 1,
        storage: "nas",
        mode: "snapshot",
        compress: "zstd",
        "notes-template": "{{guestname}}",
      },
    ],
    tasks,
    tokens: [
      {
        id: BENCH_TOKEN.id,
        secret: BENCH_TOKEN.secret,
        acl: [
          { path: "/", roles: ["PVEAuditor"] },
          { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
          { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
        ],
      },
    ],
  };
  return {
    scenario,
    guests: guests.length,
    archives: guests.length * o.archivesPerGuest,
    nodes,
    backupStorages: nodes.length /* local on each node */ + 2 /* nas, pbs */,
    probeVmid,
    buttonVmid,
  };
}
