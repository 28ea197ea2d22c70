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
    "status.ok": "The newest backup is from {newest|time}.",
    "status.ok.until":
      "The newest backup is from {newest|time}; without a newer one it turns stale on {until|time} (tier {tier} allows {max|duration}).",

    untiered:
      "No tier is assigned: give it one under guests in the config, or tag it backup-p0, backup-p1, backup-p2 or nobackup in Proxmox.",
    excluded: "Deliberately not backed up (tier {tier}).",
    unprotected: "No scheduled backup job selects this guest.",
    "unprotected.disabled":
      "{count|plural:Backup job:Backup jobs} {jobs|list} {count|plural:selects:select} this guest but {count|plural:is:are} disabled.",
    "unprotected.too_rare":
      "Job {job} runs only every {every|duration} ({schedule}); tier {tier} needs a backup at least every {max|duration}.",
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
    "datastore.snapshots_failed": "{count|plural:# snapshot:# snapshots} failed verification.",
    "datastore.full": "The datastore is {percent} % full.",
  },
};
