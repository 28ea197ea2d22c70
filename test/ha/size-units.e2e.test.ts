/**
 * Sizes in GiB on an existing install, in a real Home Assistant with the recorder: a "Backup size"
 * sensor published in B with state_class measurement (every version before the GiB change) has
 * long-term statistics in B; the discovery the bridge publishes now (GiB, a template over the
 * same bytes field) must be taken without a statistics issue or a repair. What the sensor then
 * shows is Home Assistant's rule: GiB at once, and after a restart the unit the entity was
 * registered with (B, converted) until the user picks a display unit; a new install shows GiB.
 * A negative control shows the checks bite (a config without state_class is reported). And
 * German entity names change only names: entity ids stay those of English.
 */
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topics } from "../../bridge/src/core/identity.js";
import { guestDiscovery, jsonValue, type DiscoveryContext } from "../../bridge/src/extensions/mqtt/discovery.js";
import type { GuestState } from "../../bridge/src/policy/types.js";
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
  return {
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name,
    type: "qemu",
    node: "pve1",
    tier: "P1",
    tier_source: "tag",
    status: "ok",
    status_reason: "newest backup 2026-11-26T07:00:00.000Z",
    problem: false,
    reasons: [],
    findings: [],
    last_backup: "2026-11-26T07:00:00.000Z",
    last_backup_size: BYTES,
    archive_count: 3,
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
  } as Partial<GuestState> as GuestState;
}

/** The Backup size component as every version before GiB published it (bytes, unit B). */
const OLD_SIZE = {
  device_class: "data_size",
  unit_of_measurement: "B",
  state_class: "measurement",
  value_template: jsonValue("last_backup_size"),
  suggested_display_precision: 0,
};

/** Today's guest payload with the size component as `size` (the old one, or a variant). */
function withSize(g: GuestState, size: Record<string, unknown>, c: DiscoveryContext = ctx) {
  const payload = guestDiscovery(c, g) as { components: Record<string, Record<string, unknown>> };
  const {
    device_class: _dc,
    unit_of_measurement: _u,
    state_class: _sc,
    suggested_display_precision: _p,
    ...keep
  } = payload.components.size!;
  return { ...payload, components: { ...payload.components, size: { ...keep, ...size } } };
}

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
      extraConfigYaml: ["recorder:", "  commit_interval: 0", "repairs:"].join("\n"),
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
});
