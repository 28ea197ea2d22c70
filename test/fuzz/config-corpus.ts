/**
 * Config files as the tests, the integration suites and the README write them, with the lab's
 * addresses, fingerprints and secrets replaced by fixed values: the corpus on which
 * config-legacy.test.ts compares the config loader with its legacy (JSON Schema + Ajv) version.
 * The bad-config corpus (bad-configs/) is read from its folder there.
 */
import fs from "node:fs";
import path from "node:path";

export interface CorpusConfig {
  name: string;
  text: string;
  env: NodeJS.ProcessEnv;
  /** Given: read from this file name in `dir` (relative paths start at its folder). */
  file?: string;
}

const FP = `${"AB:".repeat(31)}AB`;
const HOST_KEY = `SHA256:${"A".repeat(43)}`;
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/** The corpus; secret, key and CA files are written into `dir`. */
export function configCorpus(dir: string): CorpusConfig[] {
  const w = (name: string, content: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content);
    return f;
  };
  const secretFile = w("secret", "from-file-secret\n");
  const hookFile = w("hook", "0123456789abcdef-secret\n");
  const keyFile = w(
    "id_ed25519",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n",
  );
  const caFile = w("ca.pem", PEM);
  w("not-pem.txt", "hello\n");
  const env = {
    PVE_SECRET: "11111111-2222-3333-4444-555555555555",
    B2M_SECRET: "s3cret",
    S: "s",
    B2M_PVE_SECRET: "pve",
    B2M_HOOK: "0123456789abcdef0123",
  };

  // bridge/src/config/load.test.ts
  const VALID = `
site: home
mqtt:
  url: mqtt://127.0.0.1:1883
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: backup2mqtt@pve!bridge
    token_secret: 11111111-2222-3333-4444-555555555555
    fingerprint: ${"ab:".repeat(31)}ab
guests:
  "100": { tier: P0 }
  vaultwarden: { tier: P1 }
`;
  // test/integration/check-cli.test.ts, plan-apply.test.ts, report-strategy.test.ts, …
  const LAB = `site: home
mqtt:
  url: mqtt://127.0.0.1:1883
proxmox:
  - name: pve
    url: https://127.0.0.1:8006
    token_id: "backup2mqtt@pve!bridge"
    token_secret: \${PVE_SECRET}
    fingerprint: "${FP}"
`;
  const OFFSITE = `synology:
  - name: nas
    url: https://127.0.0.1:5001
    username: backup2mqtt
    password: "dsm-password"
    timezone: Europe/Berlin
    fingerprint: "${FP}"
pbs:
  - name: pbs
    url: https://127.0.0.1:8007
    token_id: "backup2mqtt@pbs!bridge"
    token_secret: "pbs-secret"
    fingerprint: "${FP}"
state_dir: ${path.join(dir, "state")}
`;
  const SSH = `    ssh:
      host: 127.0.0.1
      port: 2222
      private_key_file: ${keyFile}
      host_key: "${HOST_KEY}"
      nodes: { proxmox-home: { host: 127.0.0.1, port: 2222, host_key: "${HOST_KEY}" } }
`;
  const PLAN = (extra: string) => `site: home
mqtt: { url: "mqtt://127.0.0.1:1" }
proxmox:
  - name: pve
    url: https://127.0.0.1:8006
    token_id: "backup2mqtt@pve!bridge"
    token_secret: \${B2M_SECRET}
    fingerprint: "${FP}"
state_dir: ${path.join(dir, "state-plan")}
${extra}`;
  const TLS = `mqtt: { url: "mqtt://127.0.0.1:1883" }
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: "a@pve!b"
    token_secret: s
`;
  const HTTP_BASE = `mqtt: { url: "mqtt://x:1883" }\nproxmox: [{ name: pve, url: "https://pve:8006", token_id: "a@pve!b", token_secret: s }]\n`;
  // test/fuzz/inputs.fuzz.test.ts
  const FUZZ_VALID = `site: home
mqtt: { url: "mqtt://127.0.0.1:1883", base_topic: backup2mqtt }
proxmox:
  - name: pve
    url: "https://pve.lan:8006"
    token_id: "backup2mqtt@pve!bridge"
    token_secret: s3cret
    fingerprint: "AA:BB"
    poll_interval: 60s
tiers: { P2: { max_age: 9d } }
guests: { "100": { tier: P0 }, vaultwarden: { tier: P1 } }
http: { listen: 127.0.0.1:8080, token: t }
state_dir: /var/lib/backup2mqtt
log: { level: info }
`;
  // README.md, Configuration and Off-site (as printed, and with its placeholders filled in)
  const README = `site: home                          # guest ids are <site>_<vmid>
timezone: Europe/Berlin             # times in reasons, report, status page; default: the system's
language: en                        # reasons and entity names the bridge publishes: en or de
mqtt:
  url: mqtt://homeassistant.lan:1883
  username: backup2mqtt
  password_file: /run/secrets/mqtt
  base_topic: backup2mqtt           # default
  discovery_prefix: homeassistant   # default
proxmox:
  - name: pve                       # this cluster's name
    url: https://pve.lan:8006
    token_id: backup2mqtt@pve!bridge
    token_secret: \${PVE_TOKEN_SECRET}
    fingerprint: "AA:BB:…"          # pin the node certificate (pvenode cert info), or ca_file: /etc/pve/pve-root-ca.pem
    poll_interval: 60s              # resources + vzdump tasks
    content_interval: 10m           # backup storage listings (also at once after a backup ends)
    backup: { storage: synology, mode: snapshot, compress: zstd, notes_template: "{{guestname}}" }
tiers:                              # override the defaults key by key
  P2: { max_age: 9d }
guests:                             # by VMID or name; config wins over PVE tags
  "100": { tier: P0 }
  vaultwarden: { tier: P1 }
http: { listen: 127.0.0.1:8080, token_file: /run/secrets/http }
state_dir: /var/lib/backup2mqtt
log: { level: info }
`;
  const README_OFFSITE = `synology:
  - name: nas                        # source name; topics backup2mqtt/source/nas/availability
    url: https://nas.lan:5001
    username: backup2mqtt
    password_file: /run/secrets/dsm
    fingerprint: "AA:BB:…"           # or ca_file:
    timezone: Europe/Berlin          # the NAS's time zone: Hyper Backup times are NAS-local strings
    session: webui                   # SYNO.API.Auth session name (default)
    poll_interval: 5m
    max_age: 26h                     # a task whose last success is older shows a problem
    tasks:                           # key: Hyper Backup task id or task name
      "PVE dumps to C2": { protects: [synology], offsite: true }   # PVE storage ids on the share it backs up
      "2": { protects: [nfs-backup], offsite: false, max_age: 8d }  # e.g. a USB copy: a copy, not off-site
pbs:
  - name: pbs
    url: https://pbs.lan:8007
    token_id: backup2mqtt@pbs!bridge
    token_secret: \${PBS_TOKEN_SECRET}
    fingerprint: "AA:BB:…"
    offsite: false                   # true: this PBS stands elsewhere; its datastores are off-site copies
    sync_offsite: true               # push sync jobs to a remote are off-site copies (default)
    datastores:                      # which PVE storages (type pbs) point at which datastore
      store1: { storages: [pbs] }
`;
  const filled = (t: string) => t.replaceAll('"AA:BB:…"', `"${FP}"`).replaceAll(/\/run\/secrets\/\w+/g, secretFile);
  const readmeEnv = { PVE_TOKEN_SECRET: "pve-secret", PBS_TOKEN_SECRET: "pbs-secret" };
  // test/integration/secrets-scan.test.ts: every source and secret at once
  const EVERYTHING = `site: home
mqtt:
  url: "mqtt://backup2mqtt:mqtturl@127.0.0.1:1883"
  username: backup2mqtt
  password_file: ${secretFile}
proxmox:
  - name: pve
    url: https://127.0.0.1:8006
    token_id: "backup2mqtt@pve!bridge"
    token_secret: \${B2M_PVE_SECRET}
    fingerprint: "${FP}"
    poll_interval: 1s
    content_interval: 5s
    timeout: 3s
    ssh:
      host: 127.0.0.1
      port: 2222
      username: root
      private_key_file: ${keyFile}
      host_key: "${HOST_KEY}"
    verify: { automatic: true }
synology:
  - name: nas
    url: https://127.0.0.1:5001
    username: backup2mqtt
    password_file: ${secretFile}
    fingerprint: "${FP}"
    timezone: Europe/Berlin
    poll_interval: 2s
    tasks:
      "2": { protects: [synology], offsite: true }
pbs:
  - name: pbs
    url: https://127.0.0.1:8007
    token_id: "backup2mqtt@pbs!bridge"
    token_secret_file: ${secretFile}
    fingerprint: "${FP}"
    poll_interval: 2s
    datastores: { store1: { storages: [pbs] } }
http:
  listen: 127.0.0.1:0
  token_file: ${secretFile}
  webhook_secret: \${B2M_HOOK}
state_dir: ${path.join(dir, "state")}
log: { level: debug }
`;
  const FULL = `${LAB.replace("site: home", "site: lab_2\ntimezone: America/New_York\nlanguage: de").replace(/ {4}fingerprint: .*\n/, "")}    ca_file: ca.pem
    timeout: 15s
    content_interval: 1h
    backup: { storage: local, mode: stop, compress: gzip, notes_template: "{{vmid}}", method: ssh }
${SSH}    verify: { automatic: false, quiet_hours: "01:00-06:00" }
    restore_test: { scratch_vmid: 9999, storage: local-lvm, node: pve1, timeout: 3h }
  - name: pve2
    url: https://pve2.lan:8006/
    token_id: "backup2mqtt@pve!second"
    token_secret_file: ${secretFile}
    ca_file: ${caFile}
${OFFSITE}tiers:
  P0: { retention: { keep-last: 3, keep-daily: 7 }, min_copies: 3, restore_test: true }
  P1: { verify_every: null, schedule: "mon..fri 21:00" }
  gold: { label: Gold, max_age: 2d, schedule: "*-*-01 04:00", offsite: true, allow_manual: false }
  none: { protect: false }
guests:
  "100": { tier: gold }
  db-01.lan: { tier: P2 }
  "101": {}
http: { listen: "[::1]:9090", token: t0ken, webhook_secret_file: ${hookFile} }
jobs:
  enabled: false
  storage: synology
  mode: suspend
  compress: lzo
  notes_template: "{{guestname}} {{vmid}}"
  adopt: { P0: backup-p0-daily }
  tiers: { P2: { enabled: false, storage: local }, gold: { enabled: true } }
log: { level: trace }
`;

  return [
    { name: "load.test VALID", text: VALID, env: {} },
    { name: "load.test tier override", text: `${VALID}tiers:\n  P2:\n    max_age: 10d\n`, env: {} },
    {
      name: "load.test every problem",
      text: `mqtt:\n  url: http://wrong\nproxmox:\n  - name: pve\n    url: https://pve:8006\n    token_id: not-a-token\n    token_secret: x\n    polling: 5s\nguests:\n  "100": { tier: P9 }\n`,
      env: {},
    },
    { name: "load.test missing url", text: "mqtt: {}\nproxmox: []\n", env: {} },
    { name: "load.test syntax", text: "mqtt:\n  url: [unclosed\nproxmox: x\n", env: {} },
    {
      name: "load.test env",
      text: VALID.replace("11111111-2222-3333-4444-555555555555", `\${PVE_SECRET}`),
      env: { PVE_SECRET: "s3cret-value" },
    },
    { name: "load.test env unset", text: VALID.replace("11111111-2222-3333-4444-555555555555", `\${NOPE}`), env: {} },
    {
      name: "load.test secret file",
      text: VALID.replace("token_secret: 11111111-2222-3333-4444-555555555555", `token_secret_file: ${secretFile}`),
      env: {},
    },
    {
      name: "load.test secret twice",
      text: VALID.replace("token_secret: 1", `token_secret_file: ${secretFile}\n    token_secret: 1`),
      env: {},
    },
    {
      name: "load.test JSON",
      text: JSON.stringify(
        {
          mqtt: { url: "mqtt://h" },
          proxmox: [{ name: "a", url: "https://h", token_id: "u@pve!t", token_secret: "secret-1" }],
        },
        null,
        2,
      ),
      env: {},
    },
    { name: "load.test ftp url", text: VALID.replace("url: https://pve.lan:8006", "url: ftp://pve.lan"), env: {} },
    {
      name: "load.test removal_grace 0s",
      text: VALID.replace("url: mqtt://127.0.0.1:1883", "url: mqtt://127.0.0.1:1883\n  removal_grace: 0s"),
      env: {},
    },
    {
      name: "load.test removal_grace 366d",
      text: VALID.replace("url: mqtt://127.0.0.1:1883", "url: mqtt://127.0.0.1:1883\n  removal_grace: 366d"),
      env: {},
    },
    ...["127.0.0.1:0", "[::1]:8080", ":65535", "0.0.0.0:65536"].map((l) => ({
      name: `load.test listen ${l}`,
      text: `${VALID}http: { listen: "${l}" }\n`,
      env: {},
    })),
    { name: "load.test url slash", text: VALID.replace("https://pve.lan:8006", "https://pve.lan:8006/"), env: {} },
    { name: "load.test url query", text: VALID.replace("https://pve.lan:8006", "https://pve.lan:8006/?x=1"), env: {} },
    {
      name: "load.test schedules",
      text: `${VALID}tiers:\n  P0: { schedule: "mon..sun 21:00" }\n  P1: { schedule: "*-*-01 04:00" }\n  P2: { schedule: "sat *-1..7 15:00", max_age: 40d }\n  gold: { schedule: "2027-06-01" }\n`,
      env: {},
    },
    { name: "load.test guest keys", text: `${VALID}  999999999: { tier: P2 }\n  db-01.lan: { tier: P2 }\n`, env: {} },
    {
      name: "load.test bad guest keys",
      text: `${VALID}  "0100": { tier: P2 }\n  1000000000: { tier: P2 }\n  -web: { tier: P2 }\n`,
      env: {},
    },
    { name: "load.test duplicate key", text: VALID.replace("site: home", "site: home\nsite: lab"), env: {} },
    {
      name: "check-cli broken",
      text: `mqtt:\n  url: localhost:1883\n  base_topic: "a/#"\nproxmox:\n  - name: PVE\n    url: https://pve:8006\n    token_id: root\n    token_secret: x\n    tiemout: 5s\ntiers:\n  P0:\n    max_age: soon\n`,
      env: {},
    },
    { name: "check-cli good", text: LAB, env },
    { name: "check-cli offsite", text: LAB + OFFSITE, env },
    { name: "check-cli ssh", text: LAB + SSH, env },
    {
      name: "config-file lab",
      text: `${LAB}    poll_interval: 1s\nhttp: { listen: "127.0.0.1:0" }\nstate_dir: ${path.join(dir, "state")}\nlog: { level: warn }\n`,
      env,
    },
    { name: "plan-apply seed", text: PLAN("jobs: { storage: synology }\n"), env },
    {
      name: "plan-apply moved",
      text: PLAN("jobs: { storage: synology }\nguests:\n  pihole-home: { tier: P1 }\n"),
      env,
    },
    { name: "plan-apply adopt", text: PLAN("jobs:\n  storage: synology\n  adopt: { P0: backup-p0-daily }\n"), env },
    { name: "plan-apply adopt unknown tier", text: PLAN("jobs:\n  adopt: { P9: backup-p0-daily }\n"), env },
    { name: "plan-apply no storage", text: PLAN(""), env },
    {
      name: "plan-apply manual",
      text: PLAN("jobs:\n  storage: synology\n  tiers: { P2: { enabled: false, storage: local } }\n"),
      env,
    },
    {
      name: "device-retention forget",
      text: `site: home\nmqtt: { url: "mqtt://127.0.0.1:1883" }\nproxmox:\n  - name: pve\n    url: https://127.0.0.1:8006\n    token_id: "backup2mqtt@pve!bridge"\n    token_secret: "x"\n    fingerprint: "${FP}"\nstate_dir: ${dir}\n`,
      env: {},
    },
    {
      name: "privileges-pve",
      text: `mqtt: { url: "mqtt://127.0.0.1:1883" }\nproxmox:\n  - name: pve\n    url: https://127.0.0.1:8006\n    token_id: "backup2mqtt@pve!bridge"\n    token_secret: least-privilege-secret\n    fingerprint: "${FP}"\n`,
      env: {},
    },
    {
      name: "privileges-pbs",
      text: `mqtt: { url: "mqtt://127.0.0.1:1883" }\nproxmox:\n  - name: pve\n    url: https://127.0.0.1:8006\n    token_id: "a@pve!b"\n    token_secret: "x"\n    fingerprint: "${FP}"\npbs:\n  - name: pbs\n    url: https://127.0.0.1:8007\n    token_id: "backup2mqtt@pbs!bridge"\n    token_secret: s\n    fingerprint: "${FP}"\n    datastores:\n      store1: { storages: [pbs] }\n`,
      env: {},
    },
    {
      name: "report-strategy",
      text: `site: home\nmqtt: { url: "mqtt://127.0.0.1:1" }\nproxmox:\n  - { name: pve, url: "https://127.0.0.1:8006", token_id: "a@pve!b", token_secret: "\${S}", fingerprint: "${FP}" }\nstate_dir: ${dir}/state\n`,
      env,
    },
    ...["verify_ssl: false", "insecure: true", "tls_verify: false", "reject_unauthorized: false"].map((l) => ({
      name: `tls-pinning ${l}`,
      text: `${TLS}    ${l}\n`,
      env: {},
    })),
    { name: "tls-pinning base", text: TLS, env: {} },
    { name: "http-api default listen", text: HTTP_BASE, env: {} },
    {
      name: "http-api webhook file",
      text: `${HTTP_BASE}http: { listen: "0.0.0.0:9000", webhook_secret_file: ${hookFile} }\n`,
      env: {},
    },
    { name: "http-api webhook short", text: `${HTTP_BASE}http: { webhook_secret: short }\n`, env: {} },
    { name: "secrets-scan everything", text: EVERYTHING, env },
    { name: "inputs.fuzz VALID", text: FUZZ_VALID, env: { PVE: "x" } },
    { name: "README configuration", text: README, env: readmeEnv },
    { name: "README configuration, filled in", text: filled(README), env: readmeEnv },
    { name: "README off-site", text: README + README_OFFSITE, env: readmeEnv },
    { name: "README off-site, filled in", text: filled(README + README_OFFSITE), env: readmeEnv },
    { name: "every key", text: FULL, env, file: "full.yaml" },
    { name: "CA file not PEM", text: `${LAB}    ca_file: not-pem.txt\n`, env, file: "ca.yaml" },
  ];
}
