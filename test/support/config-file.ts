import fs from "node:fs";
import path from "node:path";
import type { Lab } from "backup2mqtt-lab";

/**
 * Writes the config file a `backup2mqtt run` child process reads for a simulated lab: token secret
 * from $PVE_SECRET (pass `env: { PVE_SECRET: lab.tokens[0].secret }`), state in <dir>/state.
 * `extraProxmox` holds further lines of the proxmox entry (indented four spaces).
 */
export function writeLabConfigFile(dir: string, lab: Lab, brokerUrl: string, extraProxmox: string[] = []): string {
  const file = path.join(dir, "backup2mqtt.yaml");
  fs.writeFileSync(
    file,
    `site: home
mqtt: { url: "${brokerUrl}" }
proxmox:
  - name: pve
    url: ${lab.url}
    token_id: "${lab.tokens[0]!.id}"
    token_secret: \${PVE_SECRET}
    fingerprint: "${lab.fingerprint}"
    poll_interval: 1s
${extraProxmox.map((l) => `    ${l}\n`).join("")}http: { listen: "127.0.0.1:0" }
state_dir: ${path.join(dir, "state")}
log: { level: warn }
`,
  );
  return file;
}
