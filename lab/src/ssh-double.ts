import crypto from "node:crypto";
import type { AddressInfo } from "node:net";
import ssh2, { type Connection, type ServerChannel } from "ssh2";
import type { Lab } from "./index.js";
import type { ArchiveState } from "./archives.js";
import type { LabState } from "./state.js";
import { settle } from "./tasks.js";
import { startVzdump } from "./vzdump.js";

const { Server, utils } = ssh2;

/**
 * A Proxmox node's shell over real SSH (ssh2's server class), for the verify, restore and
 * "vzdump over SSH" paths. It understands the commands the bridge runs — `pvesm path`, `zstd`,
 * `gzip`/`zcat`, `vma verify`, `tar -t…`, `vzdump`, `pveversion` (what `check` runs) — against the lab's archives (damaged ones
 * fail as the real tools do) and answers anything else with "command not found".
 */
export interface SshDouble {
  port: number;
  /** The host key fingerprint a client must pin ("SHA256:…"). */
  hostKeyFingerprint: string;
  /** A private key the double accepts (OpenSSH PEM). */
  clientPrivateKey: string;
  username: string;
  /** Every command line received, in order. */
  commands: string[];
  stop(): Promise<void>;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const fingerprintOf = (blob: Buffer) =>
  `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;

/**
 * A fresh ed25519 key pair that ssh2 can read back. ssh2's own generateKeyPairSync strips leading
 * zero bytes from the 32-byte public key, so about 1 pair in 256 comes out "Malformed OpenSSH
 * private key" (mscdex/ssh2#1390, #1513; measured 19 of 5,000 with ssh2 1.17.0). Two such pairs
 * per double made an SSH test fail now and then: draw again until both halves parse.
 */
export function ed25519KeyPair(): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync("ed25519");
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error))
      return pair;
  }
}

export async function startSshDouble(
  lab: Lab,
  opts: {
    node?: string;
    username?: string /** Each command takes at least this long (a verify to interrupt). */;
    execDelayMs?: number;
  } = {},
): Promise<SshDouble> {
  const state = lab.control.state;
  const node = opts.node ?? [...state.nodes.keys()][0]!;
  const username = opts.username ?? "root";
  const host = ed25519KeyPair();
  const client = ed25519KeyPair();
  const hostParsed = utils.parseKey(host.private) as ssh2.ParsedKey;
  const clientPub = utils.parseKey(client.public) as ssh2.ParsedKey;
  const commands: string[] = [];
  const connections = new Set<Connection>();

  const server = new Server({ hostKeys: [host.private] }, (conn) => {
    connections.add(conn);
    conn.on("close", () => connections.delete(conn));
    conn.on("error", () => undefined);
    conn.on("authentication", (ctx) => {
      if (ctx.username !== username || ctx.method !== "publickey") return ctx.reject(["publickey"]);
      const same = ctx.key.algo === clientPub.type && ctx.key.data.equals(clientPub.getPublicSSH());
      if (!same) return ctx.reject(["publickey"]);
      if (ctx.signature && ctx.blob && clientPub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)
        return ctx.reject(["publickey"]);
      ctx.accept();
    });
    conn.on("ready", () => {
      conn.on("session", (accept) => {
        const session = accept();
        session.on("exec", (acceptExec, _reject, info) => {
          const channel = acceptExec();
          commands.push(info.command);
          const delay = opts.execDelayMs ? new Promise((r) => setTimeout(r, opts.execDelayMs)) : Promise.resolve();
          void delay
            .then(() => runLine(state, lab, node, info.command, channel))
            .then(
              (code) => {
                channel.exit(code);
                channel.end();
              },
              (e: Error) => {
                channel.stderr.write(`${e.message}\n`);
                channel.exit(255);
                channel.end();
              },
            );
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    hostKeyFingerprint: fingerprintOf(hostParsed.getPublicSSH()),
    clientPrivateKey: client.private,
    username,
    commands,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.end();
        server.close(() => resolve());
      }),
  };
}

// --- a very small shell: `;`, `&&`, `|`, `set -o pipefail`, `> /dev/null`, single quotes --------

function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === "'") quoted = false;
      else cur += c;
    } else if (c === "'") {
      quoted = true;
      has = true;
    } else if (c === "\\" && line[i + 1] === "'") {
      cur += "'";
      i++;
    } else if (/\s/.test(c)) {
      if (cur || has) out.push(cur);
      cur = "";
      has = false;
    } else if (c === ";" || c === "|" || c === "&") {
      if (cur || has) out.push(cur);
      cur = "";
      has = false;
      if (c === "&" && line[i + 1] === "&") {
        out.push("&&");
        i++;
      } else out.push(c);
    } else cur += c;
  }
  if (cur || has) out.push(cur);
  return out;
}

async function runLine(state: LabState, lab: Lab, node: string, line: string, ch: ServerChannel): Promise<number> {
  const tokens = tokenize(line);
  let pipefail = false;
  let code = 0;
  // statements separated by ";", each a chain of pipelines joined by "&&"
  const statements: string[][] = [[]];
  for (const t of tokens) t === ";" ? statements.push([]) : statements[statements.length - 1]!.push(t);
  for (const st of statements.filter((s) => s.length)) {
    if (st.join(" ") === "set -o pipefail") {
      pipefail = true;
      continue;
    }
    const chain: string[][] = [[]];
    for (const t of st) t === "&&" ? chain.push([]) : chain[chain.length - 1]!.push(t);
    for (const pipeline of chain) {
      const cmds: string[][] = [[]];
      for (const t of pipeline) t === "|" ? cmds.push([]) : cmds[cmds.length - 1]!.push(t);
      let stdin = "";
      let failed = 0;
      let last: Result = { code: 0, stdout: "", stderr: "" };
      for (const argv of cmds) {
        const redirectNull = argv.length >= 2 && argv[argv.length - 2] === ">" && argv[argv.length - 1] === "/dev/null";
        const args = redirectNull ? argv.slice(0, -2) : argv;
        last = await runCommand(state, lab, node, args, stdin, ch);
        if (last.stderr) ch.stderr.write(last.stderr);
        if (last.code !== 0 && !failed) failed = last.code;
        stdin = redirectNull ? "" : last.stdout;
      }
      if (stdin) ch.write(stdin);
      code = pipefail && failed ? failed : last.code;
      if (code !== 0) return code;
    }
  }
  return code;
}

function archiveAtPath(state: LabState, node: string, path: string): ArchiveState | undefined {
  return state.archives.find((a) => {
    const s = state.storages.get(a.storage);
    return s && `${s.path}/dump/${a.file}` === path && (a.node === null || a.node === node);
  });
}

const STREAM = "VMA-STREAM:";

async function runCommand(
  state: LabState,
  lab: Lab,
  node: string,
  argv: string[],
  stdin: string,
  ch: ServerChannel,
): Promise<Result> {
  const ok = (stdout = ""): Result => ({ code: 0, stdout, stderr: "" });
  const fail = (code: number, stderr: string): Result => ({
    code,
    stdout: "",
    stderr: stderr.endsWith("\n") ? stderr : `${stderr}\n`,
  });
  const [cmd, ...args] = argv;
  const file = args.filter((a) => !a.startsWith("-")).pop() ?? "";
  const compressorCheck = (tool: string, ext: string): Result | ArchiveState => {
    const a = archiveAtPath(state, node, file);
    if (!a) return fail(1, `${tool}: ${file}: No such file or directory`);
    if (!a.format.endsWith(`.${ext}`)) return fail(1, `${tool}: ${file}: not in ${tool} format`);
    if (a.corrupt)
      return fail(
        1,
        tool === "zstd"
          ? `zstd: ${file}: Decoding error (36) : Corrupted block detected`
          : `${tool}: ${file}: invalid compressed data--crc error`,
      );
    return a;
  };
  switch (cmd) {
    case "pvesm": {
      if (args[0] !== "path" || !args[1]) return fail(255, "400 wrong number of arguments");
      const m = /^([^:]+):backup\/(.+)$/.exec(args[1]);
      const s = m ? state.storages.get(m[1]!) : undefined;
      if (!m || !s) return fail(255, `unable to parse volume ID '${args[1]}'`);
      if (s.type === "pbs") return fail(255, `storage '${s.id}' does not support path (PBS)`);
      return ok(`${s.path}/dump/${m[2]}\n`);
    }
    case "zstd":
    case "gzip":
    case "zcat":
    case "lzop":
    case "bzip2":
    case "bzcat": {
      const tool = cmd === "zcat" ? "gzip" : cmd === "bzcat" ? "bzip2" : cmd;
      const ext = { zstd: "zst", gzip: "gz", lzop: "lzo", bzip2: "bz2" }[tool]!;
      const r = compressorCheck(tool, ext);
      if ("code" in r) return r;
      const decompress = cmd === "zcat" || cmd === "bzcat" || args.includes("-d");
      return ok(decompress ? `${STREAM}${r.volid}` : "");
    }
    case "vma": {
      if (args[0] !== "verify") return fail(255, "usage: vma verify <filename> [-v]");
      let a: ArchiveState | undefined;
      if (file === "" || args.includes("-"))
        a = stdin.startsWith(STREAM) ? state.archives.find((x) => x.volid === stdin.slice(STREAM.length)) : undefined;
      else a = archiveAtPath(state, node, file);
      if (!a) return fail(255, "vma: verify failed - not a vma archive (wrong magic)");
      if (a.corrupt) return fail(255, "vma: verify failed - detected wrong block checksum");
      return ok(`CFG: size: 523 name: qemu-server.conf\nDEV: dev_id=1 size: ${a.size * 4} devname: drive-scsi0\n`);
    }
    case "tar": {
      const a = archiveAtPath(state, node, file);
      if (!a) return fail(2, `tar: ${file}: Cannot open: No such file or directory`);
      if (a.corrupt) return fail(2, "tar: Unexpected EOF in archive\ntar: Error is not recoverable: exiting now");
      return ok("./\n./etc/\n./etc/hostname\n./var/\n");
    }
    case "vzdump":
      return runVzdump(state, lab, node, args, ch);
    case "pveversion":
      return ok(`pve-manager/${state.version.version}/${state.version.repoid} (running kernel: 6.17.2-1-pve)\n`);
    default:
      return fail(127, `bash: ${cmd}: command not found`);
  }
}

/** `vzdump <vmid>… --storage S --mode M --compress C [--notes-template T]`, synchronous like the CLI. */
async function runVzdump(state: LabState, lab: Lab, node: string, args: string[], ch: ServerChannel): Promise<Result> {
  const vmids: number[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("--")) opts[a.slice(2)] = args[++i] ?? "";
    else if (/^\d+$/.test(a)) vmids.push(Number(a));
  }
  const storage = opts.storage ?? "local";
  if (!state.storages.has(storage)) return { code: 255, stdout: "", stderr: `storage '${storage}' does not exist\n` };
  const task = startVzdump(
    state,
    node,
    "root@pam",
    {
      vmids,
      all: false,
      exclude: [],
      storage,
      mode: opts.mode ?? "snapshot",
      compress: opts.compress ?? "0",
      ...(opts["notes-template"] ? { notesTemplate: opts["notes-template"] } : {}),
      protected: false,
      remove: true,
      extra: {},
    },
    lab.clock.now(),
  );
  if (task === "OK") return { code: 0, stdout: "", stderr: "" };
  let sent = 0;
  for (;;) {
    settle(state, lab.clock.now());
    while (sent < task.lines.length) ch.write(`${task.lines[sent++]}\n`);
    if (task.endMs !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const st = task.exitstatus ?? "unexpected status";
  return { code: st === "OK" || /^WARNINGS: \d+$/.test(st) ? 0 : 1, stdout: "", stderr: "" };
}
