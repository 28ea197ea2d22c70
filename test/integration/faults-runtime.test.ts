/**
 * Fault suite, the bridge's own surroundings: the MQTT broker down at start and restarted in the
 * middle of a publish burst (Debian's Mosquitto, killed with SIGKILL: retained messages are
 * lost), the state directory read-only and full (a real 64 KiB tmpfs, remounted read-only / filled),
 * and `kill -9` of the bridge process during a verification over SSH. Home Assistant restarts
 * (birth) and kill -9 during a backup are covered in bridge-lab-broker and restart.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startLab, type Lab } from "backup2mqtt-lab";
import { labConfig } from "../../bridge/src/demo/lab-wiring.js";
import { startService, type Running } from "../../bridge/src/commands/run.js";
import { createLogger } from "../../bridge/src/log.js";
import { startSshDouble, type SshDouble } from "backup2mqtt-lab/ssh-double";
import { freePort, mosquittoBinary, startMosquitto, type Mosquitto } from "../support/mosquitto.js";
import { Observer } from "../support/observer.js";
import { startStack, type Stack } from "../support/stack.js";
import { writeLabConfigFile } from "../support/config-file.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CONFIG = (id: string) => `homeassistant/device/backup2mqtt_${id}/config`;
const IDS = ["home_100", "home_101", "home_102", "home_103", "home_105"];
const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");
const haveMosquitto = !!mosquittoBinary();

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

const unhandled: unknown[] = [];
process.on("unhandledRejection", (e) => unhandled.push(e));

describe.skipIf(!haveMosquitto && !process.env.CI)("MQTT broker faults (Mosquitto)", () => {
  it("broker down when the bridge starts: it starts anyway, and publishes everything once the broker is up", async () => {
    const lab = await startLab({ scenario: "demo", taskSpeed: 20, authFailDelayMs: 0 });
    cleanups.push(() => lab.stop());
    const port = await freePort();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-fault-"));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const cfg = labConfig(lab, `mqtt://127.0.0.1:${port}`, { stateDir, pollMs: 500 });
    const logs: string[] = [];
    const log = createLogger("info", () => cfg.secrets, {
      write: (l: string) => {
        logs.push(l);
        return true;
      },
    } as unknown as NodeJS.WritableStream);
    const service: Running = await startService(cfg, { log, fastPollMs: 200, birthDelayMs: 100 });
    cleanups.push(() => service.stop());
    expect(service.engine.result?.guests.length).toBe(5); // Proxmox was read with no broker
    const broker = await startMosquitto({ port });
    cleanups.push(() => broker.stop());
    const o = await Observer.connect(broker.url);
    cleanups.push(() => o.close());
    await o.until(
      "retained discovery and states",
      () => IDS.every((id) => o.json(CONFIG(id)) && o.json(STATE(id))),
      15_000,
    );
    // The messages queued while the broker was down are flushed on connect, before "online" is sent.
    await o.until("bridge online", () => o.last.get("backup2mqtt/bridge/state") === "online", 5_000);
    expect(logs.join("")).toMatch(/MQTT broker unreachable; will retry/);
    expect(unhandled).toEqual([]);
  }, 40_000);

  it("broker frozen at shutdown (connection open, nothing answered): the bridge still stops within its grace period", async () => {
    const stack: Stack = await startStack({ broker: "mosquitto", lab: { scenario: "demo", taskSpeed: 20 } });
    cleanups.push(() => stack.stop());
    const o = stack.observer;
    await o.until("states", () => IDS.every((id) => o.json(STATE(id))));
    const broker = stack.broker as Mosquitto;
    broker.pause(true);
    cleanups.push(() => broker.pause(false));
    const t = performance.now();
    await stack.service.stop(); // "offline" (QoS 1) gets no PUBACK and the graceful end never completes
    expect(performance.now() - t).toBeLessThan(8_000);
    expect(unhandled).toEqual([]);
  }, 40_000);

  it("broker killed and restarted in the middle of a publish burst: every retained topic is back afterwards", async () => {
    const stack: Stack = await startStack({ broker: "mosquitto", lab: { scenario: "demo", taskSpeed: 20 } });
    cleanups.push(() => stack.stop());
    const o = stack.observer;
    await o.until("states", () => IDS.every((id) => o.json(STATE(id))));
    // A burst: Home Assistant's birth makes the bridge resend everything; kill the broker meanwhile.
    await o.publish("homeassistant/status", "online");
    await new Promise((r) => setTimeout(r, 120));
    await (stack.broker as Mosquitto).restart();
    // A newcomer after the restart sees only what the bridge published again (no persistence).
    const late = await Observer.connect(stack.broker.url);
    cleanups.push(() => late.close());
    await late.until(
      "all retained again",
      () =>
        IDS.every((id) => late.json(CONFIG(id)) && late.json(STATE(id))) &&
        late.last.get("backup2mqtt/bridge/state") === "online",
      20_000,
    );
    expect(late.json(CONFIG("home_bridge"))).toBeTruthy();
    expect(late.json(STATE("home_100")).status).toBe(stack.service.engine.guest("home_100")!.status);
    expect(unhandled).toEqual([]);
  }, 60_000);
});

/** A real 64 KiB tmpfs as state_dir (needs root for mount; CI runs as root). */
function tmpfs(): { dir: string; ro(on: boolean): void; fill(): void; umount(): void } | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-statefs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", dir], { stdio: "ignore" });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    ro: (on) => execFileSync("mount", ["-o", `remount,${on ? "ro" : "rw"}`, dir], { stdio: "ignore" }),
    fill: () => {
      try {
        fs.writeFileSync(path.join(dir, "filler"), Buffer.alloc(1 << 20));
      } catch {
        /* ENOSPC: full, as intended */
      }
    },
    umount: () => {
      execFileSync("umount", [dir], { stdio: "ignore" });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const canMount = process.getuid?.() === 0;

describe.skipIf(!canMount)("state directory faults (tmpfs)", () => {
  for (const kind of ["read-only", "full"] as const) {
    it(`state_dir ${kind}: no crash, the error is logged, a backup still runs to its published end, set_tier holds in memory`, async () => {
      const fsx = tmpfs();
      if (!fsx) throw new Error("mount -t tmpfs failed although running as root");
      cleanups.push(() => fsx.umount());
      const stack = await startStack({
        broker: "embedded",
        lab: { scenario: "seed", taskSpeed: 30 },
        configure: (cfg) => {
          cfg.stateDir = fsx.dir;
        },
      });
      cleanups.push(() => stack.stop());
      const o = stack.observer;
      await o.until("states", () => IDS.every((id) => o.json(STATE(id))));
      if (kind === "read-only") fsx.ro(true);
      else fsx.fill();
      cleanups.push(() => fsx.ro(false)); // runs before umount (cleanups run last-in first)
      const t = Date.now();
      await o.publish("backup2mqtt/guest/home_101/command", '{"action":"set_tier","tier":"P1"}');
      await o.until("tier P1", () => o.json(STATE("home_101"))?.tier === "P1");
      await o.publish("backup2mqtt/guest/home_103/command", '{"action":"backup","origin":"fault-test"}');
      await o.until("backup_started", () =>
        o.messages.some(
          (m) => m.at >= t && m.topic === "backup2mqtt/guest/home_103/event" && m.payload.includes("backup_started"),
        ),
      );
      await o.until(
        "backup_finished",
        () =>
          o.messages.some(
            (m) => m.at >= t && m.topic === "backup2mqtt/guest/home_103/event" && m.payload.includes("backup_finished"),
          ),
        20_000,
      );
      await o.until("103 ok", () => o.json(STATE("home_103"))?.status === "ok");
      const logText = stack.logs.join("");
      expect(logText).toMatch(kind === "read-only" ? /EROFS|read-only file system/ : /ENOSPC|no space left/);
      expect(logText).toMatch(/could not save the tier override|could not persist the running backup/);
      expect(o.last.get("backup2mqtt/bridge/state")).toBe("online");
      expect(unhandled).toEqual([]);
    }, 40_000);
  }
});

describe("kill -9 during a verification", () => {
  it("no verdict is invented: after the restart the archive is not 'verified', the accepted request is in the audit, and a new verify completes", async () => {
    const lab: Lab = await startLab({ scenario: "demo", taskSpeed: 20, authFailDelayMs: 0 });
    cleanups.push(() => lab.stop());
    const ssh: SshDouble = await startSshDouble(lab, { execDelayMs: 3000 });
    cleanups.push(() => ssh.stop());
    const { startEmbeddedBroker } = await import("../../bridge/src/demo/broker.js");
    const broker = await startEmbeddedBroker(0);
    cleanups.push(() => broker.close());
    const o = await Observer.connect(broker.url);
    cleanups.push(() => o.close());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-killverify-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, "id");
    fs.writeFileSync(keyFile, ssh.clientPrivateKey, { mode: 0o600 });
    const cfgFile = writeLabConfigFile(dir, lab, broker.url, [
      `ssh: { host: 127.0.0.1, port: ${ssh.port}, username: root, private_key_file: ${keyFile}, host_key: "${ssh.hostKeyFingerprint}" }`,
      "verify: { automatic: false }",
    ]);
    const children: ChildProcess[] = [];
    cleanups.push(() => {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    });
    const run = () => {
      const c = spawn(process.execPath, [cli, "run", "--config", cfgFile], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, PVE_SECRET: lab.tokens[0]!.secret },
      });
      children.push(c);
      return c;
    };
    const first = run();
    await o.until("100 ok", () => o.json(STATE("home_100"))?.status === "ok", 20_000);
    const verifiedBefore = o.json(STATE("home_100")).last_verified; // PBS's own verify state may count
    expect(o.json(STATE("home_100")).last_verification).toBeNull();
    const t = Date.now();
    await o.publish("backup2mqtt/guest/home_100/command", '{"action":"verify","origin":"fault-test"}');
    await o.until("verify_started", () =>
      o.messages.some((m) => m.at >= t && m.topic.endsWith("/event") && m.payload.includes("verify_started")),
    );
    // A fresh process connects over SSH first (key exchange, auth): allow for a loaded CI machine.
    await o.until("the node is running the check", () => ssh.commands.length > 0, 30_000);
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    await o.until("will", () => o.last.get("backup2mqtt/bridge/state") === "offline");

    const before = Date.now();
    run();
    await o.until(
      "back online",
      () =>
        o.last.get("backup2mqtt/bridge/state") === "online" &&
        o.messages.some((m) => m.at >= before && m.topic === STATE("home_100")),
      20_000,
    );
    const st = o.json(STATE("home_100"));
    expect(st.last_verification).toBeNull(); // the interrupted check decided nothing
    expect(st.last_verified).toBe(verifiedBefore);
    expect(o.messages.some((m) => m.topic.endsWith("/event") && /verify_(finished|failed)/.test(m.payload))).toBe(
      false,
    );
    const audit = fs
      .readFileSync(path.join(dir, "state", "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit).toEqual([expect.objectContaining({ action: "verify", result: "accepted", origin: "fault-test" })]);
    // Asking again works: the interrupted one left no lock behind.
    const t2 = Date.now();
    await o.publish("backup2mqtt/guest/home_100/command", '{"action":"verify","origin":"fault-test"}');
    await o.until(
      "verify_finished",
      () => o.messages.some((m) => m.at >= t2 && m.topic.endsWith("/event") && m.payload.includes("verify_finished")),
      30_000,
    );
    await o.until("the bridge's own verdict", () => o.json(STATE("home_100"))?.last_verification?.ok === true, 10_000);
  }, 90_000);
});
