/** The tier key `fallback`: shorthand, object, defaults, and errors that name the key. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfigText } from "./load.js";

const BASE = `
site: home
mqtt:
  url: mqtt://127.0.0.1:1883
proxmox:
  - name: pve
    url: https://pve.lan:8006
    token_id: backup2mqtt@pve!bridge
    token_secret: 11111111-2222-3333-4444-555555555555
    fingerprint: ${"ab:".repeat(31)}ab
`;

function problems(text: string) {
  try {
    parseConfigText(text, "test.yaml", {});
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("tier fallback config", () => {
  it("is off for every tier by default", () => {
    const c = parseConfigText(BASE, "x.yaml", {});
    for (const t of Object.values(c.tiers))
      expect(t.fallback).toEqual({ action: "off", window: "any", graceMs: 3_600_000, maxPerDay: 1 });
  });

  it("shorthand and object forms; absent keys get their defaults; other tiers stay off", () => {
    const c = parseConfigText(
      `${BASE}tiers:
  P0:
    fallback: auto
  P1:
    fallback: { action: ask, window: "22:00-04:00", grace: 30m, max_per_day: 2, storage: local, mode: stop }
`,
      "x.yaml",
      {},
    );
    expect(c.tiers.P0!.fallback).toEqual({ action: "auto", window: "any", graceMs: 3_600_000, maxPerDay: 1 });
    expect(c.tiers.P1!.fallback).toEqual({
      action: "ask",
      window: "22:00-04:00",
      graceMs: 30 * 60_000,
      maxPerDay: 2,
      storage: "local",
      mode: "stop",
    });
    expect(c.tiers.P2!.fallback.action).toBe("off");
  });

  it.each([
    ["fallback: sometimes", "tiers.P0.fallback"],
    ['fallback: { action: auto, window: "25:00-06:00" }', "tiers.P0.fallback"],
    ['fallback: { action: auto, window: "01:00-01:00" }', "tiers.P0.fallback.window"],
    ["fallback: { action: auto, grace: 40d }", "tiers.P0.fallback.grace"],
    ["fallback: { action: auto, max_per_day: 0 }", "tiers.P0.fallback"],
    ["fallback: { action: auto, when: now }", "tiers.P0.fallback"],
  ])("%s → an error at %s", (line, key) => {
    const p = problems(`${BASE}tiers:\n  P0:\n    ${line}\n`);
    expect(p.map((x) => x.key).some((k) => k === key || k.startsWith(`${key}.`) || k.startsWith(`${key}[`))).toBe(true);
    expect(p.every((x) => x.line !== undefined)).toBe(true);
  });
});
