/**
 * Everything backup2mqtt puts *inside* Home Assistant, proven against a real Home Assistant:
 * the simulated Proxmox lab + the bridge + Mosquitto + hass (test/ha/runner.ts).
 *
 * - the custom integration (ha-integration/custom_components/backup2mqtt) is found by its MQTT
 *   discovery topic, set up through the discovery flow, serves and registers the card, answers
 *   its services with response data, raises a repairs issue for an unprotected P0 guest and
 *   gives redacted diagnostics;
 * - Assist: "back up vaultwarden" starts a vzdump in the lab; the other sentences answer;
 * - every blueprint (blueprints/**) is imported by URL through HA's blueprint import and saved;
 *   automations/scripts built from them run: a lab guest going stale notifies (and does not during
 *   quiet hours), a trigger backs up a guest and notifies the result, the weekly digest lists what
 *   is not ok, the script returns its result.
 */
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab, type Scenario } from "backup2mqtt-lab";
import { labConfig } from "../../bridge/src/demo/lab-wiring.js";
import { startService, type Running } from "../../bridge/src/commands/run.js";
import { createLogger } from "../../bridge/src/log.js";
import { startHomeAssistant, startMosquitto, waitFor, type HomeAssistant, type Mosquitto } from "./runner.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const INTEGRATION_SRC = path.join(REPO, "ha-integration/custom_components/backup2mqtt");
const BLUEPRINTS = path.join(REPO, "blueprints");

const H = 3600;
/** P0 100 stale (and is made ok, then stale again by the clock), P2 101 stale + unprotected,
 * P1 102 ok, P0 104 ok but unprotected (no enabled job), P2 105 ok. */
const scenario = {
  description: "backup2mqtt HA integration test lab",
  cluster: "homelab",
  nodes: [{ name: "proxmox-home", timezone: "Europe/Berlin" }],
  storages: [
    { id: "local", type: "dir", content: ["backup", "iso"], path: "/var/lib/vz" },
    { id: "synology", type: "nfs", shared: 1, content: ["backup"], path: "/mnt/pve/synology" },
  ],
  guests: [
    { vmid: 100, type: "qemu", name: "homeassistant", node: "proxmox-home", tags: ["backup-p0"], backupSeconds: 60 },
    { vmid: 101, type: "qemu", name: "immich", node: "proxmox-home", tags: ["backup-p2"], backupSeconds: 60 },
    { vmid: 102, type: "qemu", name: "vaultwarden", node: "proxmox-home", tags: ["backup-p1"], backupSeconds: 60 },
    { vmid: 104, type: "lxc", name: "nextcloud", node: "proxmox-home", tags: ["backup-p0"], backupSeconds: 60 },
    { vmid: 105, type: "lxc", name: "pihole-home", node: "proxmox-home", tags: ["backup-p2"], backupSeconds: 150 },
  ],
  jobs: [
    { id: "backup-p0-daily", schedule: "02:00", enabled: 1, vmid: [100], storage: "synology", mode: "snapshot", compress: "zstd", "prune-backups": { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 } },
    { id: "backup-p1-daily", schedule: "02:30", enabled: 1, vmid: [102], storage: "synology", mode: "snapshot", compress: "zstd", "prune-backups": { "keep-daily": 7, "keep-weekly": 4 } },
    { id: "backup-p2-weekly", schedule: "sun 03:00", enabled: 0, vmid: [101, 104], storage: "local", mode: "snapshot", compress: "zstd" },
    { id: "backup-p2-pihole", schedule: "sun 03:30", enabled: 1, vmid: [105], storage: "synology", mode: "snapshot", compress: "zstd", "prune-backups": { "keep-weekly": 4 } },
  ],
  archives: [
    { vmid: 100, storage: "synology", age: "30h", notes: "homeassistant" },
    { vmid: 101, storage: "local", age: "10d", notes: "immich" },
    { vmid: 102, storage: "synology", age: "5h", notes: "vaultwarden" },
    { vmid: 104, storage: "synology", age: "2h", notes: "nextcloud" },
    { vmid: 105, storage: "synology", age: "3h", notes: "pihole-home" },
  ],
  tokens: [
    {
      id: "backup2mqtt@pve!bridge",
      secret: "7c1e5a2b-0d4f-4e8a-9b6c-3f2a1d0e9c8b",
      acl: [
        { path: "/", roles: ["PVEAuditor"] },
        { path: "/storage", roles: ["PVEAuditor"], privs: ["Datastore.AllocateSpace"] },
        { path: "/vms", roles: ["PVEAuditor"], privs: ["VM.Backup"] },
      ],
    },
  ],
} as unknown as Scenario;
const TOKEN_SECRET = "7c1e5a2b-0d4f-4e8a-9b6c-3f2a1d0e9c8b";

interface FlowProgress {
  flow_id: string;
  handler: string;
  step_id?: string;
  context: { source: string; unique_id?: string; title_placeholders?: Record<string, string> };
}
interface Notification {
  notification_id: string;
  title: string | null;
  message: string;
  created_at: string;
}
interface Issue {
  domain: string;
  issue_id: string;
  severity: string;
  translation_key: string;
  translation_placeholders: Record<string, string> | null;
}

describe("backup2mqtt inside Home Assistant", () => {
  let lab: Lab;
  let broker: Mosquitto;
  let bridge: Running;
  let ha: HomeAssistant;
  let blueprintServer: http.Server;
  let blueprintBase = "";
  let entryId = "";
  let stateDir = "";
  const bridgeLogs: string[] = [];

  const notifications = async () => await ha.ws.command<Notification[]>({ type: "persistent_notification/get" });
  const notification = async (id: string) => (await notifications()).find((n) => n.notification_id === id);
  const issues = async () => (await ha.ws.command<{ issues: Issue[] }>({ type: "repairs/list_issues" })).issues;
  const serviceResponse = async <T>(domain: string, service: string, data: unknown) =>
    (await ha.rest.post<{ service_response: T }>(`/api/services/${domain}/${service}?return_response`, data)).service_response;
  const bridgeVzdumps = (vmid: number, sinceMs: number) =>
    lab.control.state.tasks.filter((t) => t.type === "vzdump" && t.id === String(vmid) && t.authid.endsWith("!bridge") && t.startMs >= sinceMs);
  const waitState = async (entityId: string, pred: (s: string) => boolean, description: string, timeoutMs = 30_000) =>
    await waitFor(async () => {
      const s = await ha.rest.state(entityId);
      return s && pred(s.state) ? s : undefined;
    }, { timeoutMs, description });

  beforeAll(async () => {
    lab = await startLab({ scenario, taskSpeed: 30, authFailDelayMs: 0 });
    broker = await startMosquitto();
    stateDir = mkdtempSync(path.join(os.tmpdir(), "b2m-ha-int-"));
    const cfg = labConfig(lab, broker.url, { stateDir, pollMs: 500, contentMs: 2_000, logLevel: "info" });
    const sink = { write: (line: string) => (bridgeLogs.push(line), true) } as unknown as NodeJS.WritableStream;
    bridge = await startService(cfg, { log: createLogger("info", () => cfg.secrets, sink), fastPollMs: 200, birthDelayMs: 100, http: false });

    ha = await startHomeAssistant({
      mqttHost: broker.host,
      mqttPort: broker.port,
      mqttLogLevel: "debug",
      extraConfigYaml: ["conversation:", "intent:", "diagnostics:", "repairs:"].join("\n"),
    });
    // Custom integrations are read at start: install it (as HACS would) and restart.
    cpSync(INTEGRATION_SRC, path.join(ha.configDir, "custom_components/backup2mqtt"), {
      recursive: true,
      filter: (src) => !src.includes("__pycache__"),
    });
    writeFileSync(path.join(ha.configDir, "automations.yaml"), "[]\n");
    writeFileSync(path.join(ha.configDir, "scripts.yaml"), "{}\n");
    appendFileSync(path.join(ha.configDir, "configuration.yaml"), "\nautomation: !include automations.yaml\nscript: !include scripts.yaml\n");
    await ha.restart();

    // Blueprints are imported by URL, as a user would from GitHub: serve the repo's files locally.
    blueprintServer = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? "/").replace(/^\/+/, ""));
      const file = path.join(BLUEPRINTS, rel);
      if (!file.startsWith(BLUEPRINTS + path.sep) || !file.endsWith(".yaml")) return void res.writeHead(404).end();
      try {
        res.writeHead(200, { "Content-Type": "text/yaml" }).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => blueprintServer.listen(0, "127.0.0.1", r));
    blueprintBase = `http://127.0.0.1:${(blueprintServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await ha?.stop();
    await bridge?.stop().catch(() => undefined);
    await broker?.stop();
    await lab?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    await new Promise<void>((r) => (blueprintServer ? blueprintServer.close(() => r()) : r()));
  });

  it("is found through the bridge's MQTT announcement and set up by the discovery flow", async () => {
    const flow = await waitFor(
      async () =>
        (await ha.ws.command<FlowProgress[]>({ type: "config_entries/flow/progress" })).find((f) => f.handler === "backup2mqtt"),
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
    await waitState("sensor.vaultwarden_backup_status", (s) => s === "ok", "vaultwarden status ok");
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
      guests: { name: string; status: string; problem: boolean; tier: string; findings: string[]; device_id: string | null }[];
      summary: { guests: number; problems: number; all_ok: boolean };
    }>("backup2mqtt", "get_status", {});
    expect(all.bridges).toEqual([expect.objectContaining({ site: "home", online: true, version: expect.any(String) })]);
    expect(all.bridges[0]!.counts).toMatchObject({ guests: 5 });
    expect(all.guests.map((g) => g.name).sort()).toEqual(["homeassistant", "immich", "nextcloud", "pihole-home", "vaultwarden"]);
    expect(all.summary).toEqual({ guests: 5, problems: 3, all_ok: false });
    // problems first
    expect(all.guests.slice(0, 3).every((g) => g.problem)).toBe(true);
    const ha100 = all.guests.find((g) => g.name === "homeassistant")!;
    expect(ha100).toMatchObject({ status: "stale", tier: "P0", problem: true });
    expect(ha100.device_id).toMatch(/^[0-9a-f]{32}$/);
    expect(all.guests.find((g) => g.name === "nextcloud")).toMatchObject({ status: "ok", problem: true, findings: ["unprotected"] });

    const byDevice = await serviceResponse<{ guests: { name: string }[] }>("backup2mqtt", "get_status", { device_id: ha100.device_id });
    expect(byDevice.guests.map((g) => g.name)).toEqual(["homeassistant"]);
    const byStatus = await serviceResponse<{ guests: { name: string }[] }>("backup2mqtt", "get_status", { status: ["ok"], problems_only: false });
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
    const ours = await waitFor(async () => {
      const list = (await issues()).filter((i) => i.domain === "backup2mqtt");
      return list.length ? list : undefined;
    }, { description: "backup2mqtt repairs issues" });
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
    const diag = JSON.parse(text) as { data: { hub: { guests: Record<string, unknown>; info: Record<string, unknown>; issues: string[] } } };
    expect(Object.keys(diag.data.hub.guests).sort()).toEqual(["home_100", "home_101", "home_102", "home_104", "home_105"]);
    expect(diag.data.hub.issues).toEqual(["unprotected_home_104"]);
    expect(text).not.toContain(TOKEN_SECRET);
    expect(text).not.toContain(ha.token);
    expect(text).not.toContain(lab.url); // source URLs are redacted
  });

  it("back_up starts a vzdump and reports a refusal with the bridge's reason", async () => {
    const t0 = Date.now();
    const first = await serviceResponse<{ results: { name: string; outcome: string; upid?: string }[] }>("backup2mqtt", "back_up", {
      guest: ["pihole home"],
    });
    expect(first.results).toEqual([expect.objectContaining({ name: "pihole-home", outcome: "started" })]);
    expect(bridgeVzdumps(105, t0)).toHaveLength(1);
    const second = await serviceResponse<{ results: { outcome: string; reason?: string }[] }>("backup2mqtt", "back_up", {
      entity_id: "button.pihole_home_back_up_now",
    });
    expect(second.results[0]).toMatchObject({ outcome: "rejected" });
    expect(second.results[0]!.reason).toMatch(/running/i);
    expect(bridgeVzdumps(105, t0)).toHaveLength(1);
    await waitState("sensor.pihole_home_backup_status", (s) => s === "ok", "pihole-home backup finished", 60_000);
  });

  it("Assist: 'back up vaultwarden' starts a vzdump in the lab; the other sentences answer from the bridge", async () => {
    const say = async (text: string) =>
      (await ha.rest.post<{ response: { response_type: string; speech: { plain: { speech: string } } } }>("/api/conversation/process", { text, language: "en" }))
        .response;
    const t0 = Date.now();
    const r = await say("back up vaultwarden");
    expect(r.speech.plain.speech).toBe("Started a backup of vaultwarden.");
    expect(bridgeVzdumps(102, t0)).toHaveLength(1);
    await waitState("sensor.vaultwarden_backup_status", (s) => s === "running", "vaultwarden running", 10_000).catch(() => undefined);
    await waitState("sensor.vaultwarden_backup_status", (s) => s === "ok", "vaultwarden backup finished", 60_000);

    expect((await say("when was vaultwarden last backed up")).speech.plain.speech).toMatch(/^vaultwarden was last backed up (just now|\d+ minutes? ago), which is within its tier P1\.$/);
    expect((await say("when was immich last backed up")).speech.plain.speech).toMatch(/^immich was last backed up 10 days ago\. It is stale/);
    const status = (await say("are my backups ok")).speech.plain.speech;
    expect(status).toMatch(/^No, 3 of 5 need attention: /);
    expect(status).toContain("homeassistant is stale");
    expect(status).toContain("nextcloud is unprotected");
    expect((await say("back up the toaster")).speech.plain.speech).toBe("I don't know a guest called toaster.");
  });

  const blueprintFiles = (domain: string) => readdirSync(path.join(BLUEPRINTS, domain, "backup2mqtt")).filter((f) => f.endsWith(".yaml"));

  it("every blueprint is accepted by Home Assistant's blueprint import and saved", async () => {
    const all = [...blueprintFiles("automation").map((f) => ["automation", f]), ...blueprintFiles("script").map((f) => ["script", f])];
    expect(all.length).toBe(4);
    for (const [domain, file] of all) {
      const url = `${blueprintBase}/${domain}/backup2mqtt/${file}`;
      const imported = await ha.ws.command<{ raw_data: string; blueprint: { metadata: { domain: string; name: string; input: Record<string, unknown> } }; validation_errors: string[] | null }>({
        type: "blueprint/import",
        url,
      });
      expect(imported.validation_errors, `${file}: ${JSON.stringify(imported.validation_errors)}`).toBeNull();
      expect(imported.blueprint.metadata.domain).toBe(domain);
      await ha.ws.command({ type: "blueprint/save", domain, path: `backup2mqtt/${file}`, yaml: imported.raw_data, source_url: url });
    }
    for (const domain of ["automation", "script"]) {
      const listed = await ha.ws.command<Record<string, { metadata?: unknown; error?: string }>>({ type: "blueprint/list", domain });
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
      const full = await ha.ws.command<Record<string, unknown>>({ type: "trace/get", domain: "automation", item_id: itemId, run_id: t.run_id });
      out.push({ summary: t, trace: full.trace, error: full.error, config_vars: (full.context as unknown) ?? null });
    }
    return JSON.stringify(out, null, 1).slice(0, 20_000);
  };
  const problemEntities = ["homeassistant", "immich", "vaultwarden", "nextcloud", "pihole_home"].map((n) => `binary_sensor.${n}_backup_problem`);
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
      notify_action: [{ action: "persistent_notification.create", data: { notification_id: "quiet_{{ notification_id }}", message: "{{ message }}" } }],
    });
    expect((await notifications()).filter((n) => n.notification_id.startsWith("backup2mqtt_problem_"))).toEqual([]);

    // homeassistant (P0, 26 h) gets a fresh-enough archive: ok now, stale again in 12 s, at the
    // instant its newest archive passes 26 h (the bridge's timer, not the next poll).
    lab.control.addArchive({ vmid: 100, storage: "synology", ageSeconds: 26 * H - 12, notes: "homeassistant" });
    await waitState("binary_sensor.homeassistant_backup_problem", (s) => s === "off", "homeassistant ok again", 20_000);
    const note = await waitFor(async () => await notification("backup2mqtt_problem_binary_sensor_homeassistant_backup_problem"), {
      timeoutMs: 30_000,
      description: "stale notification",
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}\n--- traces of automation b2m_problem ---\n${await traces("b2m_problem")}`);
    });
    expect(note.title).toBe("Backup problem: homeassistant");
    expect(note.message).toMatch(/^homeassistant \(P0\): backup is stale\./);
    expect(note.message).toMatch(/Since \d{4}-\d\d-\d\d \d\d:\d\d \(\d+ seconds? ago\)\./);
    expect(note.message).toMatch(/Last good backup: \d{4}-\d\d-\d\d \d\d:\d\d\./);
    expect((await ha.rest.state("sensor.homeassistant_backup_status"))?.state).toBe("stale");
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
      notify_action: [{ action: "persistent_notification.create", data: { notification_id: "b2m_button_result", title: "{{ title }}", message: "{{ message }}" } }],
    });
    const t0 = Date.now();
    await ha.rest.post("/api/events/b2m_test_button", {});
    const note = await waitFor(async () => await notification("b2m_button_result"), { timeoutMs: 60_000, description: "button result notification" });
    expect(note.title).toBe("Backup of vaultwarden: finished");
    expect(note.message).toBe("The backup of vaultwarden finished.");
    expect(bridgeVzdumps(102, t0)).toHaveLength(1);
  });

  it("weekly digest blueprint lists every guest that is not ok", async () => {
    const at = new Date(Date.now() + 8_000);
    const weekday = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][at.getUTCDay()];
    await createAutomation("b2m_digest", "Backup digest", "weekly_backup_digest.yaml", {
      status_entities: ["homeassistant", "immich", "vaultwarden", "nextcloud", "pihole_home"].map((n) => `sensor.${n}_backup_status`),
      weekday,
      at: hhmmss(at),
    });
    const note = await waitFor(async () => await notification("backup2mqtt_weekly_digest"), { timeoutMs: 30_000, description: "weekly digest" });
    expect(note.title).toBe("Backups: 3 of 5 guests need attention");
    expect(note.message).toContain("• homeassistant — stale");
    expect(note.message).toContain("• immich — stale");
    expect(note.message).toContain("• nextcloud — ok: ");
    expect(note.message).toContain("OK: vaultwarden, pihole-home");
  });

  it("script blueprint backs up a guest and returns the result", async () => {
    await ha.rest.post("/api/config/script/config/back_up_guest", {
      alias: "Back up a guest",
      use_blueprint: {
        path: "backup2mqtt/back_up_guest.yaml",
        input: { default_buttons: ["button.immich_back_up_now"], wait_for_result: true, timeout: { hours: 0, minutes: 1, seconds: 0 } },
      },
    });
    await waitState("script.back_up_guest", (s) => s === "off", "script.back_up_guest exists");
    const t0 = Date.now();
    const res = await serviceResponse<{ guests: string[]; results: Record<string, string> }>("script", "back_up_guest", {});
    expect(res).toEqual({ guests: ["immich"], results: { immich: "backup_finished" } });
    expect(bridgeVzdumps(101, t0)).toHaveLength(1);
    // a guest field overrides the default
    const res2 = await serviceResponse<{ guests: string[] }>("script", "back_up_guest", { guest: "button.nextcloud_back_up_now" });
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
