import path from "node:path";
import { z } from "zod";
import type { Logger } from "../log.js";
import { JsonFile } from "./json-file.js";
import { DEVICE_ID_PREFIX, type Topics } from "../core/identity.js";

/**
 * Every Home Assistant device this bridge has published, remembered in state_dir/devices.json.
 *
 * Why it exists: Home Assistant deletes a device — its entity ids, history links and dashboard
 * references — as soon as its retained discovery config is cleared. So a device is removed only
 * after its source, read successfully and completely, has shown it gone for a grace period; the
 * moment it was first seen gone is kept here, so a restart neither resets nor skips the wait.
 * The file also pins each guest's id, so adding a second Proxmox source does not rename the
 * guests of the first (which would delete their devices the same way).
 */

export type DeviceKind = "guest" | "hyperbackup" | "pbs";

const entrySchema = z.object({
  kind: z.enum(["guest", "hyperbackup", "pbs"]),
  /** The configured source it belongs to; null when it was found on the broker and no source claimed it yet. */
  source: z.string().nullable(),
  vmid: z.number().int().positive().optional(),
  /** For people: the guest's or task's name when it was last seen. */
  name: z.string().optional(),
  configTopic: z.string().min(1),
  stateTopic: z.string().min(1).optional(),
  /** Epoch ms when a complete read of its source first showed it gone. */
  goneSinceMs: z.number().int().nonnegative().optional(),
});
export type DeviceEntry = z.infer<typeof entrySchema>;

const fileSchema = z.object({ version: z.literal(1), devices: z.record(z.string(), entrySchema) });
type DevicesFile = z.infer<typeof fileSchema>;

/** What a publish says about one device it just published. */
export interface PresentDevice {
  /** The device id in its discovery topic (`backup2mqtt_<site>_…`). */
  deviceId: string;
  kind: DeviceKind;
  source: string;
  vmid?: number;
  name?: string;
  configTopic: string;
  stateTopic?: string;
}

export interface SweepResult {
  /** Gone for the whole grace period, confirmed by a complete read: clear their retained topics now. */
  remove: Array<DeviceEntry & { deviceId: string }>;
  /** Gone (confirmed) but still inside the grace period. */
  pending: Array<DeviceEntry & { deviceId: string; removeAtMs: number }>;
  /** Of `pending`, those first seen gone in this sweep (worth one log line). */
  newlyGone: Array<DeviceEntry & { deviceId: string; removeAtMs: number }>;
}

export class DeviceRegistry {
  private readonly file: JsonFile<DevicesFile>;
  private readonly devices = new Map<string, DeviceEntry>();
  /** `<source>/<vmid>` → device id, for the guests whose id is pinned. */
  private readonly byGuest = new Map<string, string>();
  private dirty = false;
  /** The device ids the last sweep was told are present. */
  private present_ = new Set<string>();

  constructor(
    stateDir: string,
    private readonly log: Logger,
  ) {
    // A damaged file is moved aside (kept for the user) and the list starts empty.
    this.file = new JsonFile(
      path.join(stateDir, "devices.json"),
      { version: 1, devices: {} },
      {
        schema: fileSchema,
        log,
        loss: (n) =>
          n === undefined
            ? "devices of guests that were already gone wait a full grace period again before removal, and guest ids are assigned afresh (those found on the broker are adopted)"
            : "those devices wait a full grace period again if they are gone",
      },
    );
    for (const [id, e] of Object.entries(this.file.read().devices)) this.set(id, e);
  }

  /**
   * The guest id for a guest of `source`: the one it had before if it had one (so a second
   * Proxmox source renames nothing), else `preferred`. `legacy` is the single-source form
   * (`<site>_<vmid>`): a device of that id found on the broker with no owner yet is adopted,
   * which keeps ids across an upgrade that adds a source in the same step.
   */
  guestId(
    source: string,
    vmid: number,
    preferred: string,
    legacy: string,
    configured: (source: string) => boolean,
  ): string {
    const pinned = this.byGuest.get(`${source}/${vmid}`);
    if (pinned) return pinned.slice(DEVICE_ID_PREFIX.length);
    for (const candidate of legacy === preferred ? [preferred] : [legacy, preferred]) {
      const e = this.devices.get(DEVICE_ID_PREFIX + candidate);
      if (!e) continue;
      // A leftover with no owner, or one whose source is no longer configured (renamed source), is taken over.
      if (
        e.kind === "guest" &&
        e.vmid === vmid &&
        (e.source === null || e.source === source || !configured(e.source))
      ) {
        // Claimed at once, so a second source with the same VMID in this same pass cannot take it too.
        if (e.source !== source) {
          this.set(DEVICE_ID_PREFIX + candidate, { ...e, source });
          this.dirty = true;
        }
        return candidate;
      }
      if (candidate === preferred) break; // taken by another guest: fall through to the long form
    }
    return preferred;
  }

  /** Records a device this publish produced: known from now on, and no longer gone. */
  present(d: PresentDevice): void {
    const before = this.devices.get(d.deviceId);
    const next: DeviceEntry = {
      kind: d.kind,
      source: d.source,
      ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
      ...(d.name !== undefined ? { name: d.name } : {}),
      configTopic: d.configTopic,
      ...(d.stateTopic ? { stateTopic: d.stateTopic } : {}),
    };
    if (before && sameEntry(before, next)) return;
    if (before?.goneSinceMs !== undefined)
      this.log.info({ device: d.deviceId }, `${d.name ?? d.deviceId} is back; its Home Assistant device stays`);
    this.set(d.deviceId, next);
    this.dirty = true;
  }

  /** A retained discovery config of this bridge found on the broker (published by an earlier run). */
  found(deviceId: string, e: Omit<DeviceEntry, "source" | "goneSinceMs">): void {
    if (this.devices.has(deviceId)) return;
    this.set(deviceId, { ...e, source: null });
    this.dirty = true;
  }

  /**
   * Every known device that this publish did not produce: starts or continues its grace period
   * when `confirmedGone` says a complete read of its source shows it gone; removes it when the
   * period is over. A device whose absence cannot be confirmed (source down, token refused,
   * privileges missing, garbage answers) keeps its device and its clock.
   */
  sweep(present: Set<string>, now: number, graceMs: number, confirmedGone: (e: DeviceEntry) => boolean): SweepResult {
    const out: SweepResult = { remove: [], pending: [], newlyGone: [] };
    this.present_ = present;
    for (const [deviceId, e] of this.devices) {
      if (present.has(deviceId)) continue;
      if (!confirmedGone(e)) continue;
      let first = false;
      if (e.goneSinceMs === undefined) {
        e.goneSinceMs = now;
        this.dirty = true;
        first = true;
      }
      const removeAtMs = e.goneSinceMs + graceMs;
      if (now >= removeAtMs) out.remove.push({ ...e, deviceId });
      else {
        out.pending.push({ ...e, deviceId, removeAtMs });
        if (first) out.newlyGone.push({ ...e, deviceId, removeAtMs });
      }
    }
    for (const r of out.remove) this.delete(r.deviceId);
    return out;
  }

  /** Forgets a device at once (the user asked); returns what was known of it. */
  forget(deviceId: string): DeviceEntry | undefined {
    const e = this.devices.get(deviceId);
    if (e) this.delete(deviceId);
    return e;
  }

  get(deviceId: string): DeviceEntry | undefined {
    return this.devices.get(deviceId);
  }

  /** Guests of `source` known from earlier that the last publish did not produce and `hidden` says may only be hidden. */
  hiddenGuests(source: string, hidden: (vmid: number) => boolean): string[] {
    const out: string[] = [];
    for (const [id, e] of this.devices)
      if (e.kind === "guest" && e.source === source && e.vmid !== undefined && !this.present_.has(id) && hidden(e.vmid))
        out.push(id);
    return out;
  }

  /** Was it published by the last publish? */
  isPresent(deviceId: string): boolean {
    return this.present_.has(deviceId);
  }

  /** The pinned object id (device id without its prefix) of a guest, if it has one. */
  guestIdOf(source: string, vmid: number): string | undefined {
    return this.byGuest.get(`${source}/${vmid}`)?.slice(DEVICE_ID_PREFIX.length);
  }

  /** Devices that are gone and waiting out their grace period. */
  pending(): Array<DeviceEntry & { deviceId: string }> {
    return [...this.devices]
      .filter(([, e]) => e.goneSinceMs !== undefined)
      .map(([deviceId, e]) => ({ ...e, deviceId }));
  }

  /** Writes the file if anything changed since the last save. */
  save(): void {
    if (!this.dirty) return;
    const err = this.file.write({ version: 1, devices: Object.fromEntries(this.devices) });
    this.dirty = err !== undefined; // a failed write is tried again at the next save
    if (err)
      this.log.error(
        { err },
        "could not save the device list; a restart may wait longer before removing a device that is gone",
      );
  }

  private set(deviceId: string, e: DeviceEntry): void {
    const old = this.devices.get(deviceId);
    if (old?.kind === "guest" && old.source !== null && old.vmid !== undefined)
      this.byGuest.delete(`${old.source}/${old.vmid}`);
    this.devices.set(deviceId, e);
    if (e.kind === "guest" && e.source !== null && e.vmid !== undefined)
      this.byGuest.set(`${e.source}/${e.vmid}`, deviceId);
  }

  private delete(deviceId: string): void {
    const e = this.devices.get(deviceId);
    if (
      e?.kind === "guest" &&
      e.source !== null &&
      e.vmid !== undefined &&
      this.byGuest.get(`${e.source}/${e.vmid}`) === deviceId
    )
      this.byGuest.delete(`${e.source}/${e.vmid}`);
    this.devices.delete(deviceId);
    this.dirty = true;
  }
}

function sameEntry(a: DeviceEntry, b: DeviceEntry): boolean {
  return (
    a.goneSinceMs === undefined &&
    a.kind === b.kind &&
    a.source === b.source &&
    a.vmid === b.vmid &&
    a.name === b.name &&
    a.configTopic === b.configTopic &&
    a.stateTopic === b.stateTopic
  );
}

/**
 * Reads a retained discovery config found under this bridge's device-id prefix and says whether
 * this bridge published it: its availability must name this bridge's own state topic (another
 * bridge's devices — another site, another base topic — name theirs). Returns what it describes.
 */
export function ownFoundDevice(
  configTopic: string,
  payload: string,
  t: Topics,
): { deviceId: string; entry: Omit<DeviceEntry, "source" | "goneSinceMs"> } | null {
  const m = t.parseDeviceConfig(configTopic);
  if (!m) return null;
  const { deviceId, rest } = m;
  if (rest === "bridge") return null;
  let cfg: {
    availability?: Array<{ topic?: unknown }>;
    components?: Record<string, Record<string, unknown>>;
    device?: { name?: unknown };
  };
  try {
    cfg = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!cfg || typeof cfg !== "object") return null;
  const bridgeState = t.bridgeState;
  if (!Array.isArray(cfg.availability) || !cfg.availability.some((a) => a && a.topic === bridgeState)) return null;
  const stateTopic = Object.values(cfg.components ?? {})
    .map((c) => c?.state_topic)
    .find((x): x is string => typeof x === "string" && t.parse(x)?.leaf === "state" && x !== t.bridgeState);
  const name = typeof cfg.device?.name === "string" ? cfg.device.name : undefined;
  const kind: DeviceKind = rest.startsWith("hyperbackup_") ? "hyperbackup" : rest.startsWith("pbs_") ? "pbs" : "guest";
  const vmid = kind === "guest" ? Number(/_?([0-9]+)$/.exec(rest)?.[1]) : NaN;
  if (kind === "guest" && !(vmid > 0)) return null;
  return {
    deviceId,
    entry: {
      kind,
      ...(kind === "guest" ? { vmid } : {}),
      ...(name ? { name } : {}),
      configTopic,
      ...(stateTopic ? { stateTopic } : {}),
    },
  };
}
