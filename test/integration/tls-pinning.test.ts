/**
 * TLS and SSH trust, against the real lab servers (PVE and PBS over HTTPS, the SSH double on
 * ssh2's server class): a pinned fingerprint is accepted (in any of the forms the UIs print), a
 * wrong one is refused before a single request byte — and so the token — is sent; with no pin the
 * system CAs decide (the lab's self-signed certificate is refused), a ca_file is honoured; SSH
 * host keys are pinned and a wrong key is refused before authentication; and no config key turns
 * verification off.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, systemClock, type Lab } from "backup2mqtt-lab";
import { PbsScenarioSchema, startPbsLab, type PbsLab } from "backup2mqtt-lab/pbs";
import { startSshDouble, type SshDouble } from "backup2mqtt-lab/ssh-double";
import { PveError, PveHttp } from "../../bridge/src/sources/pve/http.js";
import { versionSchema } from "../../bridge/src/sources/pve/schemas.js";
import { PbsClient } from "../../bridge/src/sources/pbs/client.js";
import { sshExec } from "../../bridge/src/sources/ssh/client.js";
import { ConfigError, parseConfigText } from "../../bridge/src/config/load.js";
import { z } from "zod";

let lab: Lab;
let pbs: PbsLab;
let ssh: SshDouble;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-tls-"));
beforeAll(async () => {
  lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
  pbs = await startPbsLab({
    scenario: PbsScenarioSchema.parse({ name: "pbs", datastores: [{ name: "store1" }] }),
    clock: systemClock,
  });
  ssh = await startSshDouble(lab);
});
afterAll(async () => {
  await ssh.stop();
  await pbs.stop();
  await lab.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const pve = (o: { fingerprint?: string; caFile?: string }) =>
  new PveHttp(
    { url: lab.url, tokenId: lab.tokens[0]!.id, tokenSecret: lab.tokens[0]!.secret, timeoutMs: 5000, ...o },
    0,
  );
const wrongPin = (fp: string) => fp.replace(/^[0-9A-F]{2}/, (h) => (h === "00" ? "11" : "00"));

describe("Proxmox VE over HTTPS", () => {
  it("the pinned fingerprint is accepted, in every form the UIs print it", async () => {
    for (const fp of [
      lab.fingerprint,
      lab.fingerprint.toLowerCase(),
      lab.fingerprint.replace(/:/g, ""),
      lab.fingerprint.replace(/:/g, " "),
    ]) {
      const h = pve({ fingerprint: fp });
      expect((await h.get("/version", versionSchema)).version).toMatch(/^9\./);
      await h.close();
    }
  });

  it("a wrong pin is refused before any request reaches the server (the token is never sent)", async () => {
    const served = lab.requests.length;
    const h = pve({ fingerprint: wrongPin(lab.fingerprint) });
    const err = await h.get("/version", versionSchema).catch((e: unknown) => e);
    await h.close();
    expect(err).toBeInstanceOf(PveError);
    expect((err as PveError).kind).toBe("tls");
    expect((err as PveError).message).toMatch(/does not match the pinned fingerprint/);
    expect(lab.requests.length).toBe(served);
  });

  it("no pin: the system CAs decide — the lab's self-signed certificate is refused; its CA file is accepted", async () => {
    const served = lab.requests.length;
    const h = pve({});
    const err = await h.get("/version", versionSchema).catch((e: unknown) => e);
    await h.close();
    expect((err as PveError).kind).toBe("tls");
    expect((err as PveError).message).toMatch(/set fingerprint or ca_file/);
    expect(lab.requests.length).toBe(served);
    const ca = path.join(dir, "pve-root-ca.pem");
    fs.writeFileSync(ca, lab.certPem);
    const ok = pve({ caFile: ca });
    expect((await ok.get("/version", versionSchema)).version).toMatch(/^9\./);
    await ok.close();
  });
});

describe("Proxmox Backup Server over HTTPS", () => {
  const client = (fingerprint?: string) =>
    new PbsClient({
      url: pbs.url,
      tokenId: pbs.tokens[0]!.id,
      tokenSecret: pbs.tokens[0]!.secret,
      fingerprint,
      timeoutMs: 5000,
    });
  it("pinned accepted, wrong pin and no pin refused without a request", async () => {
    const any = z.unknown();
    const ok = client(pbs.fingerprint);
    await expect(ok.get("/version", any)).resolves.toBeDefined();
    await ok.close();
    const served = pbs.requests.length;
    for (const c of [client(wrongPin(pbs.fingerprint)), client(undefined)]) {
      await expect(c.get("/version", any)).rejects.toThrow(/pinned fingerprint|certificate|TLS/i);
      await c.close();
    }
    expect(pbs.requests.length).toBe(served);
  });
});

describe("SSH host keys", () => {
  const target = (hostKey: string) => ({
    host: "127.0.0.1",
    port: ssh.port,
    username: "root",
    privateKey: ssh.clientPrivateKey,
    hostKey,
    timeoutMs: 5000,
  });
  it("the pinned host key is accepted; a wrong one is refused before authentication, nothing runs", async () => {
    const before = ssh.commands.length;
    const ok = await sshExec(target(ssh.hostKeyFingerprint), "pvesm status");
    expect(typeof ok.code).toBe("number");
    expect(ssh.commands.length).toBe(before + 1); // authenticated and ran
    const ran = ssh.commands.length;
    await expect(sshExec(target("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "pvesm status")).rejects.toThrow(
      /does not match the pinned .*refusing to connect/,
    );
    expect(ssh.commands.length).toBe(ran);
  });
});

describe("no option disables verification", () => {
  const base = `mqtt: { url: "mqtt://127.0.0.1:1883" }
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: "a@pve!b"
    token_secret: s
`;
  it.each([
    ["proxmox[0].verify_ssl", "    verify_ssl: false\n"],
    ["proxmox[0].insecure", "    insecure: true\n"],
    ["proxmox[0].tls_verify", "    tls_verify: false\n"],
    ["proxmox[0].reject_unauthorized", "    reject_unauthorized: false\n"],
  ])("%s is an unknown key, not a silent switch", (key, line) => {
    let err: unknown;
    try {
      parseConfigText(base + line);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => `${p.key}: ${p.message}`).join("\n")).toContain(
      `${key}: unknown key`,
    );
  });

  it("an SSH section without a pinned host key is refused (no trust on first use)", () => {
    expect(() => parseConfigText(`${base}    ssh: { host: 10.0.0.1, password: x }\n`)).toThrow(/host_key/);
  });

  it("the source never turns certificate checks off except to replace them by the exact pin", () => {
    const src = path.resolve(import.meta.dirname, "../../bridge/src");
    const files = (d: string): string[] =>
      fs
        .readdirSync(d, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? files(path.join(d, e.name))
            : e.name.endsWith(".ts") &&
                !e.name.endsWith(".test.ts") &&
                !d.includes(`${path.sep}lab`) &&
                !d.includes(`${path.sep}bench`)
              ? [path.join(d, e.name)]
              : [],
        );
    const hits = files(src).flatMap((f) =>
      fs
        .readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => /rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED|checkServerIdentity/.test(l))
        .map((l) => `${path.relative(src, f)}: ${l.trim()}`),
    );
    for (const h of hits) expect(h).toMatch(/rejectUnauthorized: !pinned/);
    expect(hits.length).toBeGreaterThan(0);
  });
});
