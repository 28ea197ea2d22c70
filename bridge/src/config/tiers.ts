import type { z } from "zod";
import { parseDuration } from "../util/duration.js";
import type { retentionSchema, tierSchema } from "./schema/tier.js";

/** keep-last, keep-daily, …: how many archives PVE keeps of each kind. */
export type Retention = z.output<typeof retentionSchema>;

/** A tier as the policy sees it: every field resolved, durations in ms. */
export interface Tier {
  id: string;
  label: string;
  /** false for "none": the guest is deliberately not backed up and never a problem. */
  protect: boolean;
  maxAgeMs: number;
  schedule: string;
  retention: Retention;
  minCopies: number;
  offsite: boolean;
  verifyEveryMs: number | null;
  allowManual: boolean;
  /** Opted in to restore tests. */
  restoreTest: boolean;
  /** Self-healing fallback (config `fallback`): off, or when and how the bridge runs the guest's vzdump itself. */
  fallback: TierFallback;
  /** config `max_runtime`: a running vzdump is overrunning past max(3 × its median, this); null = the median alone. */
  maxRuntimeMs: number | null;
  /** config `stall_after`: no new task-log line for this long = stalled (default 30 min). */
  stallAfterMs: number;
  /** config `allow_stop`: the Stop backup button (default false). */
  allowStop: boolean;
  /** config `accepts`: which backups count (vzdump archives, Hyper Backup file copies); default both. */
  accepts: ("vzdump" | "hyperbackup")[];
}

/** A tier's fallback, resolved: window "any" or "HH:MM-HH:MM" (config time zone), grace in ms. */
export interface TierFallback {
  action: "off" | "ask" | "auto";
  window: string;
  graceMs: number;
  maxPerDay: number;
  storage?: string;
  mode?: "snapshot" | "suspend" | "stop";
}

export const FALLBACK_OFF: TierFallback = { action: "off", window: "any", graceMs: 3_600_000, maxPerDay: 1 };

/** `fallback: auto` is `{ action: auto }`; absent keys get their defaults (window any, grace 1h, one a day). */
export function resolveFallback(input: TierInput["fallback"]): TierFallback {
  const f = typeof input === "string" || input === undefined ? { action: input ?? "off" } : input;
  return {
    action: f.action,
    window: f.window ?? "any",
    graceMs: f.grace ? parseDuration(f.grace) : 3_600_000,
    maxPerDay: f.max_per_day ?? 1,
    ...(f.storage ? { storage: f.storage } : {}),
    ...(f.mode ? { mode: f.mode } : {}),
  };
}

/** What a tier may say in the config file (all optional; defaults fill the rest). */
export type TierInput = z.input<typeof tierSchema>;

/** The default tiers: P0 critical daily, P1 important daily, P2 weekly, plus "none" (excluded). */
export const DEFAULT_TIERS: Record<string, Required<TierInput>> = {
  P0: {
    label: "Critical, daily",
    max_age: "26h",
    schedule: "02:00",
    retention: { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
    min_copies: 2,
    offsite: true,
    verify_every: "7d",
    allow_manual: true,
    protect: true,
    restore_test: false,
    fallback: "off",
    max_runtime: null,
    stall_after: "30m",
    allow_stop: false,
    accepts: ["vzdump", "hyperbackup"],
  },
  P1: {
    label: "Important, daily",
    max_age: "26h",
    schedule: "02:30",
    retention: { "keep-daily": 7, "keep-weekly": 4 },
    min_copies: 2,
    offsite: false,
    verify_every: "30d",
    allow_manual: true,
    protect: true,
    restore_test: false,
    fallback: "off",
    max_runtime: null,
    stall_after: "30m",
    allow_stop: false,
    accepts: ["vzdump", "hyperbackup"],
  },
  P2: {
    label: "Weekly",
    max_age: "8d",
    schedule: "sun 03:00",
    retention: { "keep-weekly": 4 },
    min_copies: 1,
    offsite: false,
    verify_every: null,
    allow_manual: true,
    protect: true,
    restore_test: false,
    fallback: "off",
    max_runtime: null,
    stall_after: "30m",
    allow_stop: false,
    accepts: ["vzdump", "hyperbackup"],
  },
  none: {
    label: "Not backed up (deliberately)",
    max_age: "3650d",
    schedule: "",
    retention: {},
    min_copies: 0,
    offsite: false,
    verify_every: null,
    allow_manual: true,
    protect: false,
    restore_test: false,
    fallback: "off",
    max_runtime: null,
    stall_after: "30m",
    allow_stop: false,
    accepts: ["vzdump", "hyperbackup"],
  },
};

/** Merges config tiers over the defaults, key by key. */
export function resolveTiers(input: Record<string, TierInput> | undefined): Record<string, Tier> {
  const merged: Record<string, Required<TierInput>> = {};
  for (const [id, def] of Object.entries(DEFAULT_TIERS)) merged[id] = { ...def };
  for (const [id, t] of Object.entries(input ?? {})) {
    const base = merged[id] ?? { ...DEFAULT_TIERS.P2!, label: id };
    merged[id] = { ...base, ...t } as Required<TierInput>;
  }
  const out: Record<string, Tier> = {};
  for (const [id, t] of Object.entries(merged)) {
    out[id] = {
      id,
      label: t.label,
      protect: t.protect,
      maxAgeMs: parseDuration(t.max_age),
      schedule: t.schedule,
      retention: t.retention,
      minCopies: t.min_copies,
      offsite: t.offsite,
      verifyEveryMs: t.verify_every ? parseDuration(t.verify_every) : null,
      allowManual: t.allow_manual,
      restoreTest: t.restore_test,
      fallback: resolveFallback(t.fallback),
      maxRuntimeMs: t.max_runtime ? parseDuration(t.max_runtime) : null,
      stallAfterMs: parseDuration(t.stall_after),
      allowStop: t.allow_stop,
      accepts: [...new Set(t.accepts)],
    };
  }
  return out;
}
