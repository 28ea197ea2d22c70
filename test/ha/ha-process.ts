/**
 * The Home Assistant process: where its root is (built and cached by test/ha/build-env.sh), the
 * configuration.yaml tests run it with, and `hass` started chrooted into that root in a private
 * mount namespace (proc/dev/sys are mounted only inside that namespace, so they vanish with the
 * process even after SIGKILL). Also reads its log for MQTT problems.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnOwned } from "../support/process.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const BUILD_SCRIPT = join(HERE, "build-env.sh");

/** Integrations the test configuration loads explicitly (no default_config). Same list as build-env.sh. */
export const HA_COMPONENTS = [
  "http",
  "api",
  "websocket_api",
  "auth",
  "onboarding",
  "config",
  "mqtt",
  "logger",
  "system_log",
  "button",
  "sensor",
  "binary_sensor",
  "select",
  "event",
] as const;

export function resolveHaRoot(opts: { cacheDir?: string; autoBuild?: boolean } = {}): string {
  const env = { ...process.env };
  if (opts.cacheDir) env.B2M_HA_CACHE = opts.cacheDir;
  const probe = spawnSync("bash", [BUILD_SCRIPT, "--print-root"], { env, encoding: "utf8" });
  const root = probe.stdout.trim().split("\n").pop() ?? "";
  if (probe.status === 0 && root) return root;
  if (probe.status !== 3) throw new Error(`build-env.sh --print-root failed (${probe.status}): ${probe.stderr}`);
  const autoBuild = opts.autoBuild ?? process.env.B2M_HA_AUTOBUILD === "1";
  if (!autoBuild) {
    throw new Error(
      `Home Assistant test root is not built (${root}). Build it once with: sudo bash ${BUILD_SCRIPT}` +
        (opts.cacheDir ? ` (with B2M_HA_CACHE=${opts.cacheDir})` : "") +
        " — or set B2M_HA_AUTOBUILD=1.",
    );
  }
  const build = spawnSync("bash", [BUILD_SCRIPT], { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const built = build.stdout.trim().split("\n").pop() ?? "";
  if (build.status !== 0 || !built) throw new Error(`build-env.sh failed with ${build.status}`);
  return built;
}

// ---------------------------------------------------------------------------------------------
// the hass process

const MQTT_PROBLEM_RE = /^\S+ \S+ (WARNING|ERROR|CRITICAL) \([^)]*\) \[homeassistant\.components\.mqtt(?:\.[\w.]+)?\]/;

/** WARNING/ERROR/CRITICAL lines of the `homeassistant.components.mqtt*` loggers in a HA log text. */
export function mqttProblemLines(logText: string): string[] {
  return logText.split("\n").filter((l) => MQTT_PROBLEM_RE.test(l));
}

/** configuration.yaml of a test instance: no default_config, fixed core settings, loopback HTTP, the logger levels tests read. */
export function configurationYaml(o: { port: number; mqttLogLevel: string; extra?: string }): string {
  const components = HA_COMPONENTS.filter((c) => c !== "http" && c !== "logger");
  return [
    "homeassistant:",
    "  name: b2m-test",
    "  latitude: 52.52",
    "  longitude: 13.40",
    "  elevation: 34",
    "  unit_system: metric",
    "  time_zone: UTC",
    "  country: DE",
    "  currency: EUR",
    "  language: en",
    "http:",
    "  server_host: 127.0.0.1",
    `  server_port: ${o.port}`,
    "logger:",
    "  default: warning",
    "  logs:",
    `    homeassistant.components.mqtt: ${o.mqttLogLevel}`,
    // runtime installs of missing requirements would show up here
    "    homeassistant.util.package: info",
    "    homeassistant.requirements: info",
    // tts (a base platform HA always loads) pulls in ffmpeg, which logs an ERROR at start because
    // the root has no ffmpeg binary; nothing here uses it.
    "    haffmpeg: critical",
    ...components.map((c) => `${c}:`),
    o.extra ?? "",
    "",
  ].join("\n");
}

function chrootEnv(): string[] {
  const vars = [
    "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
  ];
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("PIP_") && v !== undefined) vars.push(`${k}=${v}`);
  return vars;
}

/** Spawns hass chrooted into `root`, in a private mount namespace with proc, dev, sys. */
export function spawnHass(root: string, configDirInRoot: string, skipPip: boolean): ChildProcess {
  const script =
    'set -e; r="$1"; shift; ' +
    'mount -t proc proc "$r/proc"; mount --rbind /dev "$r/dev"; mount -t sysfs sysfs "$r/sys"; ' +
    'exec chroot "$r" /usr/bin/env -i "$@"';
  const args = [
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    script,
    "b2m-hass",
    root,
    ...chrootEnv(),
    "/opt/venv/bin/hass",
    "-c",
    configDirInRoot,
    "--log-no-color",
    ...(skipPip ? ["--skip-pip"] : []),
  ];
  return spawnOwned("unshare", args);
}
