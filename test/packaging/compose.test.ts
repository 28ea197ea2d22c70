/**
 * compose.yaml at the repository root, read with the `yaml` package (there is no Docker engine or
 * Compose where the tests run): the bridge built from the Dockerfile beside a pinned Mosquitto 2,
 * volumes for config and state, healthchecks and start order, secrets where the example config
 * reads them, and the example config loaded by the bridge's own loader. The rules are a function
 * over the text, so each is also shown to catch a broken variant.
 * The file's format: https://docs.docker.com/reference/compose-file/
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadWithSecrets, repo } from "./examples.js";

const composeText = fs.readFileSync(path.join(repo, "compose.yaml"), "utf8");
const EXAMPLE = "packaging/docker/backup2mqtt.example.yaml";
const example = loadWithSecrets(path.join(repo, EXAMPLE), "/run/secrets");

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A short-syntax volume "source:target[:mode]" or a long-syntax one, as [source, target]. */
const volume = (v: unknown): [string, string] =>
  typeof v === "string"
    ? (v.split(":").slice(0, 2) as [string, string])
    : [String(obj(v).source), String(obj(v).target)];

/** Problems of a compose file, one sentence each; none for a good one. */
function composeProblems(text: string, readConf = (file: string) => fs.readFileSync(file, "utf8")): string[] {
  const problems: string[] = [];
  const doc = obj(parse(text));
  const services = obj(doc.services);
  const bridge = obj(services.backup2mqtt);
  // The broker: the service that runs Mosquitto, whatever its name.
  const brokerName = Object.keys(services).find((k) => /^eclipse-mosquitto(:|$)/.test(String(obj(services[k]).image)));
  if (!Object.keys(bridge).length) return ["no service backup2mqtt"];
  if (!brokerName) return ["no service runs eclipse-mosquitto"];
  const broker = obj(services[brokerName]);

  const build = typeof bridge.build === "string" ? { context: bridge.build } : obj(bridge.build);
  const image = typeof bridge.image === "string" ? bridge.image : "";
  if (!build.context && !/:\d+\.\d+\.\d+$/.test(image))
    problems.push("the bridge is neither built from the Dockerfile nor a pinned released image");
  if (build.context && path.resolve(repo, String(build.context)) !== repo)
    problems.push("the bridge's build context is not the repository root (the Dockerfile's context)");
  if (build.context && !fs.existsSync(path.join(repo, String(build.context), String(build.dockerfile ?? "Dockerfile"))))
    problems.push("the bridge's Dockerfile does not exist");

  const mosquittoImage = String(broker.image ?? "");
  if (!/^eclipse-mosquitto:2\.\d+\.\d+(-[a-z0-9.]+)?$/.test(mosquittoImage))
    problems.push(`mosquitto image ${mosquittoImage || "(none)"} is not a pinned eclipse-mosquitto:2.x.y`);

  const condition = obj(obj(bridge.depends_on)[brokerName]).condition;
  if (condition !== "service_healthy")
    problems.push("the bridge does not wait for a healthy broker (depends_on condition)");
  const brokerHealth = obj(broker.healthcheck);
  if (!list(brokerHealth.test).length && typeof brokerHealth.test !== "string")
    problems.push("the broker has no healthcheck (service_healthy would never be met)");
  if (obj(bridge.healthcheck).disable === true) problems.push("the bridge's healthcheck (the image's) is disabled");

  const bridgeVolumes = list(bridge.volumes).map(volume);
  const target = (t: string) => bridgeVolumes.find(([, to]) => to === t);
  if (!target("/config")) problems.push("no volume at /config for the bridge's config");
  if (!target(example.config.stateDir))
    problems.push(`no volume at ${example.config.stateDir}, the example's state_dir`);
  else if (!(target(example.config.stateDir)![0] in obj(doc.volumes)))
    problems.push("the bridge's state is not in a named volume (a bind mount needs a folder owned by uid 1000)");
  const brokerVolumes = list(broker.volumes).map(volume);
  const conf = brokerVolumes.find(([, to]) => to === "/mosquitto/config/mosquitto.conf");
  if (!conf || !fs.existsSync(path.join(repo, conf[0])))
    problems.push("the broker's mosquitto.conf is not mounted from a committed file");
  if (!brokerVolumes.some(([, to]) => to === "/mosquitto/data"))
    problems.push("no volume at /mosquitto/data (persistence of retained messages)");
  if (conf && fs.existsSync(path.join(repo, conf[0]))) {
    const confText = readConf(path.join(repo, conf[0]));
    const pw = /^password_file\s+(\S+)/m.exec(confText)?.[1];
    if (!/^listener 1883\s*$/m.test(confText)) problems.push("mosquitto.conf has no listener 1883 on every interface");
    if (!/^allow_anonymous false\s*$/m.test(confText) || !pw)
      problems.push("mosquitto.conf lets clients in without a password");
    else if (!list(broker.secrets).some((s) => `/run/secrets/${s}` === pw))
      problems.push(`the broker's password file ${pw} is not one of its secrets`);
    if (!/^persistence true\s*$/m.test(confText)) problems.push("mosquitto.conf does not persist retained messages");
  }

  // The example config: its broker is the compose service, its secrets are the bridge's secrets.
  const url = new URL(example.config.mqtt.url);
  if (!(url.hostname in services))
    problems.push(`the example's mqtt.url host ${url.hostname} is not a compose service`);
  if (url.hostname === brokerName && url.port !== "1883") problems.push("the example's mqtt.url port is not 1883");
  const bridgeSecrets = list(bridge.secrets).map((s) => (typeof s === "string" ? s : String(obj(s).source)));
  for (const s of example.secrets) {
    if (!bridgeSecrets.includes(s)) problems.push(`the example reads /run/secrets/${s}, which the bridge is not given`);
    else if (!obj(obj(doc.secrets)[s]).file) problems.push(`secret ${s} has no file`);
  }
  const ports = list(bridge.ports).map((p) => Number(String(p).split(":").at(-1)));
  if (!ports.includes(example.config.http.port)) problems.push("the bridge's HTTP port is not published");
  return problems;
}

describe("compose.yaml", () => {
  it("keeps every rule", () => {
    expect(composeProblems(composeText)).toEqual([]);
  });

  it("the example config loads with the bridge's loader and names the broker by its service name", () => {
    expect(example.config.mqtt.url).toBe("mqtt://mosquitto:1883");
    expect(example.config.mqtt.password).toBe("dummy-mqtt_password-0123456789abcdef");
    expect(example.config.http.token).toBe("dummy-http_token-0123456789abcdef");
  });

  it("the broker's healthcheck finds the listener of port 1883 (0x075B) in LISTEN state (0A)", () => {
    const health = obj(obj(obj(obj(parse(composeText)).services).mosquitto).healthcheck);
    const cmd = String(list(health.test)[1]);
    const pattern = new RegExp(/grep -qE '([^']+)'/.exec(cmd)![1]!);
    const listen =
      "   0: 00000000:075B 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1883        0 1 1 0000000000000000 100 0 0 10 0";
    const client =
      "   1: 0100007F:075B 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  1883        0 2 1 0000000000000000 20 4 30 10 -1";
    const other =
      "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 100 0 0 10 0";
    expect(pattern.test(listen)).toBe(true);
    expect(pattern.test(client)).toBe(false);
    expect(pattern.test(other)).toBe(false);
  });
});

describe("the compose rules catch", () => {
  const conf = fs.readFileSync(path.join(repo, "packaging/mosquitto/mosquitto.conf"), "utf8");
  const confVariants: [string, string, RegExp][] = [
    ["anonymous clients", conf.replace("allow_anonymous false", "allow_anonymous true"), /without a password/],
    ["no password file", conf.replace(/^password_file .*\n/m, ""), /without a password/],
    [
      "a password file that is not a secret",
      conf.replace("/run/secrets/mosquitto_passwd", "/mosquitto/config/passwd"),
      /not one of its secrets/,
    ],
    ["a broker on localhost only", conf.replace(/^listener 1883$/m, "listener 1883 127.0.0.1"), /no listener 1883/],
    ["no persistence", conf.replace("persistence true", "persistence false"), /does not persist/],
  ];
  for (const [what, broken, problem] of confVariants)
    it(`mosquitto.conf: ${what}`, () => {
      expect(broken).not.toBe(conf);
      expect(composeProblems(composeText, () => broken).join("\n")).toMatch(problem);
    });

  const variants: [string, (t: string) => string, RegExp][] = [
    [
      "an unpinned broker",
      (t) => t.replace("eclipse-mosquitto:2.0.22", "eclipse-mosquitto:latest"),
      /not a pinned eclipse-mosquitto:2/,
    ],
    [
      "a broker of another major version",
      (t) => t.replace("eclipse-mosquitto:2.0.22", "eclipse-mosquitto:1.6.15"),
      /not a pinned/,
    ],
    [
      "no start order",
      (t) => t.replace("condition: service_healthy", "condition: service_started"),
      /wait for a healthy broker/,
    ],
    ["no broker healthcheck", (t) => t.replace(/ {4}healthcheck:\n(?: {6}.*\n)+/, ""), /broker has no healthcheck/],
    ["no state volume", (t) => t.replace("      - backup2mqtt-data:/data\n", ""), /no volume at \/data/],
    ["state in a bind mount", (t) => t.replace("backup2mqtt-data:/data", "./data:/data"), /not in a named volume/],
    ["no config volume", (t) => t.replace("      - ./config:/config:ro\n", ""), /no volume at \/config/],
    [
      "a missing mosquitto.conf",
      (t) => t.replace("packaging/mosquitto/mosquitto.conf:", "mosquitto.conf:"),
      /not mounted from a committed file/,
    ],
    [
      "a secret the bridge is not given",
      (t) => t.replace("      - http_token\n", ""),
      /reads \/run\/secrets\/http_token/,
    ],
    [
      "the broker's password file not given",
      (t) => t.replace("      - mosquitto_passwd\n", ""),
      /password file .* not one of its secrets/,
    ],
    [
      "a renamed broker service",
      (t) => t.replace(/^ {2}mosquitto:$/m, "  broker:").replace("      mosquitto:\n", "      broker:\n"),
      /host mosquitto is not a compose service/,
    ],
    [
      "another build context",
      (t) => t.replace("context: .", "context: ./bridge"),
      /build context is not the repository root/,
    ],
    ["an unpublished HTTP port", (t) => t.replace('      - "8080:8080"\n', ""), /HTTP port is not published/],
  ];
  for (const [what, mutate, problem] of variants)
    it(what, () => {
      const broken = mutate(composeText);
      expect(broken, "the variant must change compose.yaml").not.toBe(composeText);
      expect(composeProblems(broken).join("\n")).toMatch(problem);
    });
});
