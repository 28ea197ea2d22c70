import type { SshConfig } from "../config/load.js";
import type { Archive } from "../evidence.js";
import type { Logger } from "../log.js";
import { sshExec, sshTargetFor } from "../sources/ssh/client.js";
import type { VerificationRecord } from "../state/store.js";
import { pathCommand, verifyCommand } from "./verify-commands.js";

/**
 * Checks archive integrity on the node that holds it, over SSH: the path from `pvesm path`, then
 * the decompressor's test and a full read (vma verify / tar listing). One check at a time per node,
 * so verification never competes with itself for a node's disks.
 */
export class Verifier {
  private readonly busy = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly ssh: SshConfig,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  isBusy(node: string): boolean {
    return this.busy.has(node);
  }

  async verify(archive: Archive, node: string): Promise<VerificationRecord> {
    const base = { source: this.source, vmid: archive.vmid, volid: archive.volid, method: "ssh" as const };
    if (this.busy.has(node)) throw new Error(`a verification is already running on node '${node}'`);
    this.busy.add(node);
    try {
      const target = sshTargetFor(this.ssh, node);
      const where = await sshExec(target, pathCommand(archive.volid));
      if (where.code !== 0)
        return {
          ...base,
          timeMs: this.now(),
          ok: false,
          reason: `pvesm path failed: ${lastLine(where.stderr) || `exit ${where.code}`}`,
        };
      const file = where.stdout.trim().split("\n").pop()!;
      const cmd = verifyCommand(archive.format, file);
      if (!cmd)
        return {
          ...base,
          timeMs: this.now(),
          ok: false,
          reason: `format ${archive.format} cannot be verified over SSH`,
        };
      const started = this.now();
      const res = await sshExec(target, cmd);
      const rec: VerificationRecord =
        res.code === 0
          ? { ...base, timeMs: this.now(), ok: true }
          : { ...base, timeMs: this.now(), ok: false, reason: lastLine(res.stderr) || `exit code ${res.code}` };
      this.log.info(
        { volid: archive.volid, ok: rec.ok, ms: this.now() - started, ...(rec.reason ? { reason: rec.reason } : {}) },
        "archive verified",
      );
      return rec;
    } finally {
      this.busy.delete(node);
    }
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop()?.trim() ?? "";
}
