/**
 * The command router on its own (handlers are stubs): every refusal is a sentence that names what
 * is valid for the command's target, an empty payload (a cleared retained command) is ignored
 * without a rejection, and what the router reports keeps command_rejected events schema-valid.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { schemaValidator } from "../util/schemas.js";
import { CommandRouter, type ActionHandlers, type Outcome, type Target } from "./router.js";

function setup(opts: { offsite?: boolean } = { offsite: true }) {
  const calls: string[] = [];
  const reports: { target: Target; cmd: { action?: string; request_id?: string } | undefined; outcome: Outcome }[] = [];
  const logs: string[] = [];
  const sink = {
    write: (line: string) => {
      logs.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const ok = (what: string) => {
    calls.push(what);
    return Promise.resolve<Outcome>({ ok: true });
  };
  const handlers: ActionHandlers = {
    backup: (id) => ok(`backup ${id}`),
    verify: (id) => ok(`verify ${id}`),
    restoreTest: (id) => ok(`restore_test ${id}`),
    setTier: (id, tier) => ok(`set_tier ${id} ${tier}`),
    refresh: () => ok("refresh"),
    ...(opts.offsite
      ? {
          runHyperBackup: (key: string) => ok(`run ${key}`),
          verifyDatastore: (key: string) => ok(`verify store ${key}`),
        }
      : {}),
    report: (target, cmd, outcome) => void reports.push({ target, cmd, outcome }),
  };
  const router = new CommandRouter(
    handlers,
    createLogger("debug", () => [], sink),
  );
  const reason = async (target: Target, payload: string) => {
    const o = await router.handle(target, payload, "test");
    if (o.ok) throw new Error(`accepted: ${payload}`);
    return o.reason;
  };
  return { router, calls, reports, logs, reason };
}

const GUEST: Target = { kind: "guest", id: "home_100" };

describe("command router: reasons for people", () => {
  it("an unknown action names the actions valid for the target", async () => {
    const { reason } = setup();
    expect(await reason(GUEST, '{"action":"delete_all"}')).toBe(
      "unknown action 'delete_all'; valid actions for a guest: backup, verify, restore_test, set_tier, refresh",
    );
    expect(await reason({ kind: "bridge" }, '{"action":"delete_all"}')).toBe(
      "unknown action 'delete_all'; valid actions for the bridge: refresh",
    );
    expect(await reason({ kind: "hyperbackup", id: "2" }, '{"action":"delete_all"}')).toBe(
      "unknown action 'delete_all'; valid actions for a Hyper Backup task: run, refresh",
    );
    expect(await reason({ kind: "pbs", id: "store1" }, '{"action":"delete_all"}')).toBe(
      "unknown action 'delete_all'; valid actions for a PBS datastore: verify, refresh",
    );
    // Without the off-site handlers, their actions are not offered.
    expect(await setup({ offsite: false }).reason({ kind: "hyperbackup", id: "2" }, '{"action":"run"}')).toBe(
      "action 'run' is not available for a Hyper Backup task; valid actions for a Hyper Backup task: refresh",
    );
  });

  it("a known action on the wrong target says where it is not available and what is", async () => {
    const { reason, calls } = setup();
    expect(await reason({ kind: "bridge" }, '{"action":"backup"}')).toBe(
      "action 'backup' is not available for the bridge; valid actions for the bridge: refresh",
    );
    expect(await reason(GUEST, '{"action":"run"}')).toBe(
      "action 'run' is not available for a guest; valid actions for a guest: backup, verify, restore_test, set_tier, refresh",
    );
    expect(await reason({ kind: "hyperbackup", id: "2" }, '{"action":"verify"}')).toBe(
      "action 'verify' is not available for a Hyper Backup task; valid actions for a Hyper Backup task: run, refresh",
    );
    expect(await reason({ kind: "pbs", id: "s" }, '{"action":"set_tier","tier":"P1"}')).toBe(
      "action 'set_tier' is not available for a PBS datastore; valid actions for a PBS datastore: verify, refresh",
    );
    expect(calls).toEqual([]);
  });

  it("missing or mistyped action, wrong field types and values, missing and unknown fields", async () => {
    const { reason } = setup();
    expect(await reason(GUEST, "{}")).toBe(
      "'action' is missing; valid actions for a guest: backup, verify, restore_test, set_tier, refresh",
    );
    expect(await reason(GUEST, '{"action":5}')).toBe(
      `'action' must be a string such as "backup" (got 5); valid actions for a guest: backup, verify, restore_test, set_tier, refresh`,
    );
    expect(await reason(GUEST, '{"action":"backup","mode":"fast"}')).toBe(
      "'mode' must be one of snapshot, suspend, stop (got 'fast')",
    );
    expect(await reason(GUEST, '{"action":"backup","mode":3}')).toBe(
      "'mode' must be one of snapshot, suspend, stop (got 3)",
    );
    expect(await reason(GUEST, '{"action":"backup","storage":"../etc"}')).toBe(
      "'storage' must be a Proxmox storage id: letters, digits, '_', '.' and '-', starting with a letter or digit (got '../etc')",
    );
    expect(await reason(GUEST, '{"action":"backup","storage":7}')).toBe("'storage' must be a string (got a number)");
    expect(await reason(GUEST, `{"action":"backup","request_id":"${"x".repeat(70)}"}`)).toBe(
      "'request_id' must be at most 64 characters long (got 70)",
    );
    expect(await reason(GUEST, '{"action":"set_tier"}')).toBe("'tier' is missing");
    expect(await reason(GUEST, '{"action":"set_tier","tier":["P1"]}')).toBe("'tier' must be a string (got an array)");
    expect(await reason(GUEST, '{"action":"backup","foo":1}')).toBe(
      "unknown field 'foo' (valid fields: storage, mode, request_id, origin)",
    );
    expect(await reason(GUEST, '{"action":"verify","foo":1,"bar":2}')).toBe(
      "unknown fields 'foo' and 'bar' (valid fields: request_id, origin)",
    );
    expect(await reason(GUEST, '{"action":"backup","foo":1,"mode":"x"}')).toBe(
      "unknown field 'foo' (valid fields: storage, mode, request_id, origin); 'mode' must be one of snapshot, suspend, stop (got 'x')",
    );
  });

  it("not JSON, JSON that is not an object, too large", async () => {
    const { reason } = setup();
    expect(await reason(GUEST, "backup please")).toBe(
      `the command is not JSON; send an object such as {"action":"backup"}`,
    );
    expect(await reason(GUEST, '["backup"]')).toBe(
      `a command must be a JSON object such as {"action":"backup"} (got an array)`,
    );
    expect(await reason(GUEST, '"backup"')).toBe(
      `a command must be a JSON object such as {"action":"backup"} (got a string)`,
    );
    expect(await reason(GUEST, "null")).toBe(`a command must be a JSON object such as {"action":"backup"} (got null)`);
    expect(await reason(GUEST, "42")).toBe(
      `a command must be a JSON object such as {"action":"backup"} (got a number)`,
    );
    expect(await reason({ kind: "bridge" }, "true")).toBe(
      `a command must be a JSON object such as {"action":"refresh"} (got a boolean)`,
    );
    expect(await reason(GUEST, JSON.stringify({ action: "backup", origin: "é".repeat(2100) }))).toBe(
      "the command is too large (4,231 bytes; at most 4,096)",
    );
  });

  it("no raw validator text ever reaches a reason", async () => {
    const { reason } = setup();
    for (const p of [
      '{"action":"delete_all"}',
      '{"action":"backup","mode":"fast"}',
      '{"action":"set_tier"}',
      '{"action":"backup","foo":1}',
      "[]",
      '{"action":null}',
      '{"action":"verify","request_id":5}',
    ])
      expect(await reason(GUEST, p)).not.toMatch(
        /must be equal to|must NOT have|must match|oneOf|instancePath|\(payload\)|\/action/,
      );
  });

  it("refusals are reported once, with the action and request id when they are short strings; accepted commands reach their handler", async () => {
    const { router, reports, calls } = setup();
    await router.handle(GUEST, '{"action":"delete_all","request_id":"r-1"}', "mqtt");
    expect(reports).toHaveLength(1);
    expect(reports[0]!.cmd).toEqual({ action: "delete_all", request_id: "r-1" });
    expect(reports[0]!.outcome).toMatchObject({ ok: false, invalid: true });
    await router.handle(GUEST, JSON.stringify({ action: { x: 1 }, request_id: "y".repeat(100) }), "mqtt");
    expect(reports[1]!.cmd).toBeUndefined();
    // What the bridge builds from a report is a valid command_rejected event.
    const validEvent = schemaValidator("event");
    for (const r of reports) {
      const ev = {
        event_type: "command_rejected",
        time: new Date().toISOString(),
        guest: "home_100",
        ...(r.cmd ?? {}),
        reason: (r.outcome as { reason: string }).reason,
      };
      expect(validEvent(ev)).toBe(true);
    }
    expect(await router.handle(GUEST, '{"action":"set_tier","tier":"P1","request_id":"r-2"}', "mqtt")).toEqual({
      ok: true,
    });
    expect(await router.handle({ kind: "hyperbackup", id: "2" }, '{"action":"run"}', "mqtt")).toEqual({ ok: true });
    expect(await router.handle({ kind: "pbs", id: "s" }, '{"action":"verify"}', "mqtt")).toEqual({ ok: true });
    expect(await router.handle({ kind: "bridge" }, '{"action":"refresh"}', "mqtt")).toEqual({ ok: true });
    expect(calls).toEqual(["set_tier home_100 P1", "run 2", "verify store s", "refresh"]);
  });

  it("an empty payload (a cleared retained command) is ignored: no rejection reported, nothing run, a debug line", async () => {
    const { router, reports, calls, logs } = setup();
    const o = await router.handle(GUEST, Buffer.alloc(0), "mqtt");
    expect(o.ok).toBe(false);
    expect(reports).toEqual([]);
    expect(calls).toEqual([]);
    expect(logs.filter((l) => /"level":"?(warn|40)/.test(l))).toEqual([]);
    expect(logs.some((l) => l.includes("empty command ignored"))).toBe(true);
  });
});
