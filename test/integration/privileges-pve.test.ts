/**
 * Least privilege, against the lab's PVE ACL model (roles, propagation, deeper paths replacing
 * inherited grants, backup rows silently hidden without the privileges). The token the README's
 * `pveum` commands create is enough for everything: all guests judged, Back up now, `check`
 * clean. A token missing one of those privileges gives `unknown` (or, for jobs, a named gap) with
 * the missing privilege spelled out — never a guest that looks `missing` or `ok` by accident.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadScenario, type AclEntryInput } from "backup2mqtt-lab";
import { startStack, type Stack } from "../support/stack.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const IDS = ["home_100", "home_101", "home_102", "home_103", "home_105"];
const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");

/** README "Proxmox API token (least privilege)", command by command. */
const README_ACL: AclEntryInput[] = [
  { path: "/", roles: ["PVEAuditor"] }, //                                   pveum acl modify / -role PVEAuditor
  { path: "/storage", privs: ["Datastore.Audit", "Datastore.AllocateSpace"] }, // role Backup2MqttStorage on /storage
  { path: "/vms", privs: ["VM.Audit", "VM.Backup"] }, //                      role Backup2MqttGuests on /vms
];
const without = (priv: string): AclEntryInput[] =>
  README_ACL.map((e) => ({ ...e, privs: (e.privs ?? []).filter((p) => p !== priv) }));

function scenarioWith(acl: AclEntryInput[]) {
  const sc = structuredClone(loadScenario("demo")) as any;
  sc.tokens = [{ id: "backup2mqtt@pve!bridge", secret: "least-privilege-secret", acl }];
  return sc;
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const check = (s: Stack) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "b2m-priv-")), "c.yaml");
    fs.writeFileSync(
      f,
      `mqtt: { url: "${s.broker.url}" }\nproxmox:\n  - name: pve\n    url: ${s.lab.url}\n    token_id: "backup2mqtt@pve!bridge"\n    token_secret: least-privilege-secret\n    fingerprint: "${s.lab.fingerprint}"\n`,
    );
    const c = spawn(process.execPath, [cli, "check", "--config", f]);
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (out += d));
    c.on("exit", (code) => resolve({ code, out }));
  });

describe("least privilege (PVE)", () => {
  it("the README's token judges every guest, runs Back up now, and `check` finds nothing missing", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: scenarioWith(README_ACL), taskSpeed: 40 } });
    const s = stack;
    const o = s.observer;
    await o.until("states", () => IDS.every((id) => o.json(STATE(id))));
    await o.until("105 finished", () => o.json(STATE("home_105"))?.status === "ok", 20_000);
    expect(Object.fromEntries(IDS.map((id) => [id, o.json(STATE(id)).status]))).toEqual({
      home_100: "ok",
      home_101: "stale",
      home_102: "failed",
      home_103: "missing",
      home_105: "ok",
    });
    expect(IDS.some((id) => o.json(STATE(id)).status === "unknown")).toBe(false);
    const t = Date.now();
    await o.publish("backup2mqtt/guest/home_103/command", '{"action":"backup"}');
    await o.until(
      "backup finished",
      () =>
        o.messages.some(
          (m) => m.at >= t && m.topic.endsWith("home_103/event") && m.payload.includes("backup_finished"),
        ),
      20_000,
    );
    await o.until("103 ok", () => o.json(STATE("home_103"))?.status === "ok");
    const r = await check(s);
    expect(r.out).not.toMatch(/token lacks/);
    expect(r.code).toBe(0);
  }, 60_000);

  for (const [priv, where] of [
    ["VM.Backup", /VM\.Backup on \/vms\/\d+/],
    ["Datastore.AllocateSpace", /Datastore\.AllocateSpace/],
  ] as const) {
    it(`without ${priv}: every guest with archives it cannot see is unknown, naming ${priv}; check names it too`, async () => {
      stack = await startStack({ broker: "embedded", lab: { scenario: scenarioWith(without(priv)), taskSpeed: 40 } });
      const s = stack;
      const o = s.observer;
      await o.until("states", () => IDS.every((id) => o.json(STATE(id))));
      for (const id of IDS) {
        const st = o.json(STATE(id));
        expect(st.status).toBe("unknown");
        expect(st.status_reason).toMatch(where);
        expect(st.reasons.some((r: string) => /^(missing|stale|failed):/.test(r))).toBe(false); // no status alarm from hidden rows
      }
      // The lab really hid the rows (200, shorter list) — the trap, not a 403.
      expect(s.lab.requests.some((r) => r.path.includes("/content") && r.status === 200)).toBe(true);
      const r = await check(s);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(new RegExp(`token lacks ${priv.replace(".", "\\.")}`));
    }, 60_000);
  }

  it("without Sys.Audit on / (no auditor role there): coverage cannot be judged and says so; archives still count", async () => {
    const acl: AclEntryInput[] = [
      { path: "/storage", privs: ["Datastore.Audit", "Datastore.AllocateSpace"] },
      { path: "/vms", privs: ["VM.Audit", "VM.Backup"] },
    ];
    stack = await startStack({ broker: "embedded", lab: { scenario: scenarioWith(acl), taskSpeed: 40 } });
    const s = stack;
    const o = s.observer;
    await o.until("states", () => IDS.every((id) => o.json(STATE(id))));
    expect(o.json(STATE("home_100")).status).toBe("ok");
    // No job is known, and none is claimed missing: no `unprotected` finding invented from a 403.
    for (const id of IDS)
      expect(o.json(STATE(id)).findings.map((f: { code: string }) => f.code)).not.toContain("unprotected");
    expect(s.logs.join("")).toMatch(/cannot read backup jobs .*grant Sys\.Audit on \//);
    const r = await check(s);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Sys\.Audit/);
  }, 60_000);
});
