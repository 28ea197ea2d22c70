/**
 * Fault suite, off-site side: the simulated Synology NAS (DSM / Hyper Backup) and PBS with their
 * fault switches (the lab package's https-base.ts), beside the PVE lab, a real broker and the
 * bridge. For each source and fault: no crash, no unhandled rejection, that source's devices go
 * unavailable with status `unknown` (never a false ok, never the last good data as current), the
 * PVE guests and the other off-site source keep working, one clear log line names the source and
 * the cause (and no secret), and recovery within one poll after the fault ends.
 * Already covered elsewhere: NAS down and back (offsite-broker), malformed DSM/PBS answers at the
 * source level (dsm.test.ts, pbs.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SimFault } from "backup2mqtt-lab";
import { startStack, type Stack } from "../support/stack.js";

const POLL = 300;
/**
 * The off-site sources' request timeout in these tests. The real default is 5 s and a hung NAS
 * may take 30 s or more; the "slow" fault answers after 30 s, and a short configured timeout
 * proves the same thing (the timeout ends the request, the source is down, nothing hangs)
 * without waiting 30 s.
 */
const TIMEOUT = 600;
const GUESTS = ["home_100", "home_101", "home_102", "home_103", "home_105"];
const GUEST = (id: string) => `backup2mqtt/guest/${id}/state`;
const AVAIL = (source: string) => `backup2mqtt/source/${source}/availability`;

type SourceName = "nas" | "pbs";
interface Side {
  /** The demo scenario's source name (topic backup2mqtt/source/<name>/availability). */
  source: SourceName;
  other: SourceName;
  /** Retained state topics of this source's devices. */
  states: string[];
  /** Discovery configs of those devices (an outage removes nothing). */
  configs: string[];
  /** The devices' statuses when healthy (demo scenario). */
  healthy: Record<string, string>;
  /** The log message of an outage / a recovery. */
  down: RegExp;
  up: RegExp;
  setFault(s: Stack, f: SimFault | null): void;
}

const NAS: Side = {
  source: "nas",
  other: "pbs",
  states: ["backup2mqtt/hyperbackup/2/state", "backup2mqtt/hyperbackup/3/state"],
  configs: [
    "homeassistant/device/backup2mqtt_home_hyperbackup_2/config",
    "homeassistant/device/backup2mqtt_home_hyperbackup_3/config",
  ],
  healthy: { "backup2mqtt/hyperbackup/2/state": "ok", "backup2mqtt/hyperbackup/3/state": "stale" },
  down: /Synology (source unreachable|source degraded|login refused)/,
  up: /Synology source reachable/,
  setFault: (s, f) => s.offsite!.dsm!.control.setFault(f),
};
const PBS: Side = {
  source: "pbs",
  other: "nas",
  states: ["backup2mqtt/pbs/store1/state"],
  configs: ["homeassistant/device/backup2mqtt_home_pbs_store1/config"],
  healthy: { "backup2mqtt/pbs/store1/state": "ok" },
  down: /PBS source (unreachable|degraded)/,
  up: /PBS source reachable/,
  setFault: (s, f) => s.offsite!.pbs!.control.setFault(f),
};
const SIDES = { nas: NAS, pbs: PBS };

const both = <T>(x: T): Record<SourceName, T> => ({ nas: x, pbs: x });
const RESET = /ECONNRESET|other side closed|socket|terminated|aborted/i;
const CASES: { title: string; fault: Record<SourceName, SimFault>; error: Record<SourceName, RegExp> }[] = [
  {
    title: "HTTP 500 on every request",
    fault: both({ kind: "http500" }),
    error: { nas: /HTTP 500 from the NAS/, pbs: /HTTP 500: Internal Server Error/ },
  },
  {
    title: "answers after 30 s: the configured timeout ends each request",
    fault: both({ kind: "slow", ms: 30_000 }),
    error: both(/timed out/),
  },
  { title: "truncated JSON", fault: both({ kind: "garbage" }), error: both(/answer is not JSON/) },
  {
    title: "wrong types in the task list / snapshot list",
    fault: { nas: { kind: "wrongTypes", match: "SYNO.Backup.Task" }, pbs: { kind: "wrongTypes", match: "/snapshots" } },
    error: {
      nas: /SYNO\.Backup\.Task list: unexpected answer at data\./,
      pbs: /snapshots: unexpected answer at data\[0\]/,
    },
  },
  { title: "connection reset in the middle of an answer", fault: both({ kind: "reset" }), error: both(RESET) },
  {
    // PBS: the token was removed (HTTP 401, plain text). DSM: the account was disabled, its session
    // ends (119, HTTP 200 success:false): the bridge logs in again and the login is refused (401).
    title: "credentials revoked (PBS 401; DSM session gone and the new login refused)",
    fault: both({ kind: "unauthorized" }),
    error: { nas: /DSM login failed \(401\): the account is disabled/, pbs: /authentication failed \(401\)/ },
  },
];

let stack: Stack | undefined;
const unhandled: unknown[] = [];
process.on("unhandledRejection", (e) => unhandled.push(e));
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function start(): Promise<Stack> {
  stack = await startStack({
    broker: "embedded",
    lab: { scenario: "demo", taskSpeed: 40 },
    pollMs: POLL,
    offsite: { pollMs: POLL },
    configure: (cfg) => {
      for (const n of cfg.synology ?? []) n.timeoutMs = TIMEOUT;
      for (const b of cfg.pbs ?? []) b.timeoutMs = TIMEOUT;
    },
  });
  return stack;
}

const statusOf = (payload: string) => (payload ? (JSON.parse(payload) as { status?: string }).status : "(cleared)");
const healthy = (s: Stack, side: Side) =>
  s.observer.last.get(AVAIL(side.source)) === "online" &&
  side.states.every((t) => s.observer.json(t)?.status === side.healthy[t]);

/**
 * Fault on: this source's devices unknown and unavailable, everything else untouched; fault off
 * (or, for a refused DSM login, the bridge restarted): back within one poll.
 */
async function faultCycle(
  s: Stack,
  side: Side,
  fault: SimFault,
  error: RegExp,
  o: { recoverByRestart?: boolean; beforeRecovery?: () => void; logMsg?: RegExp } = {},
) {
  const ob = s.observer;
  const other = SIDES[side.other];
  await ob.until(
    "everything healthy",
    () =>
      healthy(s, side) &&
      healthy(s, other) &&
      ob.last.get(AVAIL("pve")) === "online" &&
      GUESTS.every((id) => ob.json(GUEST(id))),
    15_000,
  );
  const errorsBefore = unhandled.length;
  const logsBefore = s.logs.length;
  const t0 = Date.now();

  side.setFault(s, fault);
  await ob.until(`${side.source} offline`, () => ob.last.get(AVAIL(side.source)) === "offline", 10_000);
  await ob.until(
    `${side.source} devices unknown`,
    () => side.states.every((t) => ob.json(t)?.status === "unknown"),
    10_000,
  );
  const info = ob.json("backup2mqtt/bridge/info").sources;
  expect(info[side.source].error).toMatch(error);
  expect(info[side.source].up && !info[side.source].degraded).toBe(false);
  expect(ob.last.get("backup2mqtt/bridge/state")).toBe("online");
  await new Promise((r) => setTimeout(r, 3 * POLL));

  const since = (pred: (topic: string) => boolean) => ob.messages.filter((m) => m.at >= t0 && pred(m.topic));
  // This source: nothing but `unknown` (no false ok, never the last good data as current, never stale), no problem guessed.
  for (const m of since((t) => side.states.includes(t)))
    expect({ topic: m.topic, status: statusOf(m.payload), problem: JSON.parse(m.payload).problem }).toEqual({
      topic: m.topic,
      status: "unknown",
      problem: false,
    });
  // An outage removes nothing.
  for (const c of side.configs) expect(ob.last.get(c)).toBeTruthy();
  // The other off-site source and PVE keep working: never offline, nothing unknown.
  expect(
    since((t) => t === AVAIL(other.source) || t === AVAIL("pve")).map((m) => `${m.topic} ${m.payload}`),
  ).not.toContainEqual(expect.stringMatching(/offline$/));
  expect(info[other.source]).toMatchObject({ up: true, degraded: false });
  expect(info.pve).toMatchObject({ up: true, degraded: false });
  expect(healthy(s, other)).toBe(true);
  expect(since((t) => GUESTS.some((id) => t === GUEST(id))).filter((m) => statusOf(m.payload) === "unknown")).toEqual(
    [],
  );
  // homeassistant's off-site copy is unknown while a source is away, not a guessed no_offsite.
  expect(ob.json(GUEST("home_100")).findings.map((f: { code: string }) => f.code)).not.toContain("no_offsite");

  // One clear log line (per change of state) naming the source and the cause; no secret, nothing that needed scrubbing.
  const lines = s.logs.slice(logsBefore).filter((l) => side.down.test(l));
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.length).toBeLessThan(3);
  const line = JSON.parse(lines[0]!);
  expect(line).toMatchObject({ source: side.source, level: 40 });
  expect(line.err).toMatch(error);
  if (o.logMsg) expect(line.msg).toMatch(o.logMsg);
  const faultLogs = s.logs.slice(logsBefore).join("");
  for (const secret of s.cfg.secrets) expect(faultLogs).not.toContain(secret);
  expect(lines.join("")).not.toContain("[redacted]");

  o.beforeRecovery?.();

  const t1 = Date.now();
  side.setFault(s, null);
  if (o.recoverByRestart) {
    await s.stopBridge();
    await s.startBridge();
  }
  await ob.until("recovered", () => healthy(s, side), 10_000);
  const recoveryMs = Date.now() - t1;
  // One poll, plus a request still waiting for its timeout when the fault ended.
  if (!o.recoverByRestart) expect(recoveryMs).toBeLessThan(POLL + TIMEOUT + 2000);
  expect(s.logs.slice(logsBefore).some((l) => side.up.test(l) && JSON.parse(l).source === side.source)).toBe(true);
  expect(unhandled.slice(errorsBefore)).toEqual([]);
}

for (const side of [NAS, PBS]) {
  describe(`${side.source === "nas" ? "Synology DSM (Hyper Backup)" : "Proxmox Backup Server"} faults`, () => {
    for (const c of CASES) {
      it(c.title, async () => {
        const s = await start();
        if (side.source === "nas" && c.fault.nas.kind === "unauthorized") {
          // A refused login is not retried on every poll (DSM's auto-block, account lockout): the lost
          // session brings exactly one new login, and only a restart (after the operator fixed the
          // account) tries again.
          const dsm = s.offsite!.dsm!;
          const logins = (from: number) =>
            dsm.requests.slice(from).filter((r) => r.what === "SYNO.API.Auth login").length;
          const from = dsm.requests.length;
          await faultCycle(s, side, c.fault.nas, c.error.nas, {
            recoverByRestart: true,
            beforeRecovery: () => expect(logins(from)).toBe(1),
            logMsg: /login refused; not retried until the bridge restarts/,
          });
        } else await faultCycle(s, side, c.fault[side.source], c.error[side.source]);
      });
    }
  });
}

describe("Synology DSM session lifetime", () => {
  it("an expired session (106) is renewed by one login within the same poll: no outage, nothing unknown", async () => {
    const s = await start();
    const ob = s.observer;
    await ob.until("healthy", () => healthy(s, NAS), 15_000);
    const dsm = s.offsite!.dsm!;
    const loginsBefore = dsm.requests.filter((r) => r.what === "SYNO.API.Auth login").length;
    const t0 = Date.now();
    dsm.control.expireSessions();
    await ob.until(
      "a new login",
      () => dsm.requests.filter((r) => r.what === "SYNO.API.Auth login").length > loginsBefore,
      5_000,
    );
    await new Promise((r) => setTimeout(r, 3 * POLL));
    expect(dsm.requests.filter((r) => r.what === "SYNO.API.Auth login").length).toBe(loginsBefore + 1);
    expect(dsm.control.sessionCount()).toBe(1);
    expect(
      ob.messages.filter(
        (m) =>
          m.at >= t0 &&
          (m.topic === AVAIL("nas") || NAS.states.includes(m.topic)) &&
          /offline|"unknown"/.test(m.payload),
      ),
    ).toEqual([]);
    expect(healthy(s, NAS)).toBe(true);
  });
});
