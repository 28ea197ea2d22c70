/**
 * The bridge's log lines, read as a log collector reads them: every line one JSON object, no key
 * twice in an object (pino writes a child logger's bindings and the call's fields side by side,
 * so `log.child({ source })` + `log.warn({ source })` gave `"source":"pve","source":"pve"`).
 * A busy run of the real bridge: commands, verification and restore test over the SSH double,
 * off-site sources, Proxmox faults and recovery, an unreadable state file.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { startSshDouble, type SshDouble } from "backup2mqtt-lab/ssh-double";
import { resolveTiers } from "../../bridge/src/config/tiers.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CMD = (id: string) => `backup2mqtt/guest/${id}/command`;
const EVENT = (id: string) => `backup2mqtt/guest/${id}/event`;

let stack: Stack | undefined;
let ssh: SshDouble | undefined;
let broker: EmbeddedBroker | undefined;
afterEach(async () => {
  await stack?.stop();
  await ssh?.stop();
  await broker?.close();
  stack = ssh = broker = undefined;
});

/** The keys that occur twice in one object of a JSON text (JSON.parse keeps the last and says nothing). */
export function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const objects: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j;
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      const keys = objects.at(-1);
      if (text[k] === ":" && keys) {
        const key = JSON.parse(raw) as string;
        if (keys.has(key)) dups.push(key);
        keys.add(key);
      }
    } else if (c === "{") objects.push(new Set());
    else if (c === "[") objects.push(null);
    else if (c === "}" || c === "]") objects.pop();
  }
  return dups;
}

function events(s: Stack, id: string, since: number) {
  return s.observer.messages
    .filter((m) => m.topic === EVENT(id) && m.at >= since)
    .map((m) => JSON.parse(m.payload) as { event_type: string });
}
const waitEvent = (s: Stack, id: string, type: RegExp, since: number) =>
  s.observer.until(`${type} on ${id}`, () => events(s, id, since).find((e) => type.test(e.event_type)), 25_000);

describe("log lines", () => {
  it("the duplicate-key reader finds what JSON.parse hides", () => {
    expect(duplicateKeys('{"level":40,"source":"pve","source":"pve","msg":"x"}')).toEqual(["source"]);
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1},{"d":2}],"s":"\\"a\\":1, \\"a\\":2"}')).toEqual(["b"]);
    expect(duplicateKeys('{"a":1,"b":{"a":1}}')).toEqual([]);
  });

  it("a busy run of the real bridge writes no key twice in any line", async () => {
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "demo", taskSpeed: 40 },
      pollMs: 300,
      offsite: { pollMs: 300 },
      configure: async (cfg, lab) => {
        ssh = await startSshDouble(lab);
        const px = cfg.proxmox[0]!;
        px.ssh = {
          host: "127.0.0.1",
          port: ssh.port,
          username: "root",
          privateKey: ssh.clientPrivateKey,
          hostKey: ssh.hostKeyFingerprint,
          nodes: {},
          timeoutMs: 10_000,
        };
        px.verify = { automatic: false };
        const token = lab.control.state.tokens.get(lab.tokens[0]!.id)!;
        lab.control.setTokenPrivileges(token.id, [
          ...(token.acl as any[]),
          { path: "/vms/9999", roles: ["PVEAuditor"], privs: ["VM.Allocate", "VM.Backup"], propagate: 1 },
        ]);
        cfg.tiers = resolveTiers({ P0: { restore_test: true } });
        px.restoreTest = { scratchVmid: 9999, storage: "local-lvm", timeoutMs: 30_000 };
        fs.mkdirSync(cfg.stateDir, { recursive: true });
        fs.writeFileSync(path.join(cfg.stateDir, "inflight.json"), '{"a":1}');
      },
    });
    const s = stack;
    await s.observer.until(
      "states",
      () => s.observer.json(STATE("home_100"))?.status === "ok" && s.observer.json(STATE("home_102")),
    );
    const t = Date.now();
    await s.observer.publish(CMD("home_102"), '{"action":"backup","origin":"test"}');
    await s.observer.publish(CMD("home_102"), '{"action":"backup"}'); // refused: already running
    await s.observer.publish(CMD("home_101"), '{"action":"delete_all"}'); // refused: unknown action
    await s.observer.publish(CMD("home_100"), '{"action":"verify"}');
    await waitEvent(s, "home_100", /^verify_(finished|failed)$/, t);
    await s.observer.publish(CMD("home_100"), '{"action":"restore_test"}');
    await waitEvent(s, "home_100", /^restore_test_(finished|failed)$/, t);
    await waitEvent(s, "home_102", /^backup_(finished|failed)$/, t);
    const logged = (re: RegExp, from: number) => s.logs.slice(from).some((l) => re.test(l));
    for (const fault of [{ kind: "garbage" as const }, { kind: "unauthorized" as const }]) {
      const from = s.logs.length;
      s.lab.control.setFault(fault);
      await s.observer.until(`${fault.kind} logged`, () => logged(/Proxmox source (degraded|unreachable)/, from));
      s.lab.control.setFault(null);
      await s.observer.until("recovered", () => logged(/Proxmox source is reachable/, from));
    }
    s.offsite!.dsm!.control.setFault({ kind: "http500" });
    s.offsite!.pbs!.control.setFault({ kind: "http500" });
    await new Promise((r) => setTimeout(r, 1000));
    s.offsite!.dsm!.control.setFault(null);
    s.offsite!.pbs!.control.setFault(null);
    await new Promise((r) => setTimeout(r, 1000));

    const lines = s.logs.map((l) => l.trim()).filter(Boolean);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // The run reached the parts that log with bindings of their own.
    const parts = new Set(parsed.map((p) => p.part).filter(Boolean));
    expect([...parts]).toEqual(expect.arrayContaining(["mqtt", "offsite", "router"]));
    expect(parsed.some((p) => p.source === "pve" && /Proxmox source (degraded|unreachable)/.test(String(p.msg)))).toBe(
      true,
    );
    expect(parsed.some((p) => /archive verified|restore test finished/.test(String(p.msg)))).toBe(true);
    expect(parsed.some((p) => /^inflight\.json could not be read/.test(String(p.msg)))).toBe(true);
    const withDuplicates = lines.map((l) => ({ keys: duplicateKeys(l), line: l })).filter((d) => d.keys.length);
    expect(withDuplicates).toEqual([]);
  }, 90_000);

  it("while the broker is down, its warnings are written once, then how often they repeated, before 'MQTT reconnected'", async () => {
    broker = await startEmbeddedBroker(0);
    const port = broker.port;
    const owned = { url: broker.url, stop: async () => undefined };
    stack = await startStack({ broker: owned, lab: { scenario: "seed" } });
    const s = stack;
    await s.observer.until("a guest state", () => s.observer.json(STATE("home_100")));
    const from = s.logs.length;
    await broker.close();
    broker = undefined;
    await new Promise((r) => setTimeout(r, 7_000)); // the bridge retries every 2 s
    broker = await startEmbeddedBroker(port);
    const msgs = () => s.logs.slice(from).map((l) => (JSON.parse(l) as { msg: string }).msg);
    await s.observer.until("MQTT reconnected", () => msgs().includes("MQTT reconnected"), 15_000);
    const seen = msgs().filter((m) => /^MQTT (broker unreachable|error)|^MQTT reconnected/.test(m));
    // mqtt.js says "offline" once and "error" (ECONNREFUSED) on every retry.
    expect(
      seen.filter((m) => m === "MQTT broker unreachable; will retry"),
      JSON.stringify(seen),
    ).toHaveLength(1);
    expect(
      seen.filter((m) => m === "MQTT error"),
      JSON.stringify(seen),
    ).toHaveLength(1);
    const summary = seen.find((m) => /^MQTT error \(repeated (once|\d+ times) in 60 s\)$/.test(m));
    expect(summary, JSON.stringify(seen)).toBeDefined();
    expect(seen.indexOf(summary!)).toBeLessThan(seen.indexOf("MQTT reconnected"));
  }, 60_000);
});
