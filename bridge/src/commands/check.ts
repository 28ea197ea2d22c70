import mqtt from "mqtt";
import fs from "node:fs";
import { ConfigError, loadConfig, type Config, type SshConfig } from "../config/load.js";
import { PveHttp, PveError } from "../sources/pve/http.js";
import { permissionsSchema, resourcesSchema, versionSchema } from "../sources/pve/schemas.js";
import { Permissions } from "../sources/pve/permissions.js";
import { DsmClient } from "../sources/dsm/client.js";
import { deviceTokenFile } from "../sources/dsm/source.js";
import { PbsClient } from "../sources/pbs/client.js";
import { Datastores, Permissions as PbsPermissionsSchema } from "../sources/pbs/schemas.js";
import { PbsPermissions } from "../sources/pbs/permissions.js";
import { sshExec, sshTargetFor } from "../sources/ssh/client.js";
import { count } from "../words/count.js";

export interface CheckLine {
  ok: boolean;
  text: string;
  /** Works, but probably not as meant (a config warning): printed as WARN, does not fail the check. */
  warn?: boolean;
}

/** Validates the config and reaches every source once. Returns the lines to print; any !ok fails the check. */
export async function checkConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckLine[]> {
  let cfg: Config;
  try {
    cfg = loadConfig(file, env);
  } catch (e) {
    if (e instanceof ConfigError)
      return e.problems.map((p) => ({
        ok: false,
        text: `${file}:${p.line ?? "-"}:${p.column ?? "-"}: ${p.key || "(root)"}: ${p.message}`,
      }));
    throw e;
  }
  const lines: CheckLine[] = [
    {
      ok: true,
      text: `${file}: configuration is valid (${count(cfg.proxmox.length, "Proxmox source")}, tiers ${Object.keys(cfg.tiers).join(", ")})`,
    },
  ];
  for (const w of cfg.warnings ?? [])
    lines.push({
      ok: true,
      warn: true,
      text: `${file}:${w.line ?? "-"}:${w.column ?? "-"}: ${w.key || "(root)"}: ${w.message}`,
    });
  for (const px of cfg.proxmox) {
    const http = new PveHttp(px, 0);
    try {
      const v = await http.get("/version", versionSchema);
      const res = await http.get("/cluster/resources", resourcesSchema, { type: "vm" });
      lines.push({
        ok: true,
        text: `proxmox '${px.name}': reachable, PVE ${v.version}, ${res.filter((r) => r.type === "qemu" || r.type === "lxc").length} guests visible`,
      });
      try {
        const perms = new Permissions(await http.get("/access/permissions", permissionsSchema));
        const need = [
          ["Sys.Audit", "/", "read backup jobs"],
          ["VM.Audit", "/vms", "see guests"],
          ["Datastore.Audit", "/storage", "see storages"],
          ["VM.Backup", "/vms", "see archives and run backups"],
          ["Datastore.AllocateSpace", "/storage", "see archives and run backups"],
        ] as const;
        for (const [priv, path, why] of need) {
          if (!perms.has(priv, path))
            lines.push({ ok: false, text: `proxmox '${px.name}': token lacks ${priv} on ${path} (needed to ${why})` });
        }
      } catch (e) {
        lines.push({
          ok: false,
          text: `proxmox '${px.name}': cannot read the token's privileges: ${(e as Error).message}`,
        });
      }
    } catch (e) {
      lines.push({
        ok: false,
        text: `proxmox '${px.name}': ${e instanceof PveError ? `${e.kind}: ` : ""}${(e as Error).message}`,
      });
    } finally {
      await http.close();
    }
    if (px.ssh) lines.push(...(await checkSsh(px.name, px.ssh)));
  }
  for (const nas of cfg.synology ?? []) lines.push(await checkSynology(cfg, nas));
  for (const pbs of cfg.pbs ?? []) lines.push(...(await checkPbs(pbs)));
  lines.push(await checkMqtt(cfg));
  return lines;
}

/**
 * Verification, restore checks and `backup.method: ssh` need SSH to each node: log in to the default
 * host and to every per-node entry, with the pinned host key, and run `pveversion` (a Proxmox VE
 * node answers; anything else is not the machine the config means). A bad key file, a wrong host
 * key or a refused login shows here instead of at the first verification.
 */
async function checkSsh(source: string, ssh: SshConfig): Promise<CheckLine[]> {
  const targets: [string, string | undefined][] = [
    ["default", undefined],
    ...Object.keys(ssh.nodes).map((n): [string, string] => [`node '${n}'`, n]),
  ];
  const lines: CheckLine[] = [];
  for (const [label, node] of targets) {
    const t = { ...sshTargetFor(ssh, node ?? ""), timeoutMs: Math.min(ssh.timeoutMs, 15_000) };
    const where = `proxmox '${source}': ssh ${label} ${t.username}@${t.host}:${t.port}`;
    try {
      const r = await sshExec(t, "pveversion");
      const first = (r.code === 0 ? r.stdout : r.stderr).trim().split("\n")[0] ?? "";
      lines.push(
        r.code === 0
          ? { ok: true, text: `${where}: host key matches, logged in, ${first}` }
          : {
              ok: false,
              text: `${where}: logged in, but \`pveversion\` failed (exit ${r.code}${first ? `: ${first}` : ""}) — is this a Proxmox VE node?`,
            },
      );
    } catch (e) {
      lines.push({ ok: false, text: `${where}: ${(e as Error).message}` });
    }
  }
  return lines;
}

async function checkSynology(cfg: Config, nas: NonNullable<Config["synology"]>[number]): Promise<CheckLine> {
  const client = new DsmClient({
    url: nas.url,
    username: nas.username,
    password: nas.password,
    session: nas.session,
    deviceName: nas.deviceName,
    deviceToken: deviceTokenFile(cfg.stateDir, nas.name).read().device_token,
    ...(nas.fingerprint ? { fingerprint: nas.fingerprint } : {}),
    ...(nas.caFile ? { caFile: nas.caFile } : {}),
    timeoutMs: nas.timeoutMs,
  });
  try {
    await client.discover();
    await client.login();
    const tasks = await client.listTasks();
    await client.logout();
    return {
      ok: true,
      text: `synology '${nas.name}': reachable, logged in, ${count(tasks.task_list.length, "Hyper Backup task")}`,
    };
  } catch (e) {
    return { ok: false, text: `synology '${nas.name}': ${(e as Error).message}` };
  } finally {
    await client.close();
  }
}

/** Reachable, and the token may list every configured datastore (and see sync jobs to remotes); "Verify now" is a note. */
async function checkPbs(pbs: NonNullable<Config["pbs"]>[number]): Promise<CheckLine[]> {
  const client = new PbsClient({
    url: pbs.url,
    tokenId: pbs.tokenId,
    tokenSecret: pbs.tokenSecret,
    ...(pbs.fingerprint ? { fingerprint: pbs.fingerprint } : {}),
    ...(pbs.caFile ? { caFile: pbs.caFile } : {}),
    timeoutMs: pbs.timeoutMs,
  });
  try {
    const stores = await client.get("/admin/datastore", Datastores);
    const lines: CheckLine[] = [
      {
        ok: true,
        text: `pbs '${pbs.name}': reachable, ${count(stores.length, "datastore")} visible${stores.length ? "" : " (the token may lack Datastore.Audit)"}`,
      },
    ];
    try {
      const perms = new PbsPermissions(await client.get("/access/permissions", PbsPermissionsSchema), pbs.tokenId);
      const names = pbs.datastores.length ? pbs.datastores.map((d) => d.store) : stores.map((d) => d.store);
      for (const store of names) {
        const why = perms.listingAccess(store);
        if (why)
          lines.push({
            ok: false,
            text: `pbs '${pbs.name}': token lacks Datastore.Audit on /datastore/${store}: ${why}`,
          });
        else if (perms.verifyAccess(store))
          lines.push({
            ok: true,
            text: `pbs '${pbs.name}': note: "Verify now" on ${store} needs Datastore.Verify: ${perms.verifyAccess(store)}`,
          });
      }
      const sync = pbs.syncOffsite ? perms.syncAccess() : null;
      if (sync) lines.push({ ok: false, text: `pbs '${pbs.name}': token lacks Remote.Audit: ${sync}` });
    } catch (e) {
      lines.push({ ok: false, text: `pbs '${pbs.name}': cannot read the token's privileges: ${(e as Error).message}` });
    }
    return lines;
  } catch (e) {
    return [{ ok: false, text: `pbs '${pbs.name}': ${(e as Error).message}` }];
  } finally {
    await client.close();
  }
}

async function checkMqtt(cfg: Config): Promise<CheckLine> {
  return new Promise((resolve) => {
    const client = mqtt.connect(cfg.mqtt.url, {
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      connectTimeout: 5000,
      reconnectPeriod: 0,
      ...(cfg.mqtt.caFile ? { ca: fs.readFileSync(cfg.mqtt.caFile) } : {}),
    });
    const done = (line: CheckLine) => {
      client.end(true);
      resolve(line);
    };
    client.once("connect", () => done({ ok: true, text: `mqtt: connected to ${new URL(cfg.mqtt.url).host}` }));
    client.once("error", (e) => done({ ok: false, text: `mqtt: ${e.message}` }));
    setTimeout(
      () => done({ ok: false, text: `mqtt: no answer from ${new URL(cfg.mqtt.url).host} within 6 s` }),
      6000,
    ).unref();
  });
}
