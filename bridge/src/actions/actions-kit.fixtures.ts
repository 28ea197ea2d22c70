/**
 * What the guest-action test fixtures share (guest-actions*.fixtures.ts): the start instant, a
 * complete guest state to override field by field, and the per-test sandbox (fake timers from
 * START, a fresh temporary directory for the Store).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, vi } from "vitest";
import type { Tier } from "../config/tiers.js";
import type { GuestState } from "../policy/types.js";

/** Local time, so the guard's "at 10:00:00" reads the same in every time zone. */
export const START = new Date(2026, 5, 1, 10, 0, 0).getTime();

const H = 3_600_000;

/** A protected daily tier (26 h max age, verified every 30 days, manual backups allowed), with `o` over it. */
export const baseTier = (id: string, o: Partial<Tier> = {}): Tier => ({
  id,
  label: id,
  protect: true,
  maxAgeMs: 26 * H,
  schedule: "02:00",
  retention: {},
  minCopies: 1,
  offsite: false,
  verifyEveryMs: 30 * 24 * H,
  allowManual: true,
  restoreTest: false,
  fallback: { action: "off", window: "any", graceMs: H, maxPerDay: 1 },
  maxRuntimeMs: null,
  stallAfterMs: 30 * 60_000,
  allowStop: false,
  accepts: ["vzdump", "hyperbackup"],
  ...o,
});

/** An ok P1 guest of source "pve" on node n1, with `o` over it. */
export function baseGuestState(vmid: number, o: Partial<GuestState> = {}): GuestState {
  return {
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name: `g${vmid}`,
    type: "qemu",
    node: "n1",
    tier: "P1",
    tier_source: "config",
    status: "ok",
    status_reason: "",
    status_phrase: { key: "status.ok" },
    problem: false,
    reasons: [],
    reason_phrases: [],
    findings: [],
    last_backup: null,
    last_backup_size: null,
    archive_count: 1,
    next_backup: null,
    last_verified: null,
    last_verification: null,
    last_restore_test: null,
    progress: null,
    last_offsite: null,
    copies: null,
    running: false,
    last_attempt: null,
    changes_at: null,
    fallback: null,
    protection: null,
    ...o,
  };
}

/**
 * Around each test of the file: fake timers from START, `before` (e.g. resetting a mock), and a
 * fresh temporary directory handed to `setDir`, removed afterwards.
 */
export function useSandboxDir(prefix: string, setDir: (dir: string) => void, before?: () => void): void {
  let current = "";
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(START);
    before?.();
    current = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    setDir(current);
  });
  afterEach(() => {
    vi.useRealTimers();
    fs.rmSync(current, { recursive: true, force: true });
  });
}
