/**
 * Fault suite, Proxmox side (the lab's fault switches; real HTTPS, real broker). For each fault:
 * no crash, no unhandled rejection, every guest state published during the fault is `unknown`
 * and the source unavailable (never a false ok, missing or stale), and recovery within one poll
 * after the fault ends. Already covered elsewhere: node down and recovery, malformed JSON on
 * /cluster/resources (bridge-lab-broker), kill -9 mid-backup (restart).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { LabFault } from "backup2mqtt-lab";
import { startStack, type Stack } from "../support/stack.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const AVAIL = "backup2mqtt/source/pve/availability";
const SEED = ["home_100", "home_101", "home_102", "home_103", "home_105"];
const POLL = 400;

let stack: Stack | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
process.on("unhandledRejection", onUnhandled);
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** Fault on, everything unknown/unavailable; fault off, everything back within one poll. */
async function faultCycle(s: Stack, fault: LabFault, opts: { expectError: RegExp; settleMs?: number }) {
  const o = s.observer;
  await o.until("all states", () => SEED.every((id) => o.json(STATE(id))));
  const before = Object.fromEntries(SEED.map((id) => [id, o.json(STATE(id)).status]));
  const errorsBefore = unhandled.length;
  const t0 = Date.now();
  s.lab.control.setFault(fault);
  await o.until("source unavailable", () => o.last.get(AVAIL) === "offline", 20_000);
  await o.until("every guest unknown", () => SEED.every((id) => o.json(STATE(id))?.status === "unknown"), 20_000);
  const info = o.json("backup2mqtt/bridge/info");
  expect(info.sources.pve.error).toMatch(opts.expectError);
  expect(o.last.get("backup2mqtt/bridge/state")).toBe("online");
  await new Promise((r) => setTimeout(r, opts.settleMs ?? 3 * POLL));
  // During the fault nothing but `unknown` was published for a guest: no false ok/missing/stale.
  const during = o.messages.filter(
    (m) => m.at >= t0 && m.topic.startsWith("backup2mqtt/guest/") && m.topic.endsWith("/state"),
  );
  expect(during.map((m) => JSON.parse(m.payload).status).filter((st) => st !== "unknown")).toEqual([]);
  for (const id of SEED) expect(o.json(STATE(id)).status_reason).toMatch(opts.expectError);
  // An outage removes nothing.
  for (const id of SEED) expect(o.last.get(`homeassistant/device/backup2mqtt_${id}/config`)).not.toBe("");

  const t1 = Date.now();
  s.lab.control.setFault(null);
  await o.until(
    "recovered",
    () => o.last.get(AVAIL) === "online" && SEED.every((id) => o.json(STATE(id))?.status === before[id]),
    20_000,
  );
  const recoveryMs = Date.now() - t1;
  expect(recoveryMs).toBeLessThan(POLL + 2500); // one poll (+ a retry backoff in progress and the request time)
  expect(unhandled.slice(errorsBefore)).toEqual([]);
  return recoveryMs;
}

describe("Proxmox faults", () => {
  it("HTTP 500 on every request", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed" }, pollMs: POLL });
    await faultCycle(stack, { kind: "http500" }, { expectError: /HTTP 500/ });
  });

  it("401 after the token was revoked", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed" }, pollMs: POLL });
    await faultCycle(stack, { kind: "unauthorized" }, { expectError: /authentication failure \(401\)/ });
    // The log says what to do, once per change of state, never with the secret.
    // Match the message, not the whole JSON line: the epoch-millisecond `time` of every line logged
    // in a 1,000-second window can contain "401" too (CI failed on Node 22 with 5 such lines).
    const lines = stack.logs.filter((l) => /\(401\)/.test((JSON.parse(l) as { msg?: string }).msg ?? ""));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(5);
    expect(stack.logs.join("")).not.toContain(stack.cfg.proxmox[0]!.tokenSecret);
  });

  it("connection dropped in the middle of an answer", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed" }, pollMs: POLL });
    await faultCycle(
      stack,
      { kind: "reset" },
      { expectError: /ECONNRESET|other side closed|socket|terminated|aborted/i },
    );
  });

  it("answers that take 30 s: the configured timeout ends each request, the source is down, not hanging", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "seed" },
      pollMs: POLL,
      configure: (cfg) => {
        cfg.proxmox[0]!.timeoutMs = 800;
      },
    });
    const s = stack;
    const t = Date.now();
    await faultCycle(s, { kind: "slow", ms: 30_000 }, { expectError: /timed out/ });
    // 3 attempts × 0.8 s + backoff, not 30 s.
    expect(Date.now() - t).toBeLessThan(20_000);
  });

  it("truncated JSON in a storage listing: guests unknown (unreadable), never missing", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed" }, pollMs: POLL, contentMs: POLL });
    await faultCycle(
      stack,
      { kind: "garbage", pathPrefix: "/api2/json/nodes/proxmox-home/storage/" },
      { expectError: /not JSON/ },
    );
  });

  it("wrong types in the task list: unreadable, unknown, recovered", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "demo", taskSpeed: 40 }, pollMs: POLL });
    const o = stack.observer;
    await o.until("the demo's running backup ended", () => o.json(STATE("home_105"))?.status === "ok", 20_000);
    await faultCycle(
      stack,
      // The task list every poll reads (a node's own list is read only when /cluster/tasks shows news there).
      { kind: "wrongTypes", pathPrefix: "/api2/json/cluster/tasks" },
      { expectError: /unexpected answer/ },
    );
  });

  it("a revoked privilege (200 with fewer archives) is noticed at the next listing: unknown naming the privilege, not missing", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 20 },
      pollMs: POLL,
      contentMs: POLL,
    });
    const s = stack;
    const o = s.observer;
    await o.until("100 ok", () => o.json(STATE("home_100"))?.status === "ok", 20_000);
    const t0 = Date.now();
    const token = s.lab.tokens[0]!.id;
    s.lab.control.setTokenPrivileges(token, [
      { path: "/", roles: ["PVEAuditor"] },
      { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
    ]);
    const st = await o.until(
      "100 unknown",
      () => o.json(STATE("home_100"))?.status === "unknown" && o.json(STATE("home_100")),
      10_000,
    );
    expect(st.status_reason).toMatch(/VM\.Backup on \/vms\/100/);
    const during = o.messages
      .filter((m) => m.at >= t0 && m.topic === STATE("home_100"))
      .map((m) => JSON.parse(m.payload).status);
    expect(during).not.toContain("missing");
    expect(Date.now() - t0).toBeLessThan(POLL * 3 + 2000);
  });
});
