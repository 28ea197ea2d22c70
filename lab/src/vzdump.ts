/**
 * vzdump workers: which guests a run selects, and each guest's backup from start to finish (log
 * lines, archive, notes, protection, pruning), one guest after the other. One vzdump per node at a
 * time, like /var/run/vzdump.lock; the scheduler (tasks.ts) decides when each step happens.
 */
import { randomUUID } from "node:crypto";
import { archiveFormat, archiveNames, defaultArchiveSize } from "./archives.js";
import { formatPruneOptions, pruneMark } from "./prune.js";
import type { LabState } from "./state.js";
import { hms, logStamp } from "./timezone.js";
import {
  catchUpProgress,
  commandLine,
  formatSize,
  progressLine,
  QEMU_DISK_BYTES,
  rate,
  renderBytes,
} from "./vzdump-log.js";
import {
  newTask,
  type CurrentGuest,
  type ForcedOutcome,
  type GuestRun,
  type TaskState,
  type VzdumpOptions,
} from "./workers.js";

/** Guests a vzdump on `node` would back up, and the selected ones living elsewhere. */
function selectGuests(
  state: LabState,
  node: string,
  o: Pick<VzdumpOptions, "vmids" | "all" | "exclude" | "pool">,
): { local: GuestRun[]; external: number[] } {
  const local: GuestRun[] = [];
  const external: number[] = [];
  const consider = (vmid: number): void => {
    const g = state.guests.get(vmid);
    if (g && g.node === node) local.push({ vmid, type: g.type, name: g.name });
    else if (g) external.push(vmid);
  };
  if (o.all) {
    for (const g of [...state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
      if (g.node === node && !o.exclude.includes(g.vmid)) local.push({ vmid: g.vmid, type: g.type, name: g.name });
    }
  } else if (o.pool) {
    for (const g of [...state.guests.values()].sort((a, b) => a.vmid - b.vmid)) if (g.pool === o.pool) consider(g.vmid);
  } else {
    for (const vmid of [...o.vmids].sort((a, b) => a - b)) {
      // Deleted guests are included "and visibly fail later" (PVE API2/VZDump.pm).
      if (state.guests.has(vmid)) consider(vmid);
      else local.push({ vmid, type: "qemu", name: `VM ${vmid}` });
    }
  }
  return { local, external };
}

/**
 * Start a vzdump worker on `node` at `atMs`. Returns "OK" (no task) when nothing selected
 * lives on the node and `all` is not set — exactly what POST /nodes/{n}/vzdump returns.
 */
export function startVzdump(
  state: LabState,
  node: string,
  authid: string,
  opts: VzdumpOptions,
  atMs: number,
  forced: Map<number, ForcedOutcome> = new Map(),
): TaskState | "OK" {
  const { local, external } = selectGuests(state, node, opts);
  if (!opts.all && local.length === 0) return "OK";
  const id = local.length === 1 && local[0] ? String(local[0].vmid) : "";
  const busy = state.tasks.some((t) => t.vz && t.node === node && t.endMs === null);
  const task = newTask(state, node, "vzdump", id, authid, atMs);
  task.vz = {
    opts,
    guests: local,
    external,
    forced,
    phase: "waiting",
    waited: busy,
    index: 0,
    current: null,
    errors: 0,
    warnings: 0,
  };
  if (busy) task.lines.push("INFO: trying to get global lock - waiting...");
  return task;
}

function expandNotes(template: string, state: LabState, node: string, g: GuestRun): string {
  return template
    .replace(/\{\{cluster\}\}/g, state.cluster)
    .replace(/\{\{guestname\}\}/g, g.name)
    .replace(/\{\{node\}\}/g, node)
    .replace(/\{\{vmid\}\}/g, String(g.vmid))
    .replace(/\\n/g, " ")
    .replace(/\\\\/g, "\\");
}

function beginGuest(state: LabState, task: TaskState, at: number): void {
  const vz = task.vz!;
  const g = vz.guests[vz.index]!;
  const tz = state.tz(task.node);
  const storage = state.storages.get(vz.opts.storage)!;
  const live = state.guests.get(g.vmid);
  const forced = vz.forced.get(g.vmid) ?? {};
  let fail = forced.fail;
  if (fail === undefined && (!live || live.node !== task.node)) {
    fail = `Configuration file 'nodes/${task.node}/${g.type === "qemu" ? "qemu-server" : "lxc"}/${g.vmid}.conf' does not exist`;
  }
  if (fail === undefined && !storage.active) {
    fail = `unable to activate storage '${storage.id}' - directory is expected to be a mount point but is not mounted: '${storage.path}'`;
  }
  if (fail === undefined && live?.failNext !== undefined) {
    fail = live.failNext;
    delete live.failNext;
  }
  if (fail === undefined) fail = live?.failReason;
  const warn = forced.warn ?? live?.warn;
  const seconds = forced.seconds ?? live?.backupSeconds ?? state.defaultBackupSeconds;
  // Scenario history (before lab start) keeps real durations; live runs honour taskSpeed.
  let durationMs = (seconds * 1000) / (at < state.startedMs ? 1 : state.taskSpeed);
  if (fail !== undefined) durationMs = Math.max(durationMs / 4, 1);
  const names = archiveNames(storage, g.type, g.vmid, at, archiveFormat(g.type, vz.opts.compress), tz);
  const running = (live?.status ?? "stopped") === "running";
  const mode = running ? vz.opts.mode : "stop";
  const lines = [
    `INFO: Starting Backup of VM ${g.vmid} (${g.type})`,
    `INFO: Backup started at ${logStamp(at, tz)}`,
    `INFO: status = ${live?.status ?? "stopped"}`,
  ];
  if (g.type === "qemu") {
    lines.push(`INFO: VM Name: ${g.name}`, `INFO: include disk 'scsi0' 'local-lvm:vm-${g.vmid}-disk-0' 32G`);
  } else {
    lines.push(`INFO: CT Name: ${g.name}`, `INFO: including mount point rootfs ('/') in backup`);
  }
  lines.push(`INFO: backup mode: ${mode}`, "INFO: ionice priority: 7");
  if (storage.type === "pbs") lines.push(`INFO: creating Proxmox Backup Server archive '${names.file}'`);
  else lines.push(`INFO: creating vzdump archive '${storage.path}/dump/${names.file}'`);
  // A qemu backup that gets going reports its progress (QemuServer's "INFO:  40% (…)" status lines); tar (containers) prints none.
  const progresses = g.type === "qemu" && fail === undefined;
  if (progresses) lines.push(`INFO: started backup task '${randomUUID()}'`);
  const current: CurrentGuest = {
    guest: g,
    startMs: at,
    endMs: at + durationMs,
    file: names.file,
    volid: names.volid,
    lines: [...lines],
    ...(fail !== undefined ? { fail } : {}),
    ...(warn !== undefined ? { warn } : {}),
    ...(progresses ? { nextTenth: 1 } : {}),
  };
  vz.current = current;
  task.lines.push(...lines);
}

function finishGuest(state: LabState, task: TaskState, at: number): void {
  const vz = task.vz!;
  const cur = vz.current!;
  const g = cur.guest;
  const tz = state.tz(task.node);
  const storage = state.storages.get(vz.opts.storage)!;
  const lines: string[] = [];
  if (cur.fail !== undefined) {
    lines.push(`ERROR: Backup of VM ${g.vmid} failed - ${cur.fail}`, `INFO: Failed at ${logStamp(at, tz)}`);
    vz.errors++;
  } else {
    if (cur.nextTenth !== undefined) {
      // The last status line (100 %), then the loop's summary: "transferred 32.00 GiB in 60 seconds (546.1 MiB/s)".
      catchUpProgress(task, cur, at);
      const span = at - cur.startMs;
      const secs = Math.round(span / 1000);
      lines.push(
        progressLine(100, span, span / 10),
        secs
          ? `INFO: transferred ${renderBytes(QEMU_DISK_BYTES)} in ${secs} seconds (${rate(QEMU_DISK_BYTES, secs)})`
          : `INFO: transferred ${renderBytes(QEMU_DISK_BYTES)} in <1 seconds`,
      );
    }
    if (cur.warn !== undefined) {
      lines.push(`WARN: ${cur.warn}`);
      vz.warnings++;
    }
    const live = state.guests.get(g.vmid);
    const size = live?.archiveSize ?? defaultArchiveSize(g);
    const notes =
      vz.opts.notesTemplate !== undefined ? expandNotes(vz.opts.notesTemplate, state, task.node, g) : undefined;
    if (storage.type === "pbs") lines.push(`INFO: backup was done incrementally, reused 30.00 GiB (93%)`);
    else lines.push(`INFO: archive file size: ${formatSize(size)}`);
    if (notes !== undefined) lines.push("INFO: adding notes to backup");
    if (vz.opts.protected) lines.push("INFO: marking backup as protected");
    const logLines = [...cur.lines, ...lines].map((l) => `${logStamp(cur.startMs, tz)} ${l}`);
    state.addArchive({
      storage: storage.id,
      node: task.node,
      vmid: g.vmid,
      subtype: g.type,
      startMs: cur.startMs,
      format: archiveFormat(g.type, vz.opts.compress),
      size,
      protected: vz.opts.protected,
      log: logLines,
      ...(notes !== undefined ? { notes } : {}),
    });
    const prune =
      vz.opts.pruneBackups ??
      (storage.pruneBackups
        ? Object.fromEntries(Object.entries(storage.pruneBackups).map(([k, v]) => [k, Number(v)]))
        : undefined);
    if (vz.opts.remove && prune && !prune["keep-all"] && Object.keys(prune).length) {
      lines.push(`INFO: prune older backups with retention: ${formatPruneOptions(prune)}`);
      const group = state.archivesOfGuestOn(storage.id, task.node, g.vmid).filter((a) => a.subtype === g.type);
      const marked = pruneMark(
        group.map((a) => ({ a, ctime: a.ctime, protected: a.protected })),
        prune,
        tz,
      );
      const removed = marked.filter((e) => e.mark === "remove").map((e) => e.a);
      for (const a of removed) lines.push(`INFO: removing backup '${a.volid}'`);
      if (removed.length) {
        const gone = new Set(removed);
        state.archives = state.archives.filter((a) => !gone.has(a));
      }
      lines.push(`INFO: pruned ${removed.length} backup(s) not covered by keep-retention policy`);
    }
    lines.push(
      `INFO: Finished Backup of VM ${g.vmid} (${hms((at - cur.startMs) / 1000)})`,
      `INFO: Backup finished at ${logStamp(at, tz)}`,
    );
  }
  task.lines.push(...lines);
  vz.current = null;
  vz.index++;
}

function finishTask(state: LabState, task: TaskState, at: number, fatal?: string): void {
  const vz = task.vz!;
  if (fatal !== undefined) {
    task.lines.push(`ERROR: Backup job failed - ${fatal}`, `TASK ERROR: ${fatal}`);
    task.exitstatus = fatal;
  } else if (vz.errors > 0) {
    task.lines.push(
      "INFO: Backup job finished with errors",
      "INFO: notified via target `mail-to-root`",
      "TASK ERROR: job errors",
    );
    task.exitstatus = "job errors";
  } else {
    task.lines.push("INFO: Backup job finished successfully", "INFO: notified via target `mail-to-root`");
    task.lines.push(vz.warnings ? `TASK WARNINGS: ${vz.warnings}` : "TASK OK");
    task.exitstatus = vz.warnings ? `WARNINGS: ${vz.warnings}` : "OK";
  }
  vz.phase = "done";
  task.endMs = at;
  const node = state.nodes.get(task.node);
  if (node) node.lockFreeMs = Math.max(node.lockFreeMs, at);
}

/** Advance one worker by one event at time `at`. */
export function stepTask(state: LabState, task: TaskState, at: number): void {
  const vz = task.vz!;
  if (vz.phase === "waiting") {
    vz.phase = "running";
    if (vz.waited) task.lines.push("INFO: got global lock");
    task.lines.push(`INFO: starting new backup job: ${commandLine(vz.opts)}`);
    if (vz.external.length) task.lines.push(`INFO: skip external VMs: ${vz.external.join(", ")}`);
  } else if (vz.current) {
    finishGuest(state, task, at);
  }
  if (vz.index < vz.guests.length) beginGuest(state, task, at);
  else finishTask(state, task, at);
}

/** SIGTERM from DELETE /nodes/{n}/tasks/{upid}. */
export function stopTask(state: LabState, task: TaskState, at: number): void {
  if (task.endMs !== null) return;
  if (!task.vz) {
    task.lines.push("TASK ERROR: interrupted by signal");
    task.exitstatus = "interrupted by signal";
    task.endMs = at;
    return;
  }
  const cur = task.vz.current;
  if (cur) {
    task.lines.push(
      `ERROR: Backup of VM ${cur.guest.vmid} failed - interrupted by signal`,
      `INFO: Failed at ${logStamp(at, state.tz(task.node))}`,
    );
    task.vz.current = null;
  }
  finishTask(state, task, at, "interrupted by signal");
}
