/** `backup2mqtt check --config FILE` against broken files and against the real lab + broker. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "backup2mqtt-lab";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../bridge/src/demo/broker.js";
import { dsmLabSourceConfig, pbsLabSourceConfig, startOffsiteLabs } from "../../bridge/src/demo/lab-wiring.js";
import { ed25519KeyPair, startSshDouble } from "backup2mqtt-lab/ssh-double";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-check-"));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
// Asynchronous: the lab and the broker live in this process and must keep answering.
const check = (file: string, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, "check", "--config", file], { env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });

let lab: Lab;
let broker: EmbeddedBroker;
let offsite: Awaited<ReturnType<typeof startOffsiteLabs>>;
beforeAll(async () => {
  lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
  offsite = await startOffsiteLabs("demo", lab.clock);
  broker = await startEmbeddedBroker(0);
});
afterAll(async () => {
  await broker.close();
  await offsite.stop();
  await lab.stop();
});

const config = (token: { id: string; secret: string }) => `site: home
mqtt:
  url: ${broker.url}
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${token.id}"
    token_secret: \${PVE_SECRET}
    fingerprint: "${lab.fingerprint}"
`;

describe("backup2mqtt check", () => {
  it("prints every error of a broken file with key path and line, and exits non-zero", async () => {
    const f = write(
      "broken.yaml",
      `mqtt:
  url: localhost:1883
  base_topic: "a/#"
proxmox:
  - name: PVE
    url: https://pve:8006
    token_id: root
    token_secret: x
    tiemout: 5s
tiers:
  P0:
    max_age: soon
`,
    );
    const r = await check(f);
    expect(r.code).not.toBe(0);
    for (const expected of [
      ":2:8: mqtt.url",
      ":3:15: mqtt.base_topic",
      ":5:11: proxmox[0].name",
      ":7:15: proxmox[0].token_id",
      ":9:5: proxmox[0].tiemout: unknown key",
      ":12:14: tiers.P0.max_age",
    ]) {
      expect(r.out).toContain(expected);
    }
    expect(r.out).not.toContain("configuration is valid");
  });

  it("validates and reaches the lab and the broker: exit 0", async () => {
    const token = lab.tokens[0]!;
    const r = await check(write("good.yaml", config(token)), { PVE_SECRET: token.secret });
    expect(r.out).toMatch(/ok\s+proxmox 'pve': reachable, PVE 9\.\d+\.\d+, 5 guests visible/);
    expect(r.out).toMatch(/ok\s+mqtt: connected/);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(token.secret);
  });

  it("names the missing privileges of a read-only token and exits non-zero", async () => {
    const token = lab.tokens[1]!;
    const r = await check(write("readonly.yaml", config(token)), { PVE_SECRET: token.secret });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/token lacks VM\.Backup on \/vms/);
    expect(r.out).toMatch(/token lacks Datastore\.AllocateSpace on \/storage/);
  });

  it("reports a wrong fingerprint as a TLS problem, never sending the token", async () => {
    const token = lab.tokens[0]!;
    const r = await check(write("pin.yaml", config(token).replace(lab.fingerprint, `${"00:".repeat(31)}00`)), {
      PVE_SECRET: token.secret,
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/proxmox 'pve': tls: certificate fingerprint .* does not match the pinned fingerprint/);
  });

  it("reaches the Synology NAS and the PBS too, and names a wrong NAS password", async () => {
    const token = lab.tokens[0]!;
    const nas = dsmLabSourceConfig(offsite.dsm!);
    const pbs = pbsLabSourceConfig(offsite.pbs!);
    const extra = (password: string) => `synology:
  - name: ${nas.name}
    url: ${nas.url}
    username: ${nas.username}
    password: "${password}"
    timezone: ${nas.timeZone}
    fingerprint: "${nas.fingerprint}"
pbs:
  - name: ${pbs.name}
    url: ${pbs.url}
    token_id: "${pbs.tokenId}"
    token_secret: "${pbs.tokenSecret}"
    fingerprint: "${pbs.fingerprint}"
state_dir: ${path.join(dir, "state")}
`;
    const r = await check(write("offsite.yaml", config(token) + extra(nas.password)), { PVE_SECRET: token.secret });
    // Counted with their nouns: the demo NAS has two Hyper Backup tasks, its PBS one datastore.
    expect(offsite.dsm!.scenario.tasks).toHaveLength(2);
    expect(offsite.pbs!.scenario.datastores).toHaveLength(1);
    expect(r.out).toMatch(
      new RegExp(`^ok\\s+synology '${nas.name}': reachable, logged in, 2 Hyper Backup tasks$`, "m"),
    );
    expect(r.out).toMatch(new RegExp(`^ok\\s+pbs '${pbs.name}': reachable, 1 datastore visible$`, "m"));
    expect(r.code).toBe(0);
    const bad = await check(write("offsite-bad.yaml", config(token) + extra("wrong-password")), {
      PVE_SECRET: token.secret,
    });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL\s+synology '[^']+': .*(password|account)/i);
    expect(bad.out).not.toContain(nas.password);
  });

  it("logs in over SSH with the pinned host key and names a wrong host key or a key the node refuses", async () => {
    const token = lab.tokens[0]!;
    const node = await startSshDouble(lab);
    try {
      const keyFile = write("id_ed25519", node.clientPrivateKey);
      const otherKey = write("other_ed25519", ed25519KeyPair().private);
      const withSsh = (hostKey: string, key = keyFile) =>
        config(token) +
        `    ssh:
      host: 127.0.0.1
      port: ${node.port}
      private_key_file: ${key}
      host_key: "${hostKey}"
      nodes: { proxmox-home: { host: 127.0.0.1, port: ${node.port}, host_key: "${node.hostKeyFingerprint}" } }
`;
      const r = await check(write("ssh.yaml", withSsh(node.hostKeyFingerprint)), { PVE_SECRET: token.secret });
      expect(r.out).toMatch(
        /ok\s+proxmox 'pve': ssh default root@127\.0\.0\.1:\d+: host key matches, logged in, pve-manager\/9\.\d+\.\d+\//,
      );
      expect(r.out).toMatch(/ok\s+proxmox 'pve': ssh node 'proxmox-home' root@127\.0\.0\.1:\d+: host key matches/);
      expect(r.code).toBe(0);
      expect(node.commands).toEqual(["pveversion", "pveversion"]);

      const wrongHost = await check(write("ssh-hostkey.yaml", withSsh(`SHA256:${"A".repeat(43)}`)), {
        PVE_SECRET: token.secret,
      });
      expect(wrongHost.code).toBe(1);
      expect(wrongHost.out).toMatch(
        /FAIL\s+proxmox 'pve': ssh default .*: host key SHA256:\S+ does not match the pinned SHA256:A{43}; refusing to connect/,
      );
      expect(wrongHost.out).toMatch(/ok\s+proxmox 'pve': ssh node 'proxmox-home'/); // the per-node entry pins its own key

      const refused = await check(write("ssh-key.yaml", withSsh(node.hostKeyFingerprint, otherKey)), {
        PVE_SECRET: token.secret,
      });
      expect(refused.code).toBe(1);
      expect(refused.out).toMatch(/FAIL\s+proxmox 'pve': ssh default .*: authentication failed for user root/);
      expect(refused.out).not.toContain("PRIVATE KEY");

      const garbled = write(
        "garbled_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n",
      );
      const unreadable = await check(write("ssh-garbled.yaml", withSsh(node.hostKeyFingerprint, garbled)), {
        PVE_SECRET: token.secret,
      });
      expect(unreadable.code).toBe(1);
      expect(unreadable.out).toMatch(/FAIL\s+proxmox 'pve': ssh default .*: Cannot parse privateKey/);
      expect(node.commands).toHaveLength(3); // only the good host key of the second run got that far
    } finally {
      await node.stop();
    }
  });
});
