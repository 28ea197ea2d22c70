import { z } from "zod";
import type { ProxmoxSourceConfig } from "../config/load.js";
import type { Archive, GuestInfo } from "../evidence.js";
import type { Logger } from "../log.js";
import { PveError, type PveHttp } from "../sources/pve/http.js";
import { resourcesSchema, taskStatusSchema, vzdumpResultSchema } from "../sources/pve/schemas.js";
import type { RestoreRecord } from "../state/store.js";

const upidSchema = vzdumpResultSchema;
const anyConfig = z.record(z.string(), z.unknown());

export interface RestoreTestHooks {
  /** Called once the restore task started, so a restart can clean up after a kill. */
  started(upid: string, node: string): void;
}

/**
 * A restore test: the newest archive is restored to a scratch VMID on a scratch storage (the API
 * equivalent of `qmrestore --unique` / `pct restore --unique`), checked, and destroyed. It never
 * touches the original guest, refuses when the scratch VMID is taken, and always cleans up what
 * it created — also after a failure.
 */
export class RestoreTester {
  private running = false;

  constructor(
    private readonly http: PveHttp,
    private readonly cfg: NonNullable<ProxmoxSourceConfig["restoreTest"]>,
    private readonly source: string,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly pollMs = 1000,
  ) {}

  get busy(): boolean {
    return this.running;
  }

  /** Refusal reason, or undefined when the test may start. */
  async precheck(guest: GuestInfo): Promise<string | undefined> {
    if (this.running) return "a restore test is already running";
    if (guest.vmid === this.cfg.scratchVmid)
      return `the scratch VMID ${this.cfg.scratchVmid} is this guest's own VMID; refusing`;
    const taken = (await this.http.get("/cluster/resources", resourcesSchema, { type: "vm" })).find(
      (r) => r.vmid === this.cfg.scratchVmid,
    );
    if (taken)
      return `scratch VMID ${this.cfg.scratchVmid} is in use (${taken.name ?? taken.id} on ${taken.node}); refusing to touch it`;
    return undefined;
  }

  async run(guest: GuestInfo, archive: Archive, hooks?: RestoreTestHooks): Promise<RestoreRecord> {
    if (this.running) throw new Error("a restore test is already running");
    this.running = true;
    const t0 = this.now();
    const node = this.cfg.node ?? guest.node;
    const kind = guest.type;
    const scratch = this.cfg.scratchVmid;
    const base = { source: this.source, vmid: guest.vmid, volid: archive.volid, scratchVmid: scratch };
    let created = false;
    let result: { ok: boolean; reason?: string };
    try {
      const body: Record<string, string | number> =
        kind === "qemu"
          ? { vmid: scratch, archive: archive.volid, storage: this.cfg.storage, unique: 1 }
          : { vmid: scratch, ostemplate: archive.volid, restore: 1, storage: this.cfg.storage, unique: 1 };
      const upid = await this.http.post(`/nodes/${encodeURIComponent(node)}/${kind}`, upidSchema, body);
      hooks?.started(upid, node);
      const exit = await this.waitTask(node, upid);
      created = await this.exists(node, kind, scratch);
      if (!/^ok$/i.test(exit) && !/^warnings: \d+$/i.test(exit))
        result = { ok: false, reason: `restore task failed: ${exit}` };
      else if (!created)
        result = { ok: false, reason: `restore task ended ${exit} but guest ${scratch} does not exist` };
      else result = { ok: true };
    } catch (e) {
      result = { ok: false, reason: (e as Error).message };
      created = await this.exists(node, kind, scratch).catch(() => false);
    }
    let cleanedUp = true;
    if (created) {
      try {
        await this.destroy(node, kind, scratch);
      } catch (e) {
        cleanedUp = false;
        result = {
          ok: false,
          reason: `${result.reason ? `${result.reason}; ` : ""}cleanup of scratch guest ${scratch} failed: ${(e as Error).message}`,
        };
      }
    }
    this.running = false;
    const rec: RestoreRecord = {
      ...base,
      timeMs: this.now(),
      durationMs: this.now() - t0,
      ok: result.ok,
      cleanedUp,
      ...(result.reason ? { reason: result.reason } : {}),
    };
    this.log.info(
      {
        vmid: guest.vmid,
        volid: archive.volid,
        ok: rec.ok,
        ms: rec.durationMs,
        ...(rec.reason ? { reason: rec.reason } : {}),
      },
      "restore test finished",
    );
    return rec;
  }

  /** After a restart mid-test: remove the scratch guest if the interrupted test left it. */
  async cleanupAfterRestart(node: string, kind: "qemu" | "lxc"): Promise<boolean> {
    if (!(await this.exists(node, kind, this.cfg.scratchVmid).catch(() => false))) return true;
    await this.destroy(node, kind, this.cfg.scratchVmid);
    return true;
  }

  private async exists(node: string, kind: string, vmid: number): Promise<boolean> {
    try {
      await this.http.get(`/nodes/${encodeURIComponent(node)}/${kind}/${vmid}/config`, anyConfig);
      return true;
    } catch (e) {
      if (e instanceof PveError && e.kind === "http" && /does not exist/.test(e.message)) return false;
      throw e;
    }
  }

  private async destroy(node: string, kind: string, vmid: number): Promise<void> {
    const upid = await this.http.delete(
      `/nodes/${encodeURIComponent(node)}/${kind}/${vmid}?purge=1&destroy-unreferenced-disks=1`,
      upidSchema,
    );
    const exit = await this.waitTask(node, upid);
    if (!/^ok$/i.test(exit)) throw new Error(`destroy task ended: ${exit}`);
  }

  private async waitTask(node: string, upid: string): Promise<string> {
    const deadline = this.now() + this.cfg.timeoutMs;
    for (;;) {
      const st = await this.http.get(
        `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`,
        taskStatusSchema,
      );
      if (st.status === "stopped") return st.exitstatus ?? "unexpected status";
      if (this.now() > deadline) throw new Error(`task ${upid} did not finish within ${this.cfg.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}
