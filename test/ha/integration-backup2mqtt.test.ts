/**
 * The custom integration (ha-integration/custom_components/backup2mqtt) in a real Home Assistant
 * (world: integration-world.ts): it is found by the bridge's MQTT announcement and set up through
 * the discovery flow, serves and registers the card, answers its services with response data,
 * raises a repairs issue for an unprotected P0 guest, gives redacted diagnostics, and Assist's
 * "back up vaultwarden" starts a vzdump in the lab while the other sentences answer (every phrasing
 * of the Assist corpus, in English and German: assist-corpus.test.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Lab } from "backup2mqtt-lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTEGRATION_SRC, IntegrationWorld, TOKEN_SECRET, type FlowProgress } from "./integration-world.js";
import { waitFor, type HomeAssistant } from "./runner.js";

describe("backup2mqtt inside Home Assistant: the custom integration", () => {
  const w = new IntegrationWorld();
  let ha: HomeAssistant;
  let lab: Lab;
  beforeAll(async () => {
    await w.start();
    ({ ha, lab } = w);
  });
  afterAll(() => w.stop());

  const waitState = (entityId: string, pred: (s: string) => boolean, description: string, timeoutMs?: number) =>
    w.waitState(entityId, pred, description, timeoutMs);
  const bridgeVzdumps = (vmid: number, sinceMs: number) => w.bridgeVzdumps(vmid, sinceMs);
  const serviceResponse = <T>(domain: string, service: string, data: unknown) =>
    w.serviceResponse<T>(domain, service, data);
  const issues = () => w.issues();
  let entryId = "";

  it("is found through the bridge's MQTT announcement and set up by the discovery flow", async () => {
    const flow = await waitFor(
      async () =>
        (await ha.ws.command<FlowProgress[]>({ type: "config_entries/flow/progress" })).find(
          (f) => f.handler === "backup2mqtt",
        ),
      { timeoutMs: 30_000, description: "backup2mqtt discovery flow" },
    );
    expect(flow.context.source).toBe("mqtt");
    expect(flow.context.unique_id).toBe("backup2mqtt");
    expect(flow.context.title_placeholders).toEqual({ site: "home" });
    expect(flow.step_id).toBe("confirm");
    const done = await ha.rest.post<{ type: string; title: string; result: { entry_id: string } }>(
      `/api/config/config_entries/flow/${flow.flow_id}`,
      {},
    );
    expect(done.type).toBe("create_entry");
    expect(done.title).toBe("backup2mqtt home");
    entryId = done.result.entry_id;
    await waitFor(async () => (await ha.ws.configEntries("backup2mqtt"))[0]?.state === "loaded", {
      description: "backup2mqtt entry loaded",
    });
    // The MQTT entities it builds on exist (they come from the bridge's device discovery).
    await waitState("sensor.vaultwarden_backup_status", (s) => s === "OK", "vaultwarden status ok");
    await waitState("binary_sensor.nextcloud_backup_problem", (s) => s === "on", "nextcloud problem on");
    // It adds no entities of its own.
    expect((await ha.ws.entityRegistry()).filter((e) => e.platform === "backup2mqtt")).toEqual([]);
  });

  it("serves the card's JS", async () => {
    const res = await fetch(`${ha.url}/backup2mqtt_static/backup2mqtt-card.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    const js = await res.text();
    expect(js).toBe(readFileSync(path.join(INTEGRATION_SRC, "www/backup2mqtt-card.js"), "utf8"));
    expect(js).toContain('"backup2mqtt-card"');
  });

  it("get_status answers with response data for scripts and LLM agents", async () => {
    const all = await serviceResponse<{
      bridges: { site: string; online: boolean; counts: Record<string, number> }[];
      guests: {
        name: string;
        status: string;
        problem: boolean;
        tier: string;
        findings: string[];
        device_id: string | null;
      }[];
      summary: { guests: number; problems: number; all_ok: boolean };
    }>("backup2mqtt", "get_status", {});
    expect(all.bridges).toEqual([expect.objectContaining({ site: "home", online: true, version: expect.any(String) })]);
    expect(all.bridges[0]!.counts).toMatchObject({ guests: 5 });
    expect(all.guests.map((g) => g.name).sort()).toEqual([
      "homeassistant",
      "immich",
      "nextcloud",
      "pihole-home",
      "vaultwarden",
    ]);
    expect(all.summary).toEqual({ guests: 5, problems: 3, all_ok: false });
    // problems first
    expect(all.guests.slice(0, 3).every((g) => g.problem)).toBe(true);
    const ha100 = all.guests.find((g) => g.name === "homeassistant")!;
    expect(ha100).toMatchObject({ status: "stale", tier: "P0", problem: true });
    expect(ha100.device_id).toMatch(/^[0-9a-f]{32}$/);
    expect(all.guests.find((g) => g.name === "nextcloud")).toMatchObject({
      status: "ok",
      problem: true,
      findings: ["unprotected"],
    });

    const byDevice = await serviceResponse<{ guests: { name: string }[] }>("backup2mqtt", "get_status", {
      device_id: ha100.device_id,
    });
    expect(byDevice.guests.map((g) => g.name)).toEqual(["homeassistant"]);
    const byStatus = await serviceResponse<{ guests: { name: string }[] }>("backup2mqtt", "get_status", {
      status: ["ok"],
      problems_only: false,
    });
    expect(byStatus.guests.map((g) => g.name).sort()).toEqual(["nextcloud", "pihole-home", "vaultwarden"]);
    const bad = await ha.rest.fetch("/api/services/backup2mqtt/get_status?return_response", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ guest: ["no-such-guest"] }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("no-such-guest");
  });

  it("raises a repairs issue for the unprotected P0 guest (and not for a P2 one)", async () => {
    const ours = await waitFor(
      async () => {
        const list = (await issues()).filter((i) => i.domain === "backup2mqtt");
        return list.length ? list : undefined;
      },
      { description: "backup2mqtt repairs issues" },
    );
    expect(ours).toEqual([
      expect.objectContaining({
        issue_id: "unprotected_home_104",
        severity: "error",
        translation_key: "unprotected_guest",
        translation_placeholders: expect.objectContaining({ guest: "nextcloud", tier: "P0", vmid: "104" }),
      }),
    ]);
  });

  it("gives diagnostics with the bridge's state and no secrets", async () => {
    const res = await ha.rest.fetch(`/api/diagnostics/config_entry/${entryId}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const diag = JSON.parse(text) as {
      data: { hub: { guests: Record<string, unknown>; info: Record<string, unknown>; issues: string[] } };
    };
    expect(Object.keys(diag.data.hub.guests).sort()).toEqual([
      "home_100",
      "home_101",
      "home_102",
      "home_104",
      "home_105",
    ]);
    expect(diag.data.hub.issues).toEqual(["unprotected_home_104"]);
    expect(text).not.toContain(TOKEN_SECRET);
    expect(text).not.toContain(ha.token);
    expect(text).not.toContain(lab.url); // source URLs are redacted
  });

  it("back_up starts a vzdump and reports a refusal with the bridge's reason", async () => {
    const t0 = Date.now();
    const first = await serviceResponse<{ results: { name: string; outcome: string; upid?: string }[] }>(
      "backup2mqtt",
      "back_up",
      {
        guest: ["pihole home"],
      },
    );
    expect(first.results).toEqual([expect.objectContaining({ name: "pihole-home", outcome: "started" })]);
    expect(bridgeVzdumps(105, t0)).toHaveLength(1);
    const second = await serviceResponse<{ results: { outcome: string; reason?: string }[] }>(
      "backup2mqtt",
      "back_up",
      {
        entity_id: "button.pihole_home_back_up_now",
      },
    );
    expect(second.results[0]).toMatchObject({ outcome: "rejected" });
    expect(second.results[0]!.reason).toMatch(/running/i);
    expect(bridgeVzdumps(105, t0)).toHaveLength(1);
    await waitState("sensor.pihole_home_backup_status", (s) => s === "OK", "pihole-home backup finished", 60_000);
  });

  it("Assist: 'back up vaultwarden' starts a vzdump in the lab; the other sentences answer from the bridge", async () => {
    const say = async (text: string) =>
      (
        await ha.rest.post<{ response: { response_type: string; speech: { plain: { speech: string } } } }>(
          "/api/conversation/process",
          { text, language: "en" },
        )
      ).response;
    const t0 = Date.now();
    const r = await say("back up vaultwarden");
    expect(r.speech.plain.speech).toBe("Started a backup of vaultwarden.");
    expect(bridgeVzdumps(102, t0)).toHaveLength(1);
    await waitState("sensor.vaultwarden_backup_status", (s) => s === "Running", "vaultwarden running", 10_000).catch(
      () => undefined,
    );
    await waitState("sensor.vaultwarden_backup_status", (s) => s === "OK", "vaultwarden backup finished", 60_000);

    expect((await say("when was vaultwarden last backed up")).speech.plain.speech).toMatch(
      /^vaultwarden was last backed up (just now|\d+ minutes? ago)\. Status: OK\.$/,
    );
    expect((await say("when was immich backed up")).speech.plain.speech).toMatch(
      /^immich was last backed up 10 days ago\. Status: Stale\. .+/,
    );
    // yes and no the right way round for the question
    const problems = "3 of 5 guests have problems: homeassistant, immich and nextcloud.";
    expect((await say("are my backups ok")).speech.plain.speech).toBe(`No, ${problems}`);
    expect((await say("do any of my backups have problems")).speech.plain.speech).toBe(`Yes, ${problems}`);
    // problems in words, not codes
    expect((await say("what is wrong with the nextcloud container")).speech.plain.speech).toMatch(
      /^nextcloud has (a problem|\d+ problems): [A-Z].+\.$/,
    );
    expect((await say("backup status")).speech.plain.speech).toMatch(/^Backup status of 5 guests: /);
    expect((await say("back up the toaster")).speech.plain.speech).toBe(
      "I don't know a guest called toaster. I know homeassistant, immich, nextcloud, pihole-home and vaultwarden.",
    );
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

  // Last: finishing onboarding's core_config step (left open by the runner) starts flows for
  // integrations this root has no requirements for, which log errors; nothing runs after this.
  it("registers the card as a frontend module (in the index page of every panel)", async () => {
    await ha.rest.post("/api/onboarding/core_config");
    const page = await fetch(`${ha.url}/lovelace/0`, { redirect: "manual" });
    expect(page.status).toBe(200);
    const index = await page.text();
    const match = /\/backup2mqtt_static\/backup2mqtt-card\.js\?v=[0-9a-f]{12}/.exec(index);
    expect(match, "extra module URL in the frontend's index page").not.toBeNull();
    expect((await fetch(`${ha.url}${match![0]}`)).status).toBe(200);
  });
});
