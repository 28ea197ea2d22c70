/**
 * The Python Home Assistant integration (ha-integration/custom_components/backup2mqtt) must name
 * things exactly as the bridge does. Its const.py holds the device id prefix, the default base topic
 * and every topic shape it subscribes or publishes to (`TOPIC_BRIDGE_INFO = "bridge/info"`, …); this
 * test reads that file as text and compares each constant with the bridge's identity module, so a
 * change on either side fails here. It also checks manifest.json's MQTT discovery topic, and that no
 * other module of the integration spells a topic or device id out as literal text instead of using
 * the constants.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_BASE_TOPIC, DEVICE_ID_PREFIX, TOPIC_FILTERS } from "../../bridge/src/core/identity.js";

const INTEGRATION = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../ha-integration/custom_components/backup2mqtt",
);
const read = (file: string) => readFileSync(path.join(INTEGRATION, file), "utf8");

/** The topic shapes the integration itself uses: each must be in const.py. */
const USED_TOPICS = [
  "TOPIC_BRIDGE_INFO",
  "TOPIC_BRIDGE_STATE",
  "TOPIC_GUEST_STATE",
  "TOPIC_GUEST_EVENT",
  "TOPIC_GUEST_COMMAND",
];

/**
 * Module-level string constants of a Python file: `NAME = "text"` or `NAME: Final = "text"`, and
 * f-strings made only of earlier constants (`f"{A}/{B}"`). Anything else with a backslash or another
 * `{…}` is refused rather than guessed.
 */
function pythonStringConstants(source: string): Map<string, string> {
  const out = new Map<string, string>();
  const line = /^([A-Z][A-Z0-9_]*)\s*(?::\s*[^=]+)?=\s*(f?)(["'])(.*)\3\s*(?:#.*)?$/;
  for (const text of source.split("\n")) {
    const m = line.exec(text);
    if (!m) continue;
    const [, name, isF, , raw] = m as unknown as [string, string, string, string, string];
    if (raw.includes("\\")) throw new Error(`${name}: escapes are not supported by this reader`);
    let value = raw;
    if (isF) {
      value = raw.replace(/\{([A-Z][A-Z0-9_]*)\}/g, (_, ref: string) => {
        const v = out.get(ref);
        if (v === undefined) throw new Error(`${name} refers to ${ref}, which is not an earlier string constant`);
        return v;
      });
      if (/[{}]/.test(value)) throw new Error(`${name}: only {CONSTANT} parts are supported in f-strings`);
    }
    out.set(name, value);
  }
  return out;
}

/** TOPIC_BRIDGE_INFO → bridgeInfo, TOPIC_HYPER_BACKUP_STATE → hyperBackupState. */
const filterKey = (pythonName: string) =>
  pythonName
    .replace(/^TOPIC_/, "")
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Single-line string literals of Python source (docstrings, other triple-quoted strings and comments are skipped). */
function stringLiterals(source: string): string[] {
  const token =
    /"""[\s\S]*?"""|'''[\s\S]*?'''|#[^\n]*|[rRfFbBuU]{0,2}"(?:[^"\\\n]|\\.)*"|[rRfFbBuU]{0,2}'(?:[^'\\\n]|\\.)*'/g;
  return [...source.matchAll(token)]
    .map((m) => m[0])
    .filter((t) => !t.startsWith("#") && !/^[rRfFbBuU]{0,2}("""|''')/.test(t));
}

/** The first level of every bridge topic shape (bridge, source, guest, …): a literal containing `<level>/` spells a topic out. */
const TOPIC_LEVELS = [...new Set(Object.values(TOPIC_FILTERS).map((f) => f.split("/")[0]!))];
const spelledOut = (literal: string) =>
  new RegExp(`(?:^[rRfFbBuU]{0,2}["']|[/}])(?:${TOPIC_LEVELS.join("|")})/`).test(literal) ||
  literal.includes(DEVICE_ID_PREFIX);

describe("the Python integration's ids and topics are the bridge's", () => {
  const constants = pythonStringConstants(read("const.py"));

  it("const.py: device id prefix and default base topic", () => {
    expect(constants.get("DEVICE_ID_PREFIX")).toBe(DEVICE_ID_PREFIX);
    expect(constants.get("DEFAULT_BASE_TOPIC")).toBe(DEFAULT_BASE_TOPIC);
  });

  it("const.py: every TOPIC_* constant is the bridge's topic filter of the same name, and the ones the integration uses are there", () => {
    const python = Object.fromEntries([...constants].filter(([name]) => name.startsWith("TOPIC_")));
    expect(Object.keys(python)).toEqual(expect.arrayContaining(USED_TOPICS));
    const bridge = Object.fromEntries(
      Object.keys(python).map((name) => [name, (TOPIC_FILTERS as Record<string, string>)[filterKey(name)]]),
    );
    expect(python).toEqual(bridge);
  });

  it("const.py DISCOVERY_TOPIC and manifest.json's MQTT discovery topic are the bridge's info topic under the default base topic", () => {
    const info = `${DEFAULT_BASE_TOPIC}/${TOPIC_FILTERS.bridgeInfo}`;
    expect(constants.get("DISCOVERY_TOPIC")).toBe(info);
    expect((JSON.parse(read("manifest.json")) as { mqtt: string[] }).mqtt).toEqual([info]);
  });

  it("no other module of the integration writes a topic or a device id as literal text", () => {
    const found: string[] = [];
    for (const file of readdirSync(INTEGRATION).filter((f) => f.endsWith(".py") && f !== "const.py")) {
      for (const literal of stringLiterals(read(file))) if (spelledOut(literal)) found.push(`${file}: ${literal}`);
    }
    expect(found).toEqual([]);
  });

  it("the literal check finds what it looks for (and leaves prose and other strings alone)", () => {
    const sample = [
      '"""Found on `<base>/bridge/info`."""',
      '# subscribes to f"{base}/guest/+/state"',
      'a = f"{base}/guest/+/state"',
      "b = topic.removesuffix('/bridge/info')",
      'c = f"{DOMAIN}_static"',
      `d = "${DEVICE_ID_PREFIX}home_100"`,
      'e = f"unprotected_{gid}"',
    ].join("\n");
    expect(stringLiterals(sample).filter(spelledOut)).toEqual([
      'f"{base}/guest/+/state"',
      "'/bridge/info'",
      `"${DEVICE_ID_PREFIX}home_100"`,
    ]);
  });
});
