/**
 * The world of the files that test what backup2mqtt puts *inside* Home Assistant
 * (integration-backup2mqtt.test.ts, blueprints.test.ts): a simulated Proxmox lab of five guests
 * (one per situation the integration and the blueprints react to), the bridge in-process, Mosquitto,
 * and a real Home Assistant (runner.ts) with the custom integration installed as HACS would — from
 * the generated HACS repository (`npm run dist`, which `npm run test:ha` runs first), so what is
 * tested is what HACS users download — automations and scripts enabled, and the repository's
 * blueprints served over HTTP for HA's blueprint import.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startLab, type Lab, type Scenario } from "backup2mqtt-lab";
import { labConfig } from "../../bridge/src/demo/lab-wiring.js";
import { startService, type Running } from "../../bridge/src/commands/run.js";
import { createLogger } from "../../bridge/src/log.js";
import {
  startHomeAssistant,
  startMosquitto,
  waitFor,
  type HaState,
  type HomeAssistant,
  type Mosquitto,
} from "./runner.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const INTEGRATION_SRC = path.join(REPO, "dist/hacs-repository/custom_components/backup2mqtt");
export const BLUEPRINTS = path.join(REPO, "blueprints");

export const H = 3600;
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
    {
      id: "backup-p0-daily",
      schedule: "02:00",
      enabled: 1,
      vmid: [100],
      storage: "synology",
      mode: "snapshot",
      compress: "zstd",
      "prune-backups": { "keep-daily": 7, "keep-weekly": 4, "keep-monthly": 6 },
    },
    {
      id: "backup-p1-daily",
      schedule: "02:30",
      enabled: 1,
      vmid: [102],
      storage: "synology",
      mode: "snapshot",
      compress: "zstd",
      "prune-backups": { "keep-daily": 7, "keep-weekly": 4 },
    },
    {
      id: "backup-p2-weekly",
      schedule: "sun 03:00",
      enabled: 0,
      vmid: [101, 104],
      storage: "local",
      mode: "snapshot",
      compress: "zstd",
    },
    {
      id: "backup-p2-pihole",
      schedule: "sun 03:30",
      enabled: 1,
      vmid: [105],
      storage: "synology",
      mode: "snapshot",
      compress: "zstd",
      "prune-backups": { "keep-weekly": 4 },
    },
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
export const TOKEN_SECRET = "7c1e5a2b-0d4f-4e8a-9b6c-3f2a1d0e9c8b";

export interface FlowProgress {
  flow_id: string;
  handler: string;
  step_id?: string;
  context: { source: string; unique_id?: string; title_placeholders?: Record<string, string> };
}
export interface Notification {
  notification_id: string;
  title: string | null;
  message: string;
  created_at: string;
}
export interface Issue {
  domain: string;
  issue_id: string;
  severity: string;
  translation_key: string;
  translation_placeholders: Record<string, string> | null;
}

/** The lab's guests as HA names their entities (`binary_sensor.<name>_backup_problem`, …). */
export const GUEST_SLUGS = ["homeassistant", "immich", "vaultwarden", "nextcloud", "pihole_home"];

export class IntegrationWorld {
  lab!: Lab;
  broker!: Mosquitto;
  bridge!: Running;
  ha!: HomeAssistant;
  blueprintBase = "";
  readonly bridgeLogs: string[] = [];
  private blueprintServer: http.Server | undefined;
  private stateDir = "";

  async start(): Promise<void> {
    this.lab = await startLab({ scenario, taskSpeed: 30, authFailDelayMs: 0 });
    this.broker = await startMosquitto();
    this.stateDir = mkdtempSync(path.join(os.tmpdir(), "b2m-ha-int-"));
    const cfg = labConfig(this.lab, this.broker.url, {
      stateDir: this.stateDir,
      pollMs: 500,
      contentMs: 2_000,
      logLevel: "info",
    });
    const sink = {
      write: (line: string) => {
        this.bridgeLogs.push(line);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    this.bridge = await startService(cfg, {
      log: createLogger("info", () => cfg.secrets, sink),
      fastPollMs: 200,
      birthDelayMs: 100,
      http: false,
    });

    const ha = await startHomeAssistant({
      mqttHost: this.broker.host,
      mqttPort: this.broker.port,
      mqttLogLevel: "debug",
      extraConfigYaml: ["conversation:", "intent:", "diagnostics:", "repairs:"].join("\n"),
    });
    this.ha = ha;
    // Custom integrations are read at start: install it (as HACS would) and restart.
    cpSync(INTEGRATION_SRC, path.join(ha.configDir, "custom_components/backup2mqtt"), {
      recursive: true,
      filter: (src) => !src.includes("__pycache__"),
    });
    writeFileSync(path.join(ha.configDir, "automations.yaml"), "[]\n");
    writeFileSync(path.join(ha.configDir, "scripts.yaml"), "{}\n");
    appendFileSync(
      path.join(ha.configDir, "configuration.yaml"),
      "\nautomation: !include automations.yaml\nscript: !include scripts.yaml\n",
    );
    await ha.restart();

    // Blueprints are imported by URL, as a user would from GitHub: serve the repo's files locally.
    const server = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? "/").replace(/^\/+/, ""));
      const file = path.join(BLUEPRINTS, rel);
      if (!file.startsWith(BLUEPRINTS + path.sep) || !file.endsWith(".yaml")) return void res.writeHead(404).end();
      try {
        res.writeHead(200, { "Content-Type": "text/yaml" }).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    this.blueprintServer = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    this.blueprintBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await this.ha?.stop();
    await this.bridge?.stop().catch(() => undefined);
    await this.broker?.stop();
    await this.lab?.stop();
    if (this.stateDir) rmSync(this.stateDir, { recursive: true, force: true });
    const server = this.blueprintServer;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }

  /** Every guest's status and problem entity shows a real state (the bridge's discovery and states arrived). */
  async settled(): Promise<void> {
    for (const n of GUEST_SLUGS) {
      for (const id of [`sensor.${n}_backup_status`, `binary_sensor.${n}_backup_problem`])
        await this.waitState(id, (s) => !["unknown", "unavailable"].includes(s), `${id} known`);
    }
  }

  /** Accepts the integration's MQTT discovery flow (the bridge's announcement); returns the entry id once it is loaded. */
  async acceptDiscovery(): Promise<string> {
    const flow = await waitFor(
      async () =>
        (await this.ha.ws.command<FlowProgress[]>({ type: "config_entries/flow/progress" })).find(
          (f) => f.handler === "backup2mqtt",
        ),
      { timeoutMs: 30_000, description: "backup2mqtt discovery flow" },
    );
    const done = await this.ha.rest.post<{ type: string; result: { entry_id: string } }>(
      `/api/config/config_entries/flow/${flow.flow_id}`,
      {},
    );
    if (done.type !== "create_entry") throw new Error(`discovery flow ended with ${done.type}`);
    await waitFor(async () => (await this.ha.ws.configEntries("backup2mqtt"))[0]?.state === "loaded", {
      description: "backup2mqtt entry loaded",
    });
    return done.result.entry_id;
  }

  async notifications(): Promise<Notification[]> {
    return await this.ha.ws.command<Notification[]>({ type: "persistent_notification/get" });
  }

  async notification(id: string): Promise<Notification | undefined> {
    return (await this.notifications()).find((n) => n.notification_id === id);
  }

  async issues(): Promise<Issue[]> {
    return (await this.ha.ws.command<{ issues: Issue[] }>({ type: "repairs/list_issues" })).issues;
  }

  /** A service call's response data (`?return_response`). */
  async serviceResponse<T>(domain: string, service: string, data: unknown): Promise<T> {
    return (
      await this.ha.rest.post<{ service_response: T }>(`/api/services/${domain}/${service}?return_response`, data)
    ).service_response;
  }

  /** The vzdump tasks of a guest that the bridge's token started since `sinceMs`. */
  bridgeVzdumps(vmid: number, sinceMs: number) {
    return this.lab.control.state.tasks.filter(
      (t) => t.type === "vzdump" && t.id === String(vmid) && t.authid.endsWith("!bridge") && t.startMs >= sinceMs,
    );
  }

  /** Waits until the entity's state satisfies `pred`; returns that state. */
  async waitState(
    entityId: string,
    pred: (s: string) => boolean,
    description: string,
    timeoutMs = 30_000,
  ): Promise<HaState> {
    return await waitFor(
      async () => {
        const s = await this.ha.rest.state(entityId);
        return s && pred(s.state) ? s : undefined;
      },
      { timeoutMs, description },
    );
  }
}
