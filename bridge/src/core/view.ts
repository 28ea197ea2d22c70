/**
 * What every surface (MQTT, HTTP, metrics, the report) reads: a read-only view of the engine's
 * last evaluation and of its sources' health. Surfaces never reach into the engine's classes.
 */
import type { Config } from "../config/load.js";
import type { Evidence, SourceHealth } from "../evidence.js";
import type { PbsDatastoreVerdict } from "../policy/datastore.js";
import type { HyperBackupVerdict } from "../policy/offsite.js";
import type { GuestState, PolicyResult } from "../policy/types.js";
import type { HyperBackupTask } from "../sources/dsm/source.js";
import type { PbsDatastore } from "../sources/pbs/source.js";
import type { DeviceEntry } from "../state/devices.js";

/** One source (Proxmox, NAS or PBS) as the surfaces see it. */
export interface SourceView {
  health: SourceHealth;
  /** API requests its last refresh made. */
  requests: number;
  /** API requests sent since the bridge started (Proxmox sources). */
  requestsTotal?: number;
  /** Its devices are shown available: read completely and, for Proxmox, no guest hidden from the token. */
  available: boolean;
  url: string;
}

/** A Hyper Backup task with its verdict, keyed as in its MQTT topics. */
export interface HyperBackupView {
  key: string;
  task: HyperBackupTask;
  verdict: HyperBackupVerdict;
  readable: boolean;
  nasUrl: string;
}

/** A PBS datastore with its verdict, keyed as in its MQTT topics. */
export interface PbsDatastoreView {
  key: string;
  datastore: PbsDatastore;
  verdict: PbsDatastoreVerdict;
  readable: boolean;
  pbsUrl: string;
}

export interface View {
  readonly cfg: Readonly<Config>;
  /** The last evaluation; null until the sources were first read. */
  readonly result: PolicyResult | null;
  /** The instant of the last evaluation (clock ms). */
  readonly evaluatedAtMs: number;
  readonly lastRefreshMs: number | null;
  /** How long the last refresh took (wall time, ms). */
  readonly lastRefreshDurationMs: number | null;
  guest(id: string): GuestState | undefined;
  /** The evidence the last evaluation judged (built fresh on each call). */
  evidence(): Evidence;
  readonly proxmox: readonly SourceView[];
  /** Synology NAS and PBS sources (the off-site layer), in config order. */
  readonly offsiteSources: readonly SourceView[];
  readonly hyperBackupTasks: readonly HyperBackupView[];
  readonly pbsDatastores: readonly PbsDatastoreView[];
  /** Devices gone from their source and waiting out mqtt.removal_grace. */
  pendingRemoval(): Array<DeviceEntry & { deviceId: string }>;
  /** mqtt.removal_grace in ms. */
  readonly removalGraceMs: number;
  /** Whether the MQTT broker is connected (set by the MQTT extension). */
  readonly mqttConnected: boolean;
  /** PVE version per Proxmox source, null where it cannot be read (cached). */
  pveVersions(): Promise<Record<string, string | null>>;
}
