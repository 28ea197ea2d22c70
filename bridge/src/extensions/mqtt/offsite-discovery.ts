/**
 * Home Assistant devices for the off-site layer: one per Hyper Backup task and one per PBS
 * datastore, with the same rules as discovery.ts (device-based discovery, origin, stable
 * unique_id, default_entity_id and never object_id, names that do not repeat the device name,
 * no state_class on timestamps/enums, availability = bridge + that source, names in the bridge's
 * language). Payloads and states are pure data.
 */
import { HYPER_BACKUP_STATUSES, type HyperBackupVerdict } from "../../policy/offsite.js";
import type { PbsDatastoreVerdict } from "../../policy/datastore.js";
import { bridgeObjectId, deviceId, hyperBackupObjectId, pbsObjectId } from "../../core/identity.js";
import type { HyperBackupTask } from "../../sources/dsm/source.js";
import type { PbsDatastore } from "../../sources/pbs/source.js";
import type { Topics } from "../../core/identity.js";
import { isoOrNull as iso } from "../../util/time.js";
import type { EntityNameKey } from "../../words/entity-names.js";
import { gibSensor, jsonValue, nameOf, origin, problemComponent, slug, type DiscoveryContext } from "./discovery.js";

type Component = Record<string, unknown> & { p: string; unique_id: string };

export const HYPER_BACKUP_EVENT_TYPES = ["run_started", "command_rejected"] as const;

/** The MQTT topics of the off-site devices (state, command, event of a task or datastore). */
export const offsiteTopics = (t: Topics) => ({
  hbState: (key: string) => t.of("hyperbackup", key, "state"),
  hbCommand: (key: string) => t.of("hyperbackup", key, "command"),
  hbEvent: (key: string) => t.of("hyperbackup", key, "event"),
  pbsState: (key: string) => t.of("pbs", key, "state"),
  pbsCommand: (key: string) => t.of("pbs", key, "command"),
  pbsEvent: (key: string) => t.of("pbs", key, "event"),
});

export const hyperBackupDeviceId = (ctx: DiscoveryContext, key: string) => deviceId(hyperBackupObjectId(ctx.site, key));
export const pbsDeviceId = (ctx: DiscoveryContext, key: string) => deviceId(pbsObjectId(ctx.site, key));

/** The retained state of a Hyper Backup task device. */
export function hyperBackupState(t: HyperBackupTask, key: string, h: HyperBackupVerdict) {
  return {
    id: key,
    source: t.source,
    task_id: t.taskId,
    name: t.name,
    status: h.status,
    problem: h.problem,
    reason: h.reason,
    /** The reason as a phrase, for surfaces that render it in their own language. */
    reason_phrase: h.phrase,
    state: t.state,
    activity: t.status,
    last_result: t.lastResult,
    last_attempt: iso(t.lastAttemptMs),
    last_success: iso(t.lastSuccessMs),
    next_run: iso(t.nextRunMs),
    progress: t.progress,
    error: t.error,
    error_code: t.errorCode,
    target: t.transferType ? `${t.targetType}:${t.transferType}` : t.targetType,
    protects: t.protects,
    offsite: t.offsite,
    last_integrity_check: iso(t.integrity?.timeMs),
    integrity_ok: t.integrity ? t.integrity.ok : null,
    changes_at: iso(h.changesAt),
  };
}

export function hyperBackupDiscovery(
  ctx: DiscoveryContext,
  t: HyperBackupTask,
  key: string,
  nasUrl?: string,
): Record<string, unknown> {
  const devId = hyperBackupDeviceId(ctx, key);
  const ot = offsiteTopics(ctx.topics);
  const state = ot.hbState(key);
  const e = `hyper_backup_${slug(t.name, "x")}`;
  const uid = (k: string) => `${devId}_${k}`;
  const sensor = (k: EntityNameKey, extra: Record<string, unknown>): Component => ({
    p: "sensor",
    name: nameOf(ctx, k),
    unique_id: uid(k),
    default_entity_id: `sensor.${e}_${k}`,
    state_topic: state,
    ...extra,
  });
  const components: Record<string, Component> = {
    status: sensor("status", {
      device_class: "enum",
      options: [...HYPER_BACKUP_STATUSES],
      value_template: "{{ value_json.status }}",
      icon: "mdi:list-status",
    }),
    last_result: sensor("last_result", {
      value_template: jsonValue("last_result"),
      icon: "mdi:clipboard-check-outline",
    }),
    last_success: sensor("last_success", {
      device_class: "timestamp",
      value_template: jsonValue("last_success"),
      icon: "mdi:cloud-check",
    }),
    last_attempt: sensor("last_attempt", {
      device_class: "timestamp",
      value_template: jsonValue("last_attempt"),
      entity_category: "diagnostic",
    }),
    next_run: sensor("next_run", {
      device_class: "timestamp",
      value_template: jsonValue("next_run"),
      icon: "mdi:calendar-clock",
    }),
    progress: sensor("progress", {
      unit_of_measurement: "%",
      state_class: "measurement",
      value_template: jsonValue("progress"),
      icon: "mdi:progress-upload",
    }),
    integrity: sensor("last_integrity_check", {
      device_class: "timestamp",
      value_template: jsonValue("last_integrity_check"),
      entity_category: "diagnostic",
      icon: "mdi:shield-check",
    }),
    problem: problemComponent(
      nameOf(ctx, "problem"),
      uid("problem"),
      `binary_sensor.${e}_problem`,
      state,
      "{{ {'reason': value_json.reason, 'reason_phrase': value_json.reason_phrase | default(none), 'state': value_json.state, 'error': value_json.error, 'error_code': value_json.error_code, 'protects': value_json.protects, 'target': value_json.target} | tojson }}",
    ),
    running: {
      p: "binary_sensor",
      name: nameOf(ctx, "running"),
      unique_id: uid("running"),
      default_entity_id: `binary_sensor.${e}_running`,
      device_class: "running",
      state_topic: state,
      value_template: "{{ 'ON' if value_json.status == 'running' else 'OFF' }}",
    },
    run: {
      p: "button",
      name: nameOf(ctx, "run_now"),
      unique_id: uid("run_now"),
      default_entity_id: `button.${e}_run_now`,
      command_topic: ot.hbCommand(key),
      payload_press: '{"action":"run","origin":"home_assistant"}',
      icon: "mdi:cloud-upload",
      qos: 1,
    },
    event: {
      p: "event",
      name: nameOf(ctx, "event"),
      unique_id: uid("event"),
      default_entity_id: `event.${e}_event`,
      state_topic: ot.hbEvent(key),
      event_types: [...HYPER_BACKUP_EVENT_TYPES],
      icon: "mdi:history",
    },
  };
  return {
    device: {
      identifiers: [devId],
      name: `Hyper Backup ${t.name}`,
      manufacturer: "Synology",
      model: "Hyper Backup task",
      serial_number: `${t.source}/${t.taskId}`,
      via_device: deviceId(bridgeObjectId(ctx.site)),
      ...(nasUrl ? { configuration_url: nasUrl } : {}),
    },
    origin: origin(ctx),
    availability: [{ topic: ctx.topics.bridgeState }, { topic: ctx.topics.sourceAvailability(t.source) }],
    availability_mode: "all",
    components,
    qos: 1,
  };
}

/**
 * The retained state of a PBS datastore device: its facts and the policy's verdict
 * (policy/datastore.ts). Numbers the token may not read are null, never a 0 that looks real.
 */
export function pbsDatastoreState(d: PbsDatastore, key: string, v: PbsDatastoreVerdict) {
  // A token that may not read the datastore: nothing below is known (null, never a 0 that looks real).
  const known = !d.unreadable;
  const syncKnown = known && !d.syncUnreadable;
  const k = <T>(value: T) => (known ? value : null);
  return {
    id: key,
    source: d.source,
    store: d.store,
    usage: k(v.usage),
    used: k(d.used),
    total: k(d.total),
    avail: k(d.avail),
    namespaces: k(d.namespaces),
    group_count: k(d.groupCount),
    snapshot_count: k(d.snapshotCount),
    last_backup: iso(d.lastBackupMs),
    verified_ok: k(d.verification.ok),
    verified_failed: k(d.verification.failed),
    unverified: k(d.verification.none),
    last_verify: iso(d.lastVerify?.endMs),
    last_verify_state: d.lastVerify?.state ?? null,
    last_sync: syncKnown ? iso(d.lastSync?.endMs) : null,
    last_sync_state: syncKnown ? (d.lastSync?.state ?? null) : null,
    last_gc: iso(d.gc?.endMs),
    last_gc_state: d.gc?.state ?? null,
    storages: d.storages,
    offsite: d.offsite,
    status: v.status,
    status_reason: v.statusReason,
    problem: v.problem,
    reasons: v.reasons,
    reason_phrases: v.reasonPhrases,
  };
}

export function pbsDatastoreDiscovery(
  ctx: DiscoveryContext,
  d: PbsDatastore,
  key: string,
  pbsUrl?: string,
): Record<string, unknown> {
  const devId = pbsDeviceId(ctx, key);
  const ot = offsiteTopics(ctx.topics);
  const state = ot.pbsState(key);
  const e = `pbs_${key}`;
  const uid = (k: string) => `${devId}_${k}`;
  const sensor = (k: EntityNameKey, extra: Record<string, unknown>): Component => ({
    p: "sensor",
    name: nameOf(ctx, k),
    unique_id: uid(k),
    default_entity_id: `sensor.${e}_${k}`,
    state_topic: state,
    ...extra,
  });
  const stateOk = (field: string) => `{{ value_json.${field} }}`;
  const components: Record<string, Component> = {
    usage: sensor("usage", {
      unit_of_measurement: "%",
      state_class: "measurement",
      value_template: jsonValue("usage"),
      icon: "mdi:harddisk",
      suggested_display_precision: 1,
    }),
    used: sensor("used", gibSensor("used", 1)),
    avail: sensor("available", { ...gibSensor("avail", 1), entity_category: "diagnostic" }),
    snapshots: sensor("snapshots", {
      state_class: "measurement",
      value_template: "{{ value_json.snapshot_count }}",
      icon: "mdi:archive",
    }),
    unverified: sensor("unverified_snapshots", {
      state_class: "measurement",
      value_template: "{{ value_json.unverified }}",
      icon: "mdi:shield-alert-outline",
    }),
    failed: sensor("failed_verifications", {
      state_class: "measurement",
      value_template: "{{ value_json.verified_failed }}",
      icon: "mdi:shield-remove",
    }),
    last_backup: sensor("last_backup", {
      device_class: "timestamp",
      value_template: jsonValue("last_backup"),
      icon: "mdi:backup-restore",
    }),
    last_verify: sensor("last_verify", {
      device_class: "timestamp",
      value_template: jsonValue("last_verify"),
      icon: "mdi:shield-check",
    }),
    last_verify_state: sensor("last_verify_state", {
      value_template: stateOk("last_verify_state"),
      icon: "mdi:shield-check-outline",
    }),
    last_sync: sensor("last_sync", {
      device_class: "timestamp",
      value_template: jsonValue("last_sync"),
      icon: "mdi:cloud-sync",
    }),
    last_sync_state: sensor("last_sync_state", {
      value_template: stateOk("last_sync_state"),
      icon: "mdi:cloud-sync-outline",
    }),
    last_gc: sensor("last_gc", {
      device_class: "timestamp",
      value_template: jsonValue("last_gc"),
      entity_category: "diagnostic",
      icon: "mdi:delete-sweep",
    }),
    last_gc_state: sensor("last_gc_state", {
      value_template: stateOk("last_gc_state"),
      entity_category: "diagnostic",
      icon: "mdi:delete-sweep-outline",
    }),
    problem: {
      ...problemComponent(
        nameOf(ctx, "problem"),
        uid("problem"),
        `binary_sensor.${e}_problem`,
        state,
        "{{ {'reasons': value_json.reasons, 'reason_phrases': value_json.reason_phrases | default([]), 'status': value_json.status, 'status_reason': value_json.status_reason, 'namespaces': value_json.namespaces, 'storages': value_json.storages} | tojson }}",
      ),
      // A problem that is known shows; otherwise unknown is unknown ("None"), never OFF (= "OK").
      value_template: "{{ 'ON' if value_json.problem else (None if value_json.status == 'unknown' else 'OFF') }}",
    },
    verify: {
      p: "button",
      name: nameOf(ctx, "verify_now"),
      unique_id: uid("verify_now"),
      default_entity_id: `button.${e}_verify_now`,
      command_topic: ot.pbsCommand(key),
      payload_press: '{"action":"verify","origin":"home_assistant"}',
      icon: "mdi:shield-search",
      qos: 1,
    },
  };
  return {
    device: {
      identifiers: [devId],
      name: `PBS ${d.store}`,
      manufacturer: "Proxmox",
      model: "Backup Server datastore",
      serial_number: `${d.source}/${d.store}`,
      via_device: deviceId(bridgeObjectId(ctx.site)),
      ...(pbsUrl ? { configuration_url: `${pbsUrl}/#DataStore-${encodeURIComponent(d.store)}` } : {}),
    },
    origin: origin(ctx),
    availability: [{ topic: ctx.topics.bridgeState }, { topic: ctx.topics.sourceAvailability(d.source) }],
    availability_mode: "all",
    components,
    qos: 1,
  };
}
