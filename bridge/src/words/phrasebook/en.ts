import type { Phrasebook } from "./types.js";

/** English: the source phrasebook. Every key here must exist in every other language. */
export const en: Phrasebook = {
  weekdays: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
  months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
  time: "{weekday} {day} {month}, {hour}:{minute}",
  and: "and",
  decimalSeparator: ".",
  units: {
    second: ["second", "seconds"],
    minute: ["minute", "minutes"],
    hour: ["hour", "hours"],
    day: ["day", "days"],
  },
  retention: {
    "keep-last": "# newest",
    "keep-hourly": "# hourly",
    "keep-daily": "# daily",
    "keep-weekly": "# weekly",
    "keep-monthly": "# monthly",
    "keep-yearly": "# yearly",
    backups: ["backup", "backups"],
    all: "every backup",
    none: "no backups",
  },
  statuses: { ok: "OK", running: "Running", failed: "Failed", missing: "Missing", stale: "Stale", unknown: "Unknown" },
  phrases: {
    text: "{text}",

    "status.unknown.unreachable": "Proxmox source {source} can't be reached[: {error}].",
    "status.unknown.unreadable": "Proxmox source {source} answered, but the answer could not be read[: {error}].",
    "status.unknown.hidden": "{why|phrases:semicolon}",
    "status.running": "A backup of this guest is running.",
    "status.failed":
      "The last backup attempt, on {at|time}, failed[: {error}].[ The newest good backup is from {newest|time}.]",
    "status.failed.none": "The last backup attempt, on {at|time}, failed[: {error}]. No good backup exists.",
    "status.missing": "No backup of this guest exists on any storage.",
    "status.missing.unverified": "No good backup: {count|plural:the only archive:all # archives} failed verification.",
    "status.stale": "The newest backup is from {newest|time}, older than tier {tier} allows ({max|duration}).",
    "status.ok":
      "The newest backup is from {newest|time}.[ {fallbackCount|plural:Backup job:Backup jobs} {fallback|list} {fallbackCount|plural:stays:stay} disabled as the manual fallback.]",
    "status.ok.until":
      "The newest backup is from {newest|time}; without a newer one it turns stale on {until|time} (tier {tier} allows {max|duration}).[ {fallbackCount|plural:Backup job:Backup jobs} {fallback|list} {fallbackCount|plural:stays:stay} disabled as the manual fallback.]",
    "status.unknown.nas":
      "The Synology NAS {nas} can't be read now, and its Hyper Backup task “{task}” holds this guest's copies.",
    "status.missing.hyperbackup":
      "No backup of this guest exists: {tasks|phrases} {count|plural:copies:copy} its disks but {count|plural:has:have} never completed.",
    "status.stale.hyperbackup":
      "Hyper Backup on {nas} last copied this guest's disks on {newest|time}, longer ago than tier {tier} allows ({max|duration}).",
    "status.ok.hyperbackup":
      "{tasks|phrases} copied this guest's disks on {newest|time} (a file copy, not a point-in-time image).[ {fallbackCount|plural:Backup job:Backup jobs} {fallback|list} {fallbackCount|plural:stays:stay} disabled as the manual fallback.]",
    "status.ok.hyperbackup.until":
      "{tasks|phrases} copied this guest's disks on {newest|time} (a file copy, not a point-in-time image); without a newer copy it turns stale on {until|time} (tier {tier} allows {max|duration}).[ {fallbackCount|plural:Backup job:Backup jobs} {fallback|list} {fallbackCount|plural:stays:stay} disabled as the manual fallback.]",

    untiered:
      "No tier is assigned: give it one under guests in the config, or tag it backup-p0, backup-p1, backup-p2 or nobackup in Proxmox.",
    excluded: "Deliberately not backed up (tier {tier}).",
    unprotected: "No scheduled backup job selects this guest.",
    "unprotected.disabled":
      "{count|plural:Backup job:Backup jobs} {jobs|list} {count|plural:selects:select} this guest but {count|plural:is:are} disabled.",
    "unprotected.too_rare":
      "Job {job} runs only every {every|duration} ({schedule}); tier {tier} needs a backup at least every {max|duration}.",
    "unprotected.hyperbackup_unscheduled":
      "{why|phrases} Hyper Backup task “{task}” on {nas} copies its disks but has no active schedule.",
    "unprotected.hyperbackup_rare":
      "{why|phrases} Hyper Backup task “{task}” on {nas} copies its disks but runs only every {every|duration}; tier {tier} needs a backup at least every {max|duration}.",
    "unprotected.hyperbackup_not_in_task":
      "{why|phrases} Disk {disk} lies on storage {storage} on {nas}, but no Hyper Backup task there copies it[: add the folder {folder} to a task].",
    "unprotected.hyperbackup_missing":
      "{why|phrases} Disk {disk} lies on storage {storage}, but the folder a Hyper Backup task on {nas} copies it from is missing there[ ({folder})].",
    "unprotected.hyperbackup_excluded":
      "{why|phrases} Disk {disk} lies on storage {storage}, but the Hyper Backup task on {nas} that holds its folder excludes it[ ({folder})].",
    "unprotected.hyperbackup_elsewhere":
      "{why|phrases} Disk {disk} lies on storage {storage}, which no watched Hyper Backup task copies, so this guest is only partly covered.",
    "unprotected.hyperbackup_passthrough":
      "{why|phrases} Disk {disk} ({volume}) is not on a Proxmox storage, so no Hyper Backup task can copy it.",
    retention_short:
      "Job {job} keeps {keeps|retention}; tier {tier} wants {wants|retention}, so {missing|retention} would be lost.",
    "retention_short.storage":
      "Job {job} has no retention of its own; storage {storage} keeps {keeps|retention}, but tier {tier} wants {wants|retention}, so {missing|retention} would be lost.",
    verify_failed: "Archive {archive} failed verification on {at|time}[: {error}].",
    verify_overdue:
      "The last successful verification was on {last|time}; tier {tier} wants one every {every|duration}.",
    "verify_overdue.never":
      "No archive of this guest was ever verified; tier {tier} wants a verification every {every|duration}.",
    no_offsite: "Tier {tier} wants an off-site copy of a backup no older than {max|duration}: {why|phrases:semicolon}.",
    "offsite.never": "{target|phrases} has never succeeded",
    "offsite.too_old":
      "{target|phrases} last succeeded on {at|time}, and the archive it holds (from {archive|time}) is older than the tier allows",
    "offsite.before_newest":
      "{target|phrases} last succeeded on {at|time}, before the newest archive on storage {storage} (from {archive|time})",
    "offsite.storage_too_old":
      "the newest archive on off-site storage {storage} (from {archive|time}) is older than the tier allows",
    "offsite.nothing":
      "nothing copies {count|plural:storage:storages} {storages|list} off-site (a Hyper Backup task, a PBS sync job or an off-site PBS would)",
    too_few_copies:
      "Tier {tier} wants {want|plural:# copy:# copies} no older than {max|duration}; {found|plural:only # was found:only # were found:none was found}[: {counted|phrases}].",
    "copy.storage": "the archive of {at|time} on storage {storage}",
    "copy.storage.offsite": "the archive of {at|time} on off-site storage {storage}",
    "copy.target": "{target|phrases}, holding the archive of {at|time}",
    "copy.target.offsite": "{target|phrases} (off-site), holding the archive of {at|time}",
    "copy.file": "{target|phrases}, a file copy of its disks from {at|time}",
    "copy.file.offsite": "{target|phrases} (off-site), a file copy of its disks from {at|time}",
    "offsite.file_too_old": "{target|phrases} last copied its disks on {at|time}, longer ago than the tier allows",
    "offsite.no_offsite_task": "no Hyper Backup task that copies its disks goes off-site",
    "target.hyperbackup": "Hyper Backup task “{task}” on {nas}",
    "target.pbs_sync": "PBS sync job {job} ({from} → {to})",

    "hyperbackup.unknown": "The NAS can't be reached, or its answer could not be read.",
    "hyperbackup.broken": "The task is in state {state}[: {error}][ (code {code})].",
    "hyperbackup.running": "The task is running ({detail}).",
    "hyperbackup.failed": "The last run ended with {result}[: {error}][ (code {code})].",
    "hyperbackup.never": "The task has never completed a backup.",
    "hyperbackup.stale": "The last success was on {last|time}, longer ago than allowed ({max|duration}).",
    "hyperbackup.ok": "The last success was on {last|time}; without a newer one the task turns stale on {until|time}.",
    "datastore.verify_failed": "Verify job[ {job}] failed: {state}.",
    "datastore.sync_failed.push": "Push sync job[ {job}] failed: {state}.",
    "datastore.sync_failed.pull": "Pull sync job[ {job}] failed: {state}.",
    "datastore.gc_failed": "Garbage collection failed: {state}.",
    "fallback.running": "The bridge's own fallback backup is running on node {node}.",
    "fallback.done": "The bridge's own fallback backup finished on {at|time}.",
    "fallback.failed": "The bridge's own fallback backup failed on {at|time}.",
    fallback_failed:
      "The bridge's own fallback backup failed {count|plural:once:# times} today (last on {at|time}); it stopped retrying for today.",
    "fallback.limit":
      "The bridge already ran {count|plural:a fallback backup:# fallback backups} today (the last ended on {at|time}); the next may start tomorrow.",
    "fallback.waiting_for_job": "A fallback backup waits for backup job {job}, due on {at|time}.",
    "fallback.node_busy":
      "A fallback backup is planned; it waits until the fallback backup of {other} on node {node} has ended.",
    "fallback.ask": "A fallback backup is planned from {at|time}[ (window {window})]; it starts once approved.",
    "fallback.planned": "A fallback backup is planned for {at|time}[ (window {window})].",
    "fallback.starting": "A fallback backup starts now.",
    "fallback.retry": "The bridge's own fallback backup failed on {failed|time}; it tries again on {at|time}.",
    "fallback.started": "The bridge started a fallback backup on node {node}: {why|phrases}",
    "approve_fallback.nothing": "No fallback backup of this guest waits for approval.",
    "approve_fallback.not_ask":
      "Tier {tier} does not ask before a fallback backup (its fallback is {action}), so there is nothing to approve.",
    "approve_fallback.approved": "Approved: the fallback backup starts[ on {at|time}].",
    "datastore.snapshots_failed": "{count|plural:# snapshot:# snapshots} failed verification.",
    "datastore.full": "The datastore is {percent} % full.",

    job_missed: "Backup job {job} was due on {due|time} and has not run on node {node}.",
    "job_missed.repeat":
      "Backup job {job} was due on {due|time} and has not run on node {node}; it repeats missed runs, so Proxmox starts it when the node comes back, but it has not yet.",
    overrunning: "The backup running since {since|time} has taken longer than {limit|duration}.",
    "overrunning.stalled":
      "The backup running since {since|time} has taken longer than {limit|duration}, and its log has shown nothing new since {last|time} (over {stall|duration}).",
    "overrunning.stalled_only":
      "The backup running since {since|time} looks stuck: its log has shown nothing new since {last|time} (over {stall|duration}).",
    "stop_backup.nothing": "No backup of this guest is running, so there is nothing to stop.",
    "stop_backup.not_allowed": "Tier {tier} does not allow stopping backups (set allow_stop: true).",
    "stop_backup.untiered": "This guest has no tier, so stopping its backup is not allowed.",
    "stop_backup.failed": "Proxmox did not stop the backup: {error}",
    "stop_backup.stopped": "Asked Proxmox to stop the backup started on {since|time}.",
  },
};
