/**
 * Back up now, verify, restore test — with the real broker (embedded), the simulated lab over
 * HTTPS and an SSH double built on ssh2's server class.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { utcTime } from "../support/words.js";
import { startSshDouble, type SshDouble } from "backup2mqtt-lab/ssh-double";
import { resolveTiers } from "../../bridge/src/config/tiers.js";
import { schemaValidator, describeErrors } from "../../bridge/src/util/schemas.js";
import type { Config } from "../../bridge/src/config/load.js";
import type { Lab } from "backup2mqtt-lab";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CMD = (id: string) => `backup2mqtt/guest/${id}/command`;
const EVENT = (id: string) => `backup2mqtt/guest/${id}/event`;

let stack: Stack | undefined;
let ssh: SshDouble | undefined;
afterEach(async () => {
  await stack?.stop();
  await ssh?.stop();
  stack = ssh = undefined;
});

function events(s: Stack, id: string, since = 0) {
  return s.observer.messages.filter((m) => m.topic === EVENT(id) && m.at >= since).map((m) => JSON.parse(m.payload));
}
async function waitEvent(s: Stack, id: string, type: string, since = 0, timeoutMs = 15_000) {
  // Typed before the schema check: ajv's guard (`data is unknown`) would narrow `any` to unknown.
  const ev: Record<string, any> = await s.observer
    .until(`${type} on ${id}`, () => events(s, id, since).find((e) => e.event_type === type), timeoutMs)
    .catch((e: Error) => {
      // What happened instead (a verify_failed "not_run" names the SSH trouble).
      throw new Error(`${e.message}\nevents on ${id}: ${JSON.stringify(events(s, id))}`);
    });
  const v = schemaValidator("event");
  if (!v(ev)) throw new Error(describeErrors(v));
  return ev;
}

/** SSH double for the lab, wired into the config (pinned host key, key auth). */
function withSsh(holder: { ssh?: SshDouble }, opts: { wrongKey?: boolean } = {}) {
  return async (cfg: Config, lab: Lab) => {
    holder.ssh = await startSshDouble(lab);
    ssh = holder.ssh;
    cfg.proxmox[0]!.ssh = {
      host: "127.0.0.1",
      port: holder.ssh.port,
      username: "root",
      privateKey: holder.ssh.clientPrivateKey,
      hostKey: opts.wrongKey ? "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" : holder.ssh.hostKeyFingerprint,
      nodes: {},
      timeoutMs: 10_000,
    };
    cfg.proxmox[0]!.verify = { automatic: false };
  };
}

describe("back up now", () => {
  it("press → running → finished; a second press while running is refused with the reason", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 20 } });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_102")));
    const t = Date.now();
    await s.observer.publish(CMD("home_102"), '{"action":"backup","origin":"test","request_id":"req-1"}');
    const startedEv = await waitEvent(s, "home_102", "backup_started", t);
    expect(startedEv.request_id).toBe("req-1"); // callers (the custom integration) match their command to its result
    await s.observer.until("running", () => s.observer.json(STATE("home_102"))?.running);
    await s.observer.publish(CMD("home_102"), '{"action":"backup"}');
    const rej = await waitEvent(s, "home_102", "command_rejected", t);
    expect(rej.reason).toMatch(/already running/);
    const done = await waitEvent(s, "home_102", "backup_finished", t, 20_000);
    expect(done.result).toBe("ok");
    await s.observer.until("ok", () => s.observer.json(STATE("home_102"))?.status === "ok");
    const audit = s.service.engine.store.readAudit();
    expect(audit.map((a) => [a.action, a.result])).toEqual(
      expect.arrayContaining([
        ["backup", "accepted"],
        ["backup", "rejected"],
        ["backup", "finished"],
      ]),
    );
    expect(audit.find((a) => a.result === "accepted")!.origin).toBe("test");
    expect(s.service.engine.store.inflight).toEqual([]);
  });

  it("a VM backup shows vzdump's progress while it runs, rising, and none once finished; the bridge keeps only the newest progress line", async () => {
    // vaultwarden (102, a VM) takes 45 s of lab time: at speed 5 that is 9 s, a tenth every 0.9 s, polled every 300 ms.
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 5 }, pollMs: 300 });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_102")));
    const t = Date.now();
    await s.observer.publish(CMD("home_102"), '{"action":"backup"}');
    await waitEvent(s, "home_102", "backup_started", t);
    await s.observer.until(
      "progress past 30 %",
      () => (s.observer.json(STATE("home_102"))?.progress ?? 0) >= 30,
      20_000,
    );
    // White box: the tracked task holds one progress line, however many the log has had.
    const tasks = [
      ...(
        s.service.engine.sources[0] as unknown as {
          tasks: Map<string, { lines: string[]; read: number; done: boolean }>;
        }
      ).tasks.values(),
    ].filter((x) => !x.done);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.lines.filter((l) => /^INFO:\s+\d+% \(/.test(l))).toHaveLength(1);
    expect(tasks[0]!.read).toBeGreaterThan(tasks[0]!.lines.length); // lines were read, then folded
    await waitEvent(s, "home_102", "backup_finished", t, 30_000);
    const done = await s.observer.until(
      "ok",
      () => s.observer.json(STATE("home_102"))?.status === "ok" && s.observer.json(STATE("home_102")),
    );
    expect(done.progress).toBeNull();
    const seen = s.observer.messages
      .filter((m) => m.topic === STATE("home_102") && m.at >= t)
      .map((m) => JSON.parse(m.payload).progress)
      .filter((p): p is number => typeof p === "number");
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b)); // never goes back
    expect(seen.every((p) => p >= 10 && p <= 100 && p % 10 === 0)).toBe(true);
  });

  it("a tier with allow_manual: false is refused", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "seed" },
      configure: (cfg) => {
        cfg.tiers = resolveTiers({ P0: { allow_manual: false } });
      },
    });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100")));
    await s.observer.publish(CMD("home_100"), '{"action":"backup"}');
    const rej = await waitEvent(s, "home_100", "command_rejected");
    expect(rej.reason).toBe("tier P0 does not allow manual backups (allow_manual: false)");
    expect(s.lab.requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("a guest PVE does not let the token back up: refused with the privilege named", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "demo", taskSpeed: 20 } });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_103")));
    s.lab.control.setTokenPrivileges(s.lab.tokens[0]!.id, [{ path: "/", roles: ["PVEAuditor"], propagate: 1 }] as any);
    await s.observer.publish(CMD("home_103"), '{"action":"backup"}');
    const rej = await waitEvent(s, "home_103", "command_rejected");
    expect(rej.reason).toMatch(/403.*VM\.Backup/);
  });
});

describe("verify over SSH", () => {
  it("a good archive verifies; a corrupt one fails with the tool's reason and makes a problem", async () => {
    const holder: { ssh?: SshDouble } = {};
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 20 },
      configure: withSsh(holder),
    });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100"))?.status === "ok");
    let t = Date.now();
    await s.observer.publish(CMD("home_100"), '{"action":"verify"}');
    const ok = await waitEvent(s, "home_100", "verify_finished", t);
    expect(ok.result).toBe("ok");
    // Not last_verified: the demo's PBS snapshot of 100 is verified already, so that is set from the start.
    // Wait for the state that carries this check's record (the event is published before the state).
    const verified = await s.observer.until("our verification in the state", () => {
      const st = s.observer.json(STATE("home_100"));
      return st?.last_verification?.volid === ok.volid && st;
    });
    expect(verified.last_verification).toMatchObject({ ok: true, volid: ok.volid });
    expect(Date.parse(verified.last_verified)).toBeGreaterThanOrEqual(Date.parse(verified.last_verification.time));
    expect(
      holder.ssh!.commands.some((c) => /zstd -q -d -c -- '.*vzdump-qemu-100-.*\.vma\.zst' \| vma verify -v -/.test(c)),
    ).toBe(true);

    const newest = verified.last_verification.volid as string;
    s.lab.control.corruptArchive(newest);
    t = Date.now();
    await s.observer.publish(CMD("home_100"), '{"action":"verify"}');
    const bad = await waitEvent(s, "home_100", "verify_failed", t);
    expect(bad.error).toMatch(/Corrupted block detected/);
    const st = await s.observer.until(
      "problem",
      () =>
        s.observer.json(STATE("home_100"))?.findings.some((f: any) => f.code === "verify_failed") &&
        s.observer.json(STATE("home_100")),
    );
    expect(st.problem).toBe(true);
    // One finding, its sentence naming the archive's file, when the check ran (UTC: a config built
    // in code) and the tool's error; the same sentence among the reasons, as its phrase.
    const failed = st.findings.filter((f: any) => f.code === "verify_failed");
    expect(failed).toHaveLength(1);
    const [finding] = failed;
    const file = newest.slice(newest.lastIndexOf("/") + 1);
    expect(file).toMatch(/^vzdump-qemu-100-.*\.vma\.zst$/);
    expect(finding.key).toBe("verify_failed");
    expect(finding.params).toEqual({ archive: file, at: st.last_verification.time, error: bad.error });
    expect(finding.reason).toBe(
      `Archive ${file} failed verification on ${utcTime(st.last_verification.time)}: ${bad.error}.`,
    );
    expect(finding.reason).toMatch(/Corrupted block detected\.$/);
    const i = st.reasons.indexOf(finding.reason);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(st.reason_phrases[i]).toEqual({ key: finding.key, params: finding.params });
    expect(st.last_verification).toMatchObject({ ok: false, volid: newest });
  });

  it("a container archive is checked with a full tar listing", async () => {
    const holder: { ssh?: SshDouble } = {};
    // 105's backup runs at start (120 s of lab time): fast tasks keep the wait short on a busy machine.
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 120 },
      configure: withSsh(holder),
    });
    const s = stack;
    await s.observer.until("105 ok", () => s.observer.json(STATE("home_105"))?.status === "ok", 30_000);
    const t = Date.now();
    await s.observer.publish(CMD("home_105"), '{"action":"verify"}');
    await waitEvent(s, "home_105", "verify_finished", t);
    expect(
      holder.ssh!.commands.some((c) => /tar --zstd -tf '.*vzdump-lxc-105-.*\.tar\.zst' > \/dev\/null/.test(c)),
    ).toBe(true);
  });

  it("a wrong SSH host key is refused: nothing is judged about the archive", async () => {
    const holder: { ssh?: SshDouble } = {};
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 20 },
      configure: withSsh(holder, { wrongKey: true }),
    });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100")));
    await s.observer.publish(CMD("home_100"), '{"action":"verify"}');
    const ev = await waitEvent(s, "home_100", "verify_failed");
    expect(ev.result).toBe("not_run");
    expect(ev.error).toMatch(/host key SHA256:.* does not match the pinned SHA256:A+; refusing to connect/);
    expect(holder.ssh!.commands).toEqual([]); // never authenticated, never ran anything
    expect(s.service.engine.store.verifications).toEqual([]);
  });

  it("automatic verification checks new archives of tiers with verify_every, one per node", async () => {
    const holder: { ssh?: SshDouble } = {};
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 20 },
      bridge: { verifyTickMs: 300 },
      configure: async (cfg, lab) => {
        await withSsh(holder)(cfg, lab);
        cfg.proxmox[0]!.verify = { automatic: true };
      },
    });
    const s = stack;
    // P0 (100) and P1 (102) have verify_every; P2 guests do not.
    // last_verification, not last_verified: 100's PBS snapshot is verified already, so last_verified is set from the start.
    for (const id of ["home_100", "home_102"]) {
      const st = await s.observer
        .until(`${id} checked by the bridge`, () => s.observer.json(STATE(id))?.last_verification, 30_000)
        .catch((e: Error) => {
          // What the bridge did instead: its verification log lines, the audit, the commands the node saw.
          const lines = s.logs.filter((l) => /verif|ssh/i.test(l)).slice(-20);
          throw new Error(
            `${e.message}\nlog:\n${lines.join("")}\naudit: ${JSON.stringify(s.service.engine.store.readAudit())}\nstate: ${JSON.stringify(s.observer.json(STATE(id)))}\nevents on ${id}: ${JSON.stringify(events(s, id))}\nssh: ${JSON.stringify(holder.ssh!.commands)}`,
          );
        });
      expect(st).toMatchObject({ ok: true });
    }
    expect(s.observer.json(STATE("home_101")).last_verified).toBeNull();
    expect(s.observer.json(STATE("home_101")).last_verification).toBeNull();
    const audit = s.service.engine.store.readAudit();
    const finished = audit
      .filter((a) => a.action === "verify" && a.origin === "scheduler" && a.result === "finished")
      .map((a) => a.target);
    expect(new Set(finished)).toEqual(new Set(["home_100", "home_102"]));
  }, 75_000);
});

describe("restore test", () => {
  // The documented privileges for restore tests: VM.Allocate on the scratch VMID (plus what backups need).
  const restoreCfg =
    (scratch = 9999) =>
    (cfg: Config, lab: Lab) => {
      const token = lab.control.state.tokens.get(lab.tokens[0]!.id)!;
      lab.control.setTokenPrivileges(token.id, [
        ...(token.acl as any[]),
        { path: `/vms/${scratch}`, roles: ["PVEAuditor"], privs: ["VM.Allocate", "VM.Backup"], propagate: 1 },
      ]);
      cfg.tiers = resolveTiers({ P0: { restore_test: true } });
      cfg.proxmox[0]!.restoreTest = { scratchVmid: scratch, storage: "local-lvm", timeoutMs: 30_000 };
    };

  it("restores the newest archive to the scratch VMID, checks it and destroys it", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "demo", taskSpeed: 40 }, configure: restoreCfg() });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100"))?.status === "ok");
    const t = Date.now();
    await s.observer.publish(CMD("home_100"), '{"action":"restore_test"}');
    await waitEvent(s, "home_100", "restore_test_started", t);
    const done = await waitEvent(s, "home_100", "restore_test_finished", t, 20_000);
    expect(done.result).toBe("ok");
    expect(s.lab.control.state.guests.has(9999)).toBe(false); // cleaned up
    expect(s.lab.control.state.guests.has(100)).toBe(true); // original untouched
    const posts = s.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/qemu"));
    const deletes = s.lab.requests.filter((r) => r.method === "DELETE" && r.path.endsWith("/qemu/9999"));
    expect([posts.length, deletes.length]).toEqual([1, 1]);
    expect(s.lab.requests.some((r) => r.method === "DELETE" && /\/qemu\/100$/.test(r.path))).toBe(false);
    await s.observer.until("published", () => s.observer.json(STATE("home_100"))?.last_restore_test?.ok === true);
  });

  it("a failing restore is reported and still cleaned up", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "demo", taskSpeed: 40 }, configure: restoreCfg() });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100"))?.status === "ok");
    s.lab.control.failNextRestore("disk image 'local-lvm:vm-9999-disk-0' - no space left on device");
    const t = Date.now();
    await s.observer.publish(CMD("home_100"), '{"action":"restore_test"}');
    const failed = await waitEvent(s, "home_100", "restore_test_failed", t, 20_000);
    expect(failed.error).toMatch(/restore task failed: disk image .* no space left on device/);
    expect(s.lab.control.state.guests.has(9999)).toBe(false);
    const rec = s.service.engine.store.restores.at(-1)!;
    expect(rec).toMatchObject({ ok: false, cleanedUp: true, scratchVmid: 9999 });
  });

  it("refuses when the scratch VMID is in use, and when the tier has not opted in", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 40 },
      configure: restoreCfg(105),
    });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100")));
    await s.observer.publish(CMD("home_100"), '{"action":"restore_test"}');
    const rej = await waitEvent(s, "home_100", "command_rejected");
    expect(rej.reason).toMatch(/scratch VMID 105 is in use \(pihole-home on proxmox-home\); refusing to touch it/);
    await s.observer.publish(CMD("home_101"), '{"action":"restore_test"}');
    const rej2 = await waitEvent(s, "home_101", "command_rejected");
    expect(rej2.reason).toMatch(/tier P2 has not opted in to restore tests/);
    expect(s.lab.requests.some((r) => r.method === "POST" || r.method === "DELETE")).toBe(false);
    expect(s.lab.control.state.guests.get(105)!.name).toBe("pihole-home");
  });
});

describe("backups started outside the bridge", () => {
  it("a scheduled job run shows its guests running, then their results and events", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 30 }, pollMs: 300 });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_100")));
    const t = Date.now();
    s.lab.control.runScheduledJobsNow("backup-p2-weekly"); // as if the GUI's "Run now" on a disabled job
    await s.observer.until("101 running", () => s.observer.json(STATE("home_101"))?.running === true);
    await waitEvent(s, "home_101", "backup_started", t);
    await waitEvent(s, "home_105", "backup_finished", t, 30_000);
    for (const id of ["home_101", "home_103", "home_105"]) {
      await s.observer.until(`${id} ok`, () => s.observer.json(STATE(id))?.status === "ok", 20_000);
    }
  });
});

describe("vzdump over SSH (backup.method: ssh)", () => {
  it("runs vzdump on the node and follows the task PVE registered for it", async () => {
    const holder: { ssh?: SshDouble } = {};
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "seed", taskSpeed: 30 },
      pollMs: 300,
      configure: async (cfg, lab) => {
        await withSsh(holder)(cfg, lab);
        cfg.proxmox[0]!.backup = { ...cfg.proxmox[0]!.backup, method: "ssh", storage: "local" };
      },
    });
    const s = stack;
    await s.observer.until("state", () => s.observer.json(STATE("home_103")));
    const t = Date.now();
    await s.observer.publish(CMD("home_103"), '{"action":"backup"}');
    await waitEvent(s, "home_103", "backup_started", t);
    await s.observer.until("running", () => s.observer.json(STATE("home_103"))?.running === true);
    await s.observer.until("ok", () => s.observer.json(STATE("home_103"))?.status === "ok", 20_000);
    expect(holder.ssh!.commands).toEqual([
      `vzdump 103 --mode 'snapshot' --compress 'zstd' --storage 'local' --notes-template '{{guestname}}'`,
    ]);
    expect(s.lab.requests.some((r) => r.method === "POST")).toBe(false); // nothing went through the API
  });
});
