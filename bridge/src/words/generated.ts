/**
 * Files generated from the phrasebooks for the Home Assistant integration (Python), by path from
 * the repository root: the phrasebooks as JSON, and cases that the Python renderer must render
 * exactly as render.ts does. `npm run schemas` writes them; a test checks the committed copies.
 */
import type { Language } from "./language.js";
import { LANGUAGES } from "./language.js";
import type { Phrase } from "./phrase.js";
import { PHRASEBOOKS, render } from "./render.js";

export const PYTHON_PHRASEBOOK = "ha-integration/custom_components/backup2mqtt/phrasebook.json";
export const PHRASE_CASES = "ha-integration/tests/phrasebook_cases.json";

const T = "2026-11-30T15:19:40.000Z";
/** Phrases with every filter, optional part and plural form; rendered in each language and zone. */
const SAMPLES: Phrase[] = [
  { key: "status.failed", params: { at: "2026-12-02T13:23:46.000Z", error: "storage 'local' is full", newest: T } },
  { key: "status.failed.none", params: { at: "2026-12-02T13:23:46.000Z", error: "job aborted" } },
  { key: "status.stale", params: { newest: T, tier: "P1", max: 93_600_000 } },
  { key: "status.ok.until", params: { newest: T, until: "2026-12-01T17:19:40.000Z", tier: "P2", max: 691_200_000 } },
  { key: "status.missing.unverified", params: { count: 1 } },
  { key: "status.missing.unverified", params: { count: 3 } },
  { key: "status.unknown.unreachable", params: { source: "pve" } },
  { key: "status.unknown.unreachable", params: { source: "pve", error: "connect ECONNREFUSED" } },
  {
    key: "status.unknown.unreachable",
    params: { source: "pve", error: "Either increase the limit or delete old backups." },
  },
  { key: "status.unknown.unreachable", params: { source: "pve", error: "trying to acquire lock..." } },
  { key: "unprotected.disabled", params: { count: 1, jobs: ["backup-daily"] } },
  { key: "unprotected.disabled", params: { count: 3, jobs: ["a", "b", "c"] } },
  {
    key: "unprotected.too_rare",
    params: { job: "weekly", every: 604_800_000, schedule: "sun 03:00", tier: "P1", max: 93_600_000 },
  },
  {
    key: "retention_short",
    params: {
      job: "backup-p2",
      tier: "P1",
      keeps: { "keep-last": 3 },
      wants: { "keep-daily": 7, "keep-weekly": 4 },
      missing: { "keep-daily": 4, "keep-weekly": 4 },
    },
  },
  {
    key: "retention_short.storage",
    params: {
      job: "j",
      storage: "local",
      tier: "P0",
      keeps: { "keep-daily": 1 },
      wants: { "keep-all": 1 },
      missing: { "keep-monthly": 1 },
    },
  },
  { key: "verify_overdue", params: { last: T, tier: "P0", every: 2_592_000_000 } },
  { key: "too_few_copies", params: { tier: "P1", want: 2, max: 93_600_000, found: 0 } },
  {
    key: "too_few_copies",
    params: {
      tier: "P1",
      want: 3,
      max: 86_400_000,
      found: 1,
      counted: [{ key: "copy.storage", params: { at: T, storage: "local" } }],
    },
  },
  {
    key: "no_offsite",
    params: {
      tier: "P0",
      max: 90_000_000,
      why: [
        { key: "offsite.never", params: { target: "Hyper Backup task 7" } },
        { key: "offsite.nothing", params: { count: 2, storages: ["local", "nfs"] } },
      ],
    },
  },
  { key: "hyperbackup.broken", params: { state: "broken", error: "target missing", code: 4401 } },
  { key: "text", params: { text: "as the source said it" } },
  { key: "no.such.key", params: {} },
  // Hyper Backup as a guest's own backup (policy/hyperbackup.ts): nested phrases, a list, optional parts
  {
    key: "status.ok.hyperbackup.until",
    params: {
      newest: T,
      until: "2026-12-01T17:19:40.000Z",
      tier: "P0",
      max: 93_600_000,
      count: 2,
      tasks: [
        { key: "target.hyperbackup", params: { task: "VMs daily", nas: "nas" } },
        { key: "target.hyperbackup", params: { task: "VMs offsite", nas: "nas" } },
      ],
      fallback: ["backup-p0-daily"],
      fallbackCount: 1,
    },
  },
  {
    key: "status.missing.hyperbackup",
    params: { count: 1, tasks: [{ key: "target.hyperbackup", params: { task: "VMs weekly", nas: "nas" } }] },
  },
  {
    key: "unprotected.hyperbackup_not_in_task",
    params: {
      disk: "scsi0",
      volume: "nas-vms:100/vm-100-disk-0.qcow2",
      storage: "nas-vms",
      nas: "nas",
      folder: "/proxmox/images/100/vm-100-disk-0.qcow2",
      why: [{ key: "unprotected.disabled", params: { count: 1, jobs: ["backup-p0-daily"] } }],
    },
  },
  {
    key: "too_few_copies",
    params: {
      tier: "P1",
      want: 2,
      max: 93_600_000,
      found: 1,
      counted: [
        {
          key: "copy.file.offsite",
          params: { target: { key: "target.hyperbackup", params: { task: "VMs offsite", nas: "nas" } }, at: T },
        },
      ],
    },
  },
  // Watchdogs (policy/missed-jobs.ts, policy/overrun.ts)
  { key: "job_missed", params: { job: "web nightly", due: T, node: "pve1", relied: true } },
  { key: "job_missed.repeat", params: { job: "backup-1a2b", due: T, node: "pve2", relied: false } },
  { key: "overrunning.stalled", params: { since: T, limit: 5_400_000, last: T, stall: 1_800_000 } },
  { key: "overrunning.stalled_only", params: { since: T, last: T, stall: 3_600_000 } },
];
const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"];

export interface PhraseCase {
  phrase: Phrase;
  language: Language;
  timeZone: string;
  text: string;
}

export function phraseCases(): PhraseCase[] {
  const out: PhraseCase[] = [];
  for (const language of LANGUAGES)
    for (const timeZone of ZONES)
      for (const phrase of SAMPLES)
        out.push({ phrase, language, timeZone, text: render(phrase, { language, timeZone }) });
  return out;
}

export function generatedWordFiles(): Record<string, string> {
  return {
    [PYTHON_PHRASEBOOK]: `${JSON.stringify(PHRASEBOOKS, null, 1)}\n`,
    [PHRASE_CASES]: `${JSON.stringify(phraseCases(), null, 1)}\n`,
  };
}
