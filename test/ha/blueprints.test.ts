/**
 * The blueprints (blueprints/**) in a real Home Assistant (world: integration-world.ts): each is
 * imported by URL through HA's blueprint import and saved, and automations/scripts built from them
 * run against the lab: a guest going stale notifies (and does not during quiet hours), a trigger
 * backs up a guest and notifies the result, the weekly digest lists what is not ok, the script
 * returns its result.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import type { Lab } from "backup2mqtt-lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BLUEPRINTS, H, IntegrationWorld } from "./integration-world.js";
import { waitFor, type HomeAssistant } from "./runner.js";

describe("backup2mqtt inside Home Assistant: the blueprints", () => {
  const w = new IntegrationWorld();
  let ha: HomeAssistant;
  let lab: Lab;
  let blueprintBase = "";
  beforeAll(async () => {
    await w.start();
    ({ ha, lab, blueprintBase } = w);
    await w.settled();
  });
  afterAll(() => w.stop());

  const notifications = () => w.notifications();
  const notification = (id: string) => w.notification(id);
  const waitState = (entityId: string, pred: (s: string) => boolean, description: string, timeoutMs?: number) =>
    w.waitState(entityId, pred, description, timeoutMs);
  const bridgeVzdumps = (vmid: number, sinceMs: number) => w.bridgeVzdumps(vmid, sinceMs);
  const serviceResponse = <T>(domain: string, service: string, data: unknown) =>
    w.serviceResponse<T>(domain, service, data);

  const blueprintFiles = (domain: string) =>
    readdirSync(path.join(BLUEPRINTS, domain, "backup2mqtt")).filter((f) => f.endsWith(".yaml"));

  it("every blueprint is accepted by Home Assistant's blueprint import and saved", async () => {
    const all = [
      ...blueprintFiles("automation").map((f) => ["automation", f]),
      ...blueprintFiles("script").map((f) => ["script", f]),
    ];
    expect(all.length).toBe(5);
    for (const [domain, file] of all) {
      const url = `${blueprintBase}/${domain}/backup2mqtt/${file}`;
      const imported = await ha.ws.command<{
        raw_data: string;
        blueprint: { metadata: { domain: string; name: string; input: Record<string, unknown> } };
        validation_errors: string[] | null;
      }>({
        type: "blueprint/import",
        url,
      });
      expect(imported.validation_errors, `${file}: ${JSON.stringify(imported.validation_errors)}`).toBeNull();
      expect(imported.blueprint.metadata.domain).toBe(domain);
      await ha.ws.command({
        type: "blueprint/save",
        domain,
        path: `backup2mqtt/${file}`,
        yaml: imported.raw_data,
        source_url: url,
      });
    }
    for (const domain of ["automation", "script"]) {
      const listed = await ha.ws.command<Record<string, { metadata?: unknown; error?: string }>>({
        type: "blueprint/list",
        domain,
      });
      for (const file of blueprintFiles(domain)) {
        const entry = listed[`backup2mqtt/${file}`];
        expect(entry, `${domain}/${file} listed`).toBeDefined();
        expect(entry!.error, `${domain}/${file}`).toBeUndefined();
      }
    }
  });

  const createAutomation = async (id: string, alias: string, blueprint: string, input: Record<string, unknown>) => {
    await ha.rest.post(`/api/config/automation/config/${id}`, {
      alias,
      use_blueprint: { path: `backup2mqtt/${blueprint}`, input },
    });
    const entityId = `automation.${alias.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
    await waitState(entityId, (s) => s === "on", `${entityId} on`);
    return entityId;
  };
  /** On failure: what the automation did (its traces), for the error message. */
  const traces = async (itemId: string) => {
    const list = await ha.ws.command<{ run_id: string; state: string; script_execution: string; trigger: string }[]>({
      type: "trace/list",
      domain: "automation",
      item_id: itemId,
    });
    const out: unknown[] = [];
    for (const t of list.slice(-3)) {
      const full = await ha.ws.command<Record<string, unknown>>({
        type: "trace/get",
        domain: "automation",
        item_id: itemId,
        run_id: t.run_id,
      });
      out.push({ summary: t, trace: full.trace, error: full.error, config_vars: (full.context as unknown) ?? null });
    }
    return JSON.stringify(out, null, 1).slice(0, 20_000);
  };
  const problemEntities = ["homeassistant", "immich", "vaultwarden", "nextcloud", "pihole_home"].map(
    (n) => `binary_sensor.${n}_backup_problem`,
  );
  const hhmmss = (d: Date) => d.toISOString().slice(11, 19); // HA runs in UTC here

  it("problem blueprint: a lab guest going stale creates a notification (and none inside quiet hours)", async () => {
    await createAutomation("b2m_problem", "Backup problem", "backup_problem_notification.yaml", {
      problem_entities: problemEntities,
      delay: { hours: 0, minutes: 0, seconds: 0 },
      quiet_start: "00:00:00",
      quiet_end: "00:00:00", // same = no quiet hours
    });
    const now = new Date();
    await createAutomation("b2m_problem_quiet", "Backup problem quiet", "backup_problem_notification.yaml", {
      problem_entities: problemEntities,
      delay: { hours: 0, minutes: 0, seconds: 0 },
      quiet_start: hhmmss(new Date(now.getTime() - H * 1000)),
      quiet_end: hhmmss(new Date(now.getTime() + H * 1000)),
      notify_action: [
        {
          action: "persistent_notification.create",
          data: { notification_id: "quiet_{{ notification_id }}", message: "{{ message }}" },
        },
      ],
    });
    expect((await notifications()).filter((n) => n.notification_id.startsWith("backup2mqtt_problem_"))).toEqual([]);

    // homeassistant (P0, 26 h) gets a fresh-enough archive: ok now, stale again in 12 s, at the
    // instant its newest archive passes 26 h (the bridge's timer, not the next poll).
    lab.control.addArchive({ vmid: 100, storage: "synology", ageSeconds: 26 * H - 12, notes: "homeassistant" });
    await waitState("binary_sensor.homeassistant_backup_problem", (s) => s === "off", "homeassistant ok again", 20_000);
    const note = await waitFor(
      async () => await notification("backup2mqtt_problem_binary_sensor_homeassistant_backup_problem"),
      {
        timeoutMs: 30_000,
        description: "stale notification",
      },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n--- traces of automation b2m_problem ---\n${await traces("b2m_problem")}`);
    });
    expect(note.title).toBe("Backup problem: homeassistant");
    expect(note.message).toMatch(/^homeassistant \(P0\): backup is stale\./);
    expect(note.message).toMatch(/Since [A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, \d\d:\d\d \(\d+ seconds? ago\)\./);
    expect(note.message).toMatch(/Last good backup: [A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, \d\d:\d\d\./);
    expect(note.message).not.toMatch(/\.\./); // reasons are sentences: no doubled period
    expect((await ha.rest.state("sensor.homeassistant_backup_status"))?.state).toBe("Stale");
    // The quiet-hours instance saw the same change and stayed silent.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await notifications()).filter((n) => n.notification_id.startsWith("quiet_"))).toEqual([]);
    // Only the guest that changed was reported.
    expect((await notifications()).filter((n) => n.notification_id.startsWith("backup2mqtt_problem_"))).toHaveLength(1);
  });

  it("button blueprint: any trigger backs up the chosen guests and notifies the result", async () => {
    await createAutomation("b2m_button", "Backup button", "backup_on_trigger.yaml", {
      triggers: [{ trigger: "event", event_type: "b2m_test_button" }],
      backup_buttons: ["button.vaultwarden_back_up_now"],
      timeout: { hours: 0, minutes: 1, seconds: 0 },
      notify_action: [
        {
          action: "persistent_notification.create",
          data: { notification_id: "b2m_button_result", title: "{{ title }}", message: "{{ message }}" },
        },
      ],
    });
    const t0 = Date.now();
    await ha.rest.post("/api/events/b2m_test_button", {});
    const note = await waitFor(async () => await notification("b2m_button_result"), {
      timeoutMs: 60_000,
      description: "button result notification",
    });
    expect(note.title).toBe("Backup of vaultwarden: finished");
    expect(note.message).toBe("The backup of vaultwarden finished.");
    expect(bridgeVzdumps(102, t0)).toHaveLength(1);
  });

  it("weekly digest blueprint lists every guest that is not ok", async () => {
    const at = new Date(Date.now() + 8_000);
    const weekday = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][at.getUTCDay()];
    await createAutomation("b2m_digest", "Backup digest", "weekly_backup_digest.yaml", {
      status_entities: ["homeassistant", "immich", "vaultwarden", "nextcloud", "pihole_home"].map(
        (n) => `sensor.${n}_backup_status`,
      ),
      weekday,
      at: hhmmss(at),
    });
    const note = await waitFor(async () => await notification("backup2mqtt_weekly_digest"), {
      timeoutMs: 30_000,
      description: "weekly digest",
    });
    expect(note.title).toBe("Backups: 3 of 5 guests need attention");
    expect(note.message).toContain("• homeassistant — Stale");
    expect(note.message).toContain("• immich — Stale");
    expect(note.message).toContain("• nextcloud — OK: ");
    expect(note.message).toContain("OK: vaultwarden, pihole-home");
  });

  it("script blueprint backs up a guest and returns the result", async () => {
    await ha.rest.post("/api/config/script/config/back_up_guest", {
      alias: "Back up a guest",
      use_blueprint: {
        path: "backup2mqtt/back_up_guest.yaml",
        input: {
          default_buttons: ["button.immich_back_up_now"],
          wait_for_result: true,
          timeout: { hours: 0, minutes: 1, seconds: 0 },
        },
      },
    });
    await waitState("script.back_up_guest", (s) => s === "off", "script.back_up_guest exists");
    const t0 = Date.now();
    const res = await serviceResponse<{ guests: string[]; results: Record<string, string> }>(
      "script",
      "back_up_guest",
      {},
    );
    expect(res).toEqual({ guests: ["immich"], results: { immich: "backup_finished" } });
    expect(bridgeVzdumps(101, t0)).toHaveLength(1);
    // a guest field overrides the default
    const res2 = await serviceResponse<{ guests: string[] }>("script", "back_up_guest", {
      guest: "button.nextcloud_back_up_now",
    });
    expect(res2.guests).toEqual(["nextcloud"]);
  });

  it("left no errors from the integration or the blueprints in Home Assistant's log", () => {
    const bad = ha
      .logText()
      .split("\n")
      .filter((l) => /\b(ERROR|WARNING|CRITICAL)\b/.test(l))
      .filter((l) => /backup2mqtt|blueprint|automation|script|template|conversation/i.test(l))
      // HA warns once about every custom integration; that is expected.
      .filter((l) => !/We found a custom integration backup2mqtt which has not been tested by Home Assistant/.test(l));
    expect(bad).toEqual([]);
    expect(ha.mqttProblems()).toEqual([]);
  });
});
