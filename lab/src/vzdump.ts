/**
 * vzdump workers: which guests a run selects, and each guest's backup from start to finish (log
 * lines, archive, notes, protection, pruning), one guest after the other. One vzdump per node at a
 * time, like /var/run/vzdump.lock; the scheduler (tasks.ts) decides when each step happens.
 */
import { randomUUID } from "node:crypto";
import { archiveFormat, archiveNames, defaultArchiveSize } from "./archives.js";
import { backupVolumes } from "./guest-config.js";
import { formatPruneOptions, pruneMark } from "./prune.js";
import type { LabState } from "./state.js";
import { hms, logStamp } from "./timezone.js";
import {
  catchUpProgress,
  commandLine,
  formatSize,
  pbsClientLines,
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
  type RunScript,
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
  script: RunScript = {},
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
    script,
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

/**
 * vzdump's own lines start with INFO:/WARN:/ERROR: (PVE::VZDump::Plugin debugmsg); output of
 * the commands it runs without a logfunc (rbd) does not, and only reaches the task log.
 */
function isPrefixed(line: string): boolean {
  return /^(INFO|WARN|ERROR|CMD): /.test(line);
}

/**
 * pve-manager PVE/VZDump.pm exec_backup_task: when the retention (job's, else the storage's)
 * keeps a limited number of backups and old ones are not removed (`remove 0`), a guest that
 * already has that many unprotected backups on the storage fails before its backup starts.
 */
function backupLimitError(state: LabState, task: TaskState, g: GuestRun): string | undefined {
  const vz = task.vz!;
  if (vz.opts.remove) return undefined;
  const storage = state.storages.get(vz.opts.storage);
  if (!storage) return undefined;
  const prune =
    vz.opts.pruneBackups ??
    (storage.pruneBackups
      ? Object.fromEntries(Object.entries(storage.pruneBackups).map(([k, v]) => [k, Number(v)]))
      : undefined);
  if (!prune || prune["keep-all"]) return undefined;
  const limit = Object.values(prune).reduce((a, b) => a + b, 0);
  if (!limit) return undefined;
  const count = state
    .archivesOfGuestOn(storage.id, task.node, g.vmid)
    .filter((a) => a.subtype === g.type && !a.protected).length;
  if (count < limit) return undefined;
  return `There is a max backup limit of ${limit} enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backups.`;
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
  // A hung backup (scenario `hang`, LabControl.hangNextBackup): it gets going, then nothing more —
  // no progress line, no end — until the task is stopped (stopTask). It keeps the node's lock.
  let hang = fail === undefined && forced.hang === true;
  if (fail === undefined && live?.hangNext) {
    hang = true;
    delete live.hangNext;
  }
  // The max-backups check runs before the guest's first log line (pve-manager PVE/VZDump.pm
  // exec_backup_task, before "Starting Backup of VM"): such a guest's part of the log is only
  // "ERROR: Backup of VM n failed - There is a max backup limit …" and "INFO: Failed at …".
  const limitError = fail === undefined ? backupLimitError(state, task, g) : undefined;
  if (limitError !== undefined) fail = limitError;
  const warn = forced.warn ?? live?.warn;
  const seconds = forced.seconds ?? live?.backupSeconds ?? state.defaultBackupSeconds;
  // Scenario history (before lab start) keeps real durations; live runs honour taskSpeed.
  let durationMs = (seconds * 1000) / (at < state.startedMs ? 1 : state.taskSpeed);
  if (fail !== undefined) durationMs = Math.max(durationMs / 4, 1);
  if (limitError !== undefined) durationMs = 1;
  if (hang && limitError === undefined) durationMs = Number.POSITIVE_INFINITY;
  const names = archiveNames(storage, g.type, g.vmid, at, archiveFormat(g.type, vz.opts.compress), tz);
  const running = (live?.status ?? "stopped") === "running";
  const mode = running ? vz.opts.mode : "stop";
  const disk = live?.disk ?? "local-lvm";
  const lines: string[] = [
    `INFO: Starting Backup of VM ${g.vmid} (${g.type})`,
    `INFO: Backup started at ${logStamp(at, tz)}`,
    `INFO: status = ${live?.status ?? "stopped"}`,
  ];
  if (g.type === "qemu") {
    lines.push(`INFO: VM Name: ${g.name}`);
    if (live?.disks) {
      // pve-manager PVE/VZDump/QemuServer.pm prepare: one line per volume get_backup_volumes returns,
      // "include disk '<key>' '<volid>' <size>" or "exclude disk '<key>' '<volid>' (<reason>)".
      for (const d of backupVolumes(state, live)) {
        const size = /(?:^|,)size=([^,]+)/.exec(d.value)?.[1] ?? "";
        lines.push(
          d.included
            ? `INFO: include disk '${d.key}' '${d.volume}'${size ? ` ${size}` : ""}`
            : `INFO: exclude disk '${d.key}' '${d.volume}' (${d.reason})`,
        );
      }
    } else lines.push(`INFO: include disk 'scsi0' '${disk}:vm-${g.vmid}-disk-0' 32G`);
  } else {
    lines.push(`INFO: CT Name: ${g.name}`, `INFO: including mount point rootfs ('/') in backup`);
  }
  lines.push(`INFO: backup mode: ${mode}`, "INFO: ionice priority: 7");
  // A container on Ceph RBD in snapshot mode: pve-container VZDump/LXC.pm `snapshot` logs "create
  // storage snapshot 'vzdump'", then mapping the snapshot runs `rbd map`, whose stdout reaches the
  // task log unprefixed (pve-storage RBDPlugin.pm map_volume → run_rbd_command without outfunc;
  // pve-common PVE/Tools.pm run_command prints such output as is). It is not in the guest's .log.
  const rbdSnapshot = g.type === "lxc" && mode === "snapshot" && state.storages.get(disk)?.type === "rbd";
  if (rbdSnapshot) lines.push("INFO: create storage snapshot 'vzdump'", `/dev/rbd${g.vmid % 32}`);
  if (storage.type === "pbs") lines.push(`INFO: creating Proxmox Backup Server archive '${names.file}'`);
  else lines.push(`INFO: creating vzdump archive '${storage.path}/dump/${names.file}'`);
  // A qemu backup that gets going reports its progress (QemuServer's "INFO:  40% (…)" status lines); tar (containers) prints none.
  if (g.type === "qemu" && fail === undefined) lines.push(`INFO: started backup task '${randomUUID()}'`);
  const progresses = g.type === "qemu" && fail === undefined && !hang;
  if (limitError !== undefined) lines.length = 0;
  const current: CurrentGuest = {
    guest: g,
    startMs: at,
    endMs: at + durationMs,
    file: names.file,
    volid: names.volid,
    lines: lines.filter(isPrefixed),
    ...(fail !== undefined ? { fail } : {}),
    ...(warn !== undefined ? { warn } : {}),
    ...(progresses ? { nextTenth: 1 } : {}),
    ...(rbdSnapshot && limitError === undefined ? { rbdSnapshot: true } : {}),
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
  // The plugin's cleanup runs before the guest's result line, also after a failure (VZDump.pm
  // exec_backup_task); LXC.pm `cleanup` logs "cleanup temporary 'vzdump' snapshot" and `rbd snap
  // rm` writes its progress to stderr, which RBDPlugin.pm's run_rbd_command prints unprefixed.
  const cleanup = cur.rbdSnapshot
    ? ["INFO: cleanup temporary 'vzdump' snapshot", "Removing snap: 100% complete...done."]
    : [];
  if (cur.fail !== undefined) {
    lines.push(...cleanup, `ERROR: Backup of VM ${g.vmid} failed - ${cur.fail}`, `INFO: Failed at ${logStamp(at, tz)}`);
    vz.errors++;
  } else {
    const live = state.guests.get(g.vmid);
    const size = live?.archiveSize ?? defaultArchiveSize(g);
    if (cur.nextTenth !== undefined) {
      // The last status line (100 %), then the loop's summary (qemu-server PVE/VZDump/QemuServer.pm
      // query_backup_status_loop): on PBS "backup was done incrementally, reused …" first, then
      // "transferred 32.00 GiB in 60 seconds (546.1 MiB/s)".
      catchUpProgress(task, cur, at);
      const span = at - cur.startMs;
      const secs = Math.round(span / 1000);
      lines.push(progressLine(100, span, span / 10));
      if (storage.type === "pbs") lines.push(`INFO: backup was done incrementally, reused 30.00 GiB (93%)`);
      lines.push(
        secs
          ? `INFO: transferred ${renderBytes(QEMU_DISK_BYTES)} in ${secs} seconds (${rate(QEMU_DISK_BYTES, secs)})`
          : `INFO: transferred ${renderBytes(QEMU_DISK_BYTES)} in <1 seconds`,
      );
    }
    if (cur.warn !== undefined) {
      lines.push(`WARN: ${cur.warn}`);
      vz.warnings++;
    }
    if (storage.type === "pbs" && g.type === "lxc") {
      const total = Math.max(size * 4, 1_073_741_824);
      lines.push(
        ...pbsClientLines({
          node: task.node,
          snapshot: cur.file,
          totalBytes: total,
          dirtyBytes: Math.floor(total * 0.15),
          seconds: (at - cur.startMs) / 1000,
          ...(vz.script.pbsClient !== undefined ? { clientVersion: vz.script.pbsClient } : {}),
        }),
      );
    }
    const notes =
      vz.opts.notesTemplate !== undefined ? expandNotes(vz.opts.notesTemplate, state, task.node, g) : undefined;
    if (storage.type !== "pbs") lines.push(`INFO: archive file size: ${formatSize(size)}`);
    if (notes !== undefined) lines.push("INFO: adding notes to backup");
    if (vz.opts.protected) lines.push("INFO: marking backup as protected");
    const logLines = [...cur.lines, ...lines.filter(isPrefixed)].map((l) => `${logStamp(cur.startMs, tz)} ${l}`);
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
    lines.push(...cleanup);
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
  // pve-common PVE/RESTEnvironment.pm fork_worker ends the log with "TASK OK", "TASK WARNINGS: n"
  // or "TASK ERROR: <the error, newlines made spaces>"; some real logs have an empty line before it.
  const end = (line: string): void => {
    if (vz.script.blankLineBeforeEnd) task.lines.push("");
    task.lines.push(line);
  };
  if (fatal !== undefined) {
    task.lines.push(`ERROR: Backup job failed - ${fatal}`);
    end(`TASK ERROR: ${fatal}`);
    task.exitstatus = fatal;
  } else if (vz.errors > 0) {
    task.lines.push("INFO: Backup job finished with errors", "INFO: notified via target `mail-to-root`");
    end("TASK ERROR: job errors");
    task.exitstatus = "job errors";
  } else {
    task.lines.push("INFO: Backup job finished successfully", "INFO: notified via target `mail-to-root`");
    end(vz.warnings ? `TASK WARNINGS: ${vz.warnings}` : "TASK OK");
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
    // pve-manager PVE/VZDump.pm exec_backup: the selected guests living on other nodes, sorted.
    if (vz.external.length)
      task.lines.push(`INFO: skip external VMs: ${[...vz.external].sort((a, b) => a - b).join(", ")}`);
    // An error outside any guest's backup (a job-start hook script, the worker's setup) ends the
    // job at once: "ERROR: Backup job failed - <err>" (exec_backup), then "TASK ERROR: <err>".
    if (vz.script.jobError !== undefined) {
      finishTask(state, task, at, vz.script.jobError);
      return;
    }
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
