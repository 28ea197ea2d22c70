/**
 * Sizes in GiB on an existing install, in a real Home Assistant with the recorder: a "Backup size"
 * sensor published in B with state_class measurement (every version before the GiB change) has
 * long-term statistics in B; the discovery the bridge publishes now (GiB, a template over the
 * same bytes field) must be taken without a statistics issue or a repair. What the sensor then
 * shows is Home Assistant's rule: GiB at once, and after a restart the unit the entity was
 * registered with (B, converted) until the user picks a display unit; a new install shows GiB.
 * A negative control shows the checks bite (a config without state_class is reported). And
 * German entity names change only names: entity ids stay those of English. Last, the custom
 * integration (installed as HACS would, from `npm run dist`'s dist/hacs-repository) makes the
 * choice for the user: the bridge's size sensors registered in B show GiB when it is set up and
 * after every restart, with no statistics issue or repair, and a unit the user chose stays.
 */
import { cpSync } from "node:fs";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseGuestState } from "../../bridge/src/actions/actions-kit.fixtures.js";
import { Topics } from "../../bridge/src/core/identity.js";
import { guestDiscovery, jsonValue, type DiscoveryContext } from "../../bridge/src/extensions/mqtt/discovery.js";
import {
  offsiteTopics,
  pbsDatastoreDiscovery,
  pbsDeviceId,
} from "../../bridge/src/extensions/mqtt/offsite-discovery.js";
import type { GuestState } from "../../bridge/src/policy/types.js";
import type { PbsDatastore } from "../../bridge/src/sources/pbs/source.js";
import { INTEGRATION_SRC, type FlowProgress } from "./integration-world.js";
import { startHomeAssistant, startMosquitto, waitFor, type HomeAssistant, type Mosquitto } from "./runner.js";

const BYTES = 1_717_986_918; // 1.6 GiB: the "1,717,986,918 B" Home Assistant showed
const GIB = 1_073_741_824;

const ctx: DiscoveryContext = {
  topics: new Topics("backup2mqtt", "homeassistant", "home"),
  version: "0.0.0-test",
  site: "home",
  sourceUrls: {},
  tierIds: ["P0", "P1", "P2", "none"],
};

/** A guest's state as the bridge publishes it (fields other surfaces add are not read by discovery's templates). */
function guest(vmid: number, name: string): GuestState {
  return baseGuestState(vmid, {
    name,
    node: "pve1",
    tier_source: "tag",
    status_reason: "newest backup 2026-11-26T07:00:00.000Z",
    last_backup: "2026-11-26T07:00:00.000Z",
    last_backup_size: BYTES,
    archive_count: 3,
  });
}

/** The Backup size component as every version before GiB published it (bytes, unit B). */
const OLD_SIZE = {
  device_class: "data_size",
  unit_of_measurement: "B",
  state_class: "measurement",
  value_template: jsonValue("last_backup_size"),
  suggested_display_precision: 0,
};

type Payload = { components: Record<string, Record<string, unknown>> };

/** `payload` with its component `key`'s unit fields replaced by `unit` (the old ones, or a variant). */
function withUnitFields(payload: Payload, key: string, unit: Record<string, unknown>) {
  const {
    device_class: _dc,
    unit_of_measurement: _u,
    state_class: _sc,
    suggested_display_precision: _p,
    ...keep
  } = payload.components[key]!;
  return { ...payload, components: { ...payload.components, [key]: { ...keep, ...unit } } };
}

/** Today's guest payload with the size component as `size` (the old one, or a variant). */
function withSize(g: GuestState, size: Record<string, unknown>, c: DiscoveryContext = ctx) {
  return withUnitFields(guestDiscovery(c, g) as Payload, "size", size);
}

/** A PBS datastore as the bridge publishes it, reduced to its "Used" sensor (today's, or with `used` as unit fields). */
const PBS = { source: "pbs", store: "store1", key: "store1" };
function pbsUsedOnly(used?: Record<string, unknown>) {
  const payload = pbsDatastoreDiscovery(
    ctx,
    { source: PBS.source, store: PBS.store } as PbsDatastore,
    PBS.key,
  ) as Payload;
  const reduced = { ...payload, components: { used: payload.components.used! } };
  return used ? withUnitFields(reduced, "used", used) : reduced;
}
/** PBS "Used" as every version before GiB published it. */
const OLD_PBS_USED = {
  device_class: "data_size",
  unit_of_measurement: "B",
  state_class: "measurement",
  value_template: "{{ value_json.used }}",
  suggested_display_precision: 0,
};

interface StatisticMeta {
  statistic_id: string;
  statistics_unit_of_measurement: string | null;
  unit_class: string | null;
}
interface Issue {
  domain: string;
  issue_id: string;
}

describe("Backup size in GiB on an install with statistics in B", () => {
  let broker: Mosquitto;
  let ha: HomeAssistant;
  let client: mqtt.MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    ha = await startHomeAssistant({
      mqttHost: broker.host,
      mqttPort: broker.port,
      // history: the states a sensor had since a restart (the integration test, last)
      extraConfigYaml: ["recorder:", "  commit_interval: 0", "repairs:", "history:"].join("\n"),
    });
    client = await mqtt.connectAsync(broker.url, { clientId: "b2m-size-units" });
  });

  afterAll(async () => {
    await client?.endAsync();
    await ha?.stop();
    await broker?.stop();
  });

  /** Retained, as the bridge publishes: objects as JSON, availability as its plain word. */
  const publish = (topic: string, payload: unknown) =>
    client.publishAsync(topic, typeof payload === "string" ? payload : JSON.stringify(payload), {
      retain: true,
      qos: 1,
    });
  const publishGuest = async (g: GuestState, config: unknown) => {
    await publish(ctx.topics.bridgeState, "online");
    await publish(ctx.topics.sourceAvailability(g.source), "online");
    await publish(ctx.topics.guestState(g.id), g);
    await publish(ctx.topics.deviceConfig(`backup2mqtt_${g.id}`), config);
  };
  const entityOf = (uniqueId: string) =>
    waitFor(async () => (await ha.ws.entityRegistry()).find((e) => e.unique_id === uniqueId), {
      timeoutMs: 30_000,
      description: `registry entry ${uniqueId}`,
    });
  const stateWithUnit = (entityId: string, unit: string) =>
    waitFor(
      async () => {
        const s = await ha.rest.state(entityId);
        return s && s.state !== "unavailable" && s.attributes.unit_of_measurement === unit ? s : undefined;
      },
      { timeoutMs: 30_000, description: `${entityId} in ${unit}` },
    );
  const statisticsMeta = async (id: string) =>
    (await ha.ws.command<StatisticMeta[]>({ type: "recorder/get_statistics_metadata", statistic_ids: [id] }))[0];
  const validation = async (id: string) =>
    (await ha.ws.command<Record<string, Array<{ type: string }>>>({ type: "recorder/validate_statistics" }))[id] ?? [];
  const repairsFor = async (id: string) => {
    await ha.ws.command({ type: "recorder/update_statistics_issues" });
    return (await ha.ws.command<{ issues: Issue[] }>({ type: "repairs/list_issues" })).issues.filter((i) =>
      i.issue_id.includes(id),
    );
  };

  /** The hourly means stored for `entityId` in the last four hours, in `unit` (default: the statistics' own). */
  const hoursOf = async (entityId: string, unit?: string) =>
    (
      await ha.ws.command<Record<string, Array<{ mean: number }>>>({
        type: "recorder/statistics_during_period",
        start_time: new Date(Date.now() - 4 * 3_600_000).toISOString(),
        statistic_ids: [entityId],
        period: "hour",
        types: ["mean"],
        ...(unit ? { units: { information: unit } } : {}),
      })
    )[entityId] ?? [];

  /** Long-term statistics of the B sensor, as an install that ran for some hours has them. */
  async function statisticsInBytes(entityId: string): Promise<void> {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    await ha.ws.command({
      type: "recorder/import_statistics",
      metadata: {
        statistic_id: entityId,
        source: "recorder",
        name: null,
        has_sum: false,
        mean_type: 1, // arithmetic: what state_class measurement records
        unit_class: "information",
        unit_of_measurement: "B",
      },
      stats: [3, 2, 1].map((h) => ({
        start: new Date(hour - h * 3_600_000).toISOString(),
        mean: BYTES,
        min: BYTES,
        max: BYTES,
      })),
    });
    // Stored (the metadata call also lists sensors that merely could have statistics): the hours are there.
    await waitFor(async () => (await hoursOf(entityId)).length === 3, {
      timeoutMs: 30_000,
      description: `three hours of statistics of ${entityId}`,
    });
    expect(await statisticsMeta(entityId)).toMatchObject({
      statistics_unit_of_measurement: "B",
      unit_class: "information",
    });
  }

  it("the old B config with statistics in B, then today's GiB config: no statistics issue or repair; GiB, after a restart the registered B until the user picks GiB", async () => {
    const g = guest(102, "vaultwarden");
    await publishGuest(g, withSize(g, OLD_SIZE));
    const entry = await entityOf("backup2mqtt_home_102_backup_size");
    expect(entry.entity_id).toBe("sensor.vaultwarden_backup_size");
    const old = await stateWithUnit(entry.entity_id, "B");
    expect(old.state).toBe(String(BYTES));
    expect(old.attributes.state_class).toBe("measurement");
    await statisticsInBytes(entry.entity_id);
    expect(await validation(entry.entity_id)).toEqual([]);

    // The bridge of today, as a new bridge process publishes: its own payload, then the state
    // (its cache of what is retained starts empty, so every state goes out after the configs).
    // Home Assistant does not subscribe again to an unchanged state topic, so without that state
    // the sensor would keep its old number under the new unit; and its discovery update itself
    // writes one state with the old number and the new unit before the state arrives: a moment
    // of 1717986918 GiB that the recorder keeps (only a device that is unavailable while its
    // config changes would avoid it; the bridge goes online before its first configs today).
    await publish(ctx.topics.deviceConfig("backup2mqtt_home_102"), guestDiscovery(ctx, g));
    await publish(ctx.topics.guestState(g.id), g);
    const now = await waitFor(
      async () => {
        const s = await ha.rest.state(entry.entity_id);
        return s?.attributes.unit_of_measurement === "GiB" && Math.abs(Number(s.state) - BYTES / GIB) < 1e-9
          ? s
          : undefined;
      },
      { timeoutMs: 30_000, description: `${entry.entity_id}: ${BYTES / GIB} GiB` },
    );
    expect(now.attributes).toMatchObject({ device_class: "data_size", state_class: "measurement" });
    // The display precision is the sensor's option in the entity registry, taken when the entity
    // is added: an existing install keeps the old 0 ("2 GiB") until Home Assistant restarts.
    const precision = async () =>
      (
        await ha.ws.command<{ options: { sensor?: { suggested_display_precision?: number } } }>({
          type: "config/entity_registry/get",
          entity_id: entry.entity_id,
        })
      ).options.sensor?.suggested_display_precision;
    expect(await precision()).toBe(0);
    // Same entity (no new one beside it), statistics still in B: the recorder converts.
    expect((await ha.ws.entityRegistry()).filter((e) => e.unique_id === "backup2mqtt_home_102_backup_size")).toEqual([
      expect.objectContaining({ entity_id: entry.entity_id }),
    ]);
    expect(await statisticsMeta(entry.entity_id)).toMatchObject({ statistics_unit_of_measurement: "B" });
    expect(await validation(entry.entity_id)).toEqual([]);
    expect(await repairsFor(entry.entity_id)).toEqual([]);
    // The recorded hours read in GiB too.
    const hours = await hoursOf(entry.entity_id, "GiB");
    expect(hours).toHaveLength(3);
    for (const row of hours) expect(row.mean).toBeCloseTo(BYTES / GIB, 9);

    // After a restart Home Assistant applies its rule for an entity whose native unit changed to a
    // convertible one: it keeps showing the unit the entity was registered with (sensor.private
    // suggested_unit_of_measurement = B) and converts. So an existing install shows B again, a new
    // one GiB (the German test below). Two decimals now; statistics still without an issue.
    await ha.restart();
    expect(await precision()).toBe(2);
    const inGiB = (s: { state: string; attributes: Record<string, unknown> } | null) =>
      s?.attributes.unit_of_measurement === "GiB" && Math.abs(Number(s.state) - BYTES / GIB) < 1e-9;
    const afterRestart = await stateWithUnit(entry.entity_id, "B");
    expect(Number(afterRestart.state)).toBeCloseTo(BYTES, 0);
    expect(await validation(entry.entity_id)).toEqual([]);
    expect(await repairsFor(entry.entity_id)).toEqual([]);
    // The user's choice of display unit (entity settings → unit of measurement) makes it GiB for good.
    await ha.ws.command({
      type: "config/entity_registry/update",
      entity_id: entry.entity_id,
      options_domain: "sensor",
      options: { unit_of_measurement: "GiB" },
    });
    await waitFor(async () => inGiB(await ha.rest.state(entry.entity_id)), {
      timeoutMs: 30_000,
      description: `${entry.entity_id} in GiB by the user's unit`,
    });
    expect(await validation(entry.entity_id)).toEqual([]);
    expect(await repairsFor(entry.entity_id)).toEqual([]);

    // No archive: unknown, as before.
    await publish(ctx.topics.guestState(g.id), { ...g, last_backup_size: null });
    await waitFor(async () => (await ha.rest.state(entry.entity_id))?.state === "unknown", {
      timeoutMs: 30_000,
      description: "unknown without an archive",
    });
    expect(ha.mqttProblems()).toEqual([]);
  });

  it("negative control: dropping state_class from a sensor with statistics is reported (the checks above can fail)", async () => {
    const g = guest(103, "immich");
    await publishGuest(g, withSize(g, OLD_SIZE));
    const entry = await entityOf("backup2mqtt_home_103_backup_size");
    await stateWithUnit(entry.entity_id, "B");
    await statisticsInBytes(entry.entity_id);
    const { state_class: _dropped, ...noStateClass } = OLD_SIZE;
    await publish(ctx.topics.deviceConfig("backup2mqtt_home_103"), withSize(g, noStateClass));
    await waitFor(async () => (await ha.rest.state(entry.entity_id))?.attributes.state_class === undefined, {
      timeoutMs: 30_000,
      description: "state_class gone",
    });
    expect((await validation(entry.entity_id)).map((i) => i.type)).toEqual(["state_class_removed"]);
    expect((await repairsFor(entry.entity_id)).map((i) => i.issue_id)).toEqual([
      `state_class_removed_${entry.entity_id}`,
    ]);
  });

  it("German names: Home Assistant names the entities in German, entity ids stay those of English", async () => {
    const g = guest(104, "pihole");
    await publishGuest(g, guestDiscovery({ ...ctx, language: "de" }, g));
    const size = await entityOf("backup2mqtt_home_104_backup_size");
    expect(size.entity_id).toBe("sensor.pihole_backup_size");
    expect(size.original_name).toBe("Sicherungsgröße");
    const button = await entityOf("backup2mqtt_home_104_backup_now");
    expect(button.entity_id).toBe("button.pihole_back_up_now");
    expect(button.original_name).toBe("Jetzt sichern");
    const s = await stateWithUnit(size.entity_id, "GiB");
    expect(s.attributes.friendly_name).toBe("pihole Sicherungsgröße");
    expect(ha.mqttProblems()).toEqual([]);
  });

  // Last: it installs the custom integration, which then runs for every restart after it.
  it("the integration shows the size sensors registered in B in GiB: when set up, after restarts, for sensors registered later; no statistics issue or repair; the user's unit stays", async () => {
    interface RegistryOptions {
      options: Record<string, Record<string, unknown> | undefined>;
    }
    const optionsOf = async (entityId: string) =>
      (await ha.ws.command<RegistryOptions>({ type: "config/entity_registry/get", entity_id: entityId })).options;
    const inGiB = (entityId: string) =>
      waitFor(
        async () => {
          const s = await ha.rest.state(entityId);
          return s?.attributes.unit_of_measurement === "GiB" && Math.abs(Number(s.state) - BYTES / GIB) < 1e-9
            ? s
            : undefined;
        },
        { timeoutMs: 30_000, description: `${entityId}: ${BYTES / GIB} GiB` },
      );
    const noIssues = async (entityIds: string[]) => {
      for (const id of entityIds) {
        expect(await validation(id), id).toEqual([]);
        expect(await repairsFor(id), id).toEqual([]);
      }
    };
    /** Every state `entityId` had since `sinceMs` (the recorder's history), but for "unavailable":
     * Home Assistant writes that at its start for every registered entity, before the entity is added,
     * with the unit the entity registry noted when the sensor was added before (B here). */
    const statesSince = async (entityId: string, sinceMs: number) => {
      const history = await ha.ws.command<Record<string, Array<{ s: string; a?: Record<string, unknown> }>>>({
        type: "history/history_during_period",
        start_time: new Date(sinceMs).toISOString(),
        entity_ids: [entityId],
        include_start_time_state: false,
        significant_changes_only: false,
        minimal_response: false,
        no_attributes: false,
      });
      return (history[entityId] ?? []).filter((h) => h.s !== "unavailable");
    };
    /** As the bridge publishes: its config, then the state (which an unchanged state topic needs again, see above). */
    const publishPbs = async (config: unknown) => {
      await publish(ctx.topics.sourceAvailability(PBS.source), "online");
      await publish(ctx.topics.deviceConfig(pbsDeviceId(ctx, PBS.key)), config);
      await publish(offsiteTopics(ctx.topics).pbsState(PBS.key), { id: PBS.key, used: BYTES });
    };

    // An install that ran a bridge publishing bytes: two guests and a PBS datastore registered in
    // B, statistics in B; paperless's user picked MB.
    const nextcloud = guest(105, "nextcloud");
    const paperless = guest(106, "paperless");
    await publishGuest(nextcloud, withSize(nextcloud, OLD_SIZE));
    await publishGuest(paperless, withSize(paperless, OLD_SIZE));
    await publishPbs(pbsUsedOnly(OLD_PBS_USED));
    const size = (await entityOf("backup2mqtt_home_105_backup_size")).entity_id;
    const chosen = (await entityOf("backup2mqtt_home_106_backup_size")).entity_id;
    const used = (await entityOf(`${pbsDeviceId(ctx, PBS.key)}_used`)).entity_id;
    expect([size, chosen, used]).toEqual([
      "sensor.nextcloud_backup_size",
      "sensor.paperless_backup_size",
      "sensor.pbs_store1_used",
    ]);
    for (const id of [size, chosen, used]) await stateWithUnit(id, "B");
    await statisticsInBytes(size);
    await statisticsInBytes(used);
    await ha.ws.command({
      type: "config/entity_registry/update",
      entity_id: chosen,
      options_domain: "sensor",
      options: { unit_of_measurement: "MB" },
    });
    await stateWithUnit(chosen, "MB");

    // Today's bridge: GiB at once (the recorder converts the statistics).
    for (const g of [nextcloud, paperless]) {
      await publish(ctx.topics.deviceConfig(`backup2mqtt_${g.id}`), guestDiscovery(ctx, g));
      await publish(ctx.topics.guestState(g.id), g);
    }
    await publishPbs(pbsUsedOnly());
    await inGiB(size);
    await inGiB(used);

    // The integration installed (as HACS would) and Home Assistant restarted: until it is set up,
    // Home Assistant's rule shows the registered B again.
    cpSync(INTEGRATION_SRC, path.join(ha.configDir, "custom_components/backup2mqtt"), {
      recursive: true,
      filter: (src) => !src.includes("__pycache__"),
    });
    await publish(ctx.topics.bridgeInfo, {
      version: "0.0.0-test",
      site: "home",
      base_topic: "backup2mqtt",
      sources: { pve: { kind: "pve", up: true, degraded: false, last_success: "2026-11-26T07:00:00.000Z" } },
      counts: { guests: 2, ok: 2, problem: 0 },
      last_refresh: "2026-11-26T07:00:00.000Z",
    });
    await ha.restart();
    await stateWithUnit(size, "B");
    await stateWithUnit(used, "B");
    await stateWithUnit(chosen, "MB");
    expect((await optionsOf(size))["sensor.private"]).toEqual({ suggested_unit_of_measurement: "B" });

    // Set up through its discovery flow: GiB without a restart, the user's MB kept, one log line each.
    await ha.rest.callService("logger", "set_level", { "custom_components.backup2mqtt": "info" });
    const flow = await waitFor(
      async () =>
        (await ha.ws.command<FlowProgress[]>({ type: "config_entries/flow/progress" })).find(
          (f) => f.handler === "backup2mqtt",
        ),
      { timeoutMs: 30_000, description: "backup2mqtt discovery flow" },
    );
    expect((await ha.rest.post<{ type: string }>(`/api/config/config_entries/flow/${flow.flow_id}`, {})).type).toBe(
      "create_entry",
    );
    await waitFor(async () => (await ha.ws.configEntries("backup2mqtt"))[0]?.state === "loaded", {
      description: "backup2mqtt entry loaded",
    });
    await inGiB(size);
    await inGiB(used);
    for (const id of [size, used]) {
      expect(await optionsOf(id)).toMatchObject({
        sensor: { unit_of_measurement: "GiB" },
        "sensor.private": { suggested_unit_of_measurement: "B" },
        backup2mqtt: { size_unit_set: "GiB" },
      });
    }
    expect((await optionsOf(chosen)).sensor).toMatchObject({ unit_of_measurement: "MB" });
    expect((await optionsOf(chosen)).backup2mqtt).toBeUndefined();
    expect((await ha.rest.state(chosen))?.attributes.unit_of_measurement).toBe("MB");
    const logLines = (id: string) =>
      ha
        .logText()
        .split("\n")
        .filter((l) => l.includes(`${id} was registered in B; showing it in GiB`));
    for (const id of [size, used]) expect(logLines(id), id).toHaveLength(1);
    expect(logLines(chosen)).toEqual([]);
    await noIssues([size, used]);

    // A guest registered in B while the integration runs, then today's bridge and a restart: GiB
    // from the first state after the restart, as the others.
    const jellyfin = guest(107, "jellyfin");
    await publishGuest(jellyfin, withSize(jellyfin, OLD_SIZE));
    const late = (await entityOf("backup2mqtt_home_107_backup_size")).entity_id;
    await stateWithUnit(late, "B");
    await statisticsInBytes(late);
    await publish(ctx.topics.deviceConfig(`backup2mqtt_${jellyfin.id}`), guestDiscovery(ctx, jellyfin));
    await publish(ctx.topics.guestState(jellyfin.id), jellyfin);
    await inGiB(late);
    const restartedAt = Date.now();
    await ha.restart();
    for (const id of [size, used, late]) await inGiB(id);
    await stateWithUnit(chosen, "MB");
    expect(await optionsOf(late)).toMatchObject({
      sensor: { unit_of_measurement: "GiB" },
      "sensor.private": { suggested_unit_of_measurement: "B" },
      backup2mqtt: { size_unit_set: "GiB" },
    });
    for (const id of [size, used, late]) {
      // The recorder writes in its own thread: wait for the state with the number.
      const states = await waitFor(
        async () => {
          const h = await statesSince(id, restartedAt);
          return h.some((x) => Math.abs(Number(x.s) - BYTES / GIB) < 1e-9) ? h : undefined;
        },
        { timeoutMs: 30_000, description: `${id}: the number in the history since the restart` },
      );
      expect(new Set(states.map((x) => x.a?.unit_of_measurement)), id).toEqual(new Set(["GiB"]));
    }
    await noIssues([size, used, late]);
    expect(ha.mqttProblems()).toEqual([]);
    const bad = ha
      .logText()
      .split("\n")
      .filter((l) => /\b(ERROR|WARNING|CRITICAL)\b/.test(l) && /backup2mqtt/.test(l))
      // HA warns once per start about every custom integration; that is expected.
      .filter((l) => !/We found a custom integration backup2mqtt which has not been tested/.test(l));
    expect(bad).toEqual([]);
  });
});
