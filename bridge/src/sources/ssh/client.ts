import crypto from "node:crypto";
import type { Client } from "ssh2";
import type { SshConfig } from "../../config/load.js";

/**
 * ssh2 is loaded on the first SSH command, not at start: importing it allocates ~14 MB (its
 * WebAssembly Poly1305), which a bridge without `ssh:` configured never needs.
 */
let ssh2Client: Promise<typeof Client> | undefined;
const loadClient = () => (ssh2Client ??= import("ssh2").then((m) => m.default.Client));

/** Loads ssh2 now (SSH is configured): the first verification should not wait for the import. */
export function preloadSsh(): void {
  loadClient().catch(() => undefined); // a failure shows on the first sshExec, which awaits the same promise
}

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  password?: string;
  /** Pinned host key, OpenSSH form "SHA256:<base64 without padding>". Required: no trust-on-first-use. */
  hostKey: string;
  timeoutMs: number;
}

/** Where to reach one node over SSH: the per-node entry, else the cluster default. */
export function sshTargetFor(ssh: SshConfig, node: string): SshTarget {
  const n = ssh.nodes[node];
  return {
    host: n?.host ?? ssh.host,
    port: n?.port ?? ssh.port,
    username: ssh.username,
    ...(ssh.privateKey ? { privateKey: ssh.privateKey } : {}),
    ...(ssh.password ? { password: ssh.password } : {}),
    hostKey: n?.hostKey ?? ssh.hostKey,
    timeoutMs: ssh.timeoutMs,
  };
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class SshError extends Error {
  constructor(
    readonly kind: "hostkey" | "auth" | "network" | "timeout",
    message: string,
  ) {
    super(message);
    this.name = "SshError";
  }
}

/** OpenSSH's fingerprint of a host key blob: SHA256 + unpadded base64. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** Quotes one argument for a POSIX shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs one command on a node over SSH (ssh2) and collects its output. The host key must match
 * the pinned fingerprint before authentication is even attempted; output is capped so a runaway
 * command cannot exhaust memory.
 */
export function sshExec(t: SshTarget, command: string, onStdout?: (chunk: string) => void): Promise<ExecResult> {
  const pinned = t.hostKey.replace(/=+$/, "");
  return loadClient().then(
    (SshClient) =>
      new Promise<ExecResult>((resolve, reject) => {
        const conn = new SshClient();
        let seenKey: string | undefined;
        let settled = false;
        const finish = (err: Error | null, res?: ExecResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          conn.end();
          if (err) reject(err);
          else resolve(res!);
        };
        const timer = setTimeout(
          () => finish(new SshError("timeout", `ssh ${t.host}: no result within ${t.timeoutMs} ms`)),
          t.timeoutMs,
        );
        conn.on("ready", () => {
          conn.exec(command, (err, stream) => {
            if (err) return finish(new SshError("network", `ssh ${t.host}: ${err.message}`));
            let stdout = "";
            let stderr = "";
            const cap = 1 << 20;
            stream.on("data", (d: Buffer) => {
              const s = d.toString("utf8");
              if (stdout.length < cap) stdout += s;
              onStdout?.(s);
            });
            stream.stderr.on("data", (d: Buffer) => {
              if (stderr.length < cap) stderr += d.toString("utf8");
            });
            stream.on("close", (code: number | null) => finish(null, { code: code ?? 255, stdout, stderr }));
          });
        });
        conn.on("error", (e: Error & { level?: string }) => {
          if (seenKey && seenKey !== pinned)
            return finish(
              new SshError(
                "hostkey",
                `ssh ${t.host}: host key ${seenKey} does not match the pinned ${pinned}; refusing to connect`,
              ),
            );
          if (e.level === "client-authentication")
            return finish(new SshError("auth", `ssh ${t.host}: authentication failed for user ${t.username}`));
          finish(new SshError("network", `ssh ${t.host}: ${e.message}`));
        });
        conn.connect({
          host: t.host,
          port: t.port,
          username: t.username,
          ...(t.privateKey ? { privateKey: t.privateKey } : {}),
          ...(t.password ? { password: t.password } : {}),
          readyTimeout: t.timeoutMs,
          hostVerifier: (key: Buffer) => {
            seenKey = sshFingerprint(key);
            return seenKey === pinned;
          },
        });
      }),
  );
}
