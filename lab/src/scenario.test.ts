import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario, ScenarioError, validateScenario } from "./scenario.js";

describe("scenarios", () => {
  it("seed is the home lab before any backup: five guests, three disabled jobs, no archives, no tasks", () => {
    const s = loadScenario("seed");
    expect(s.nodes.map((n) => n.name)).toEqual(["proxmox-home"]);
    expect(s.guests.map((g) => [g.vmid, g.type, g.name])).toEqual([
      [100, "qemu", "homeassistant"],
      [101, "qemu", "immich"],
      [102, "qemu", "vaultwarden"],
      [103, "lxc", "download-home"],
      [105, "lxc", "pihole-home"],
    ]);
    expect(s.jobs).toHaveLength(3);
    expect(s.jobs.every((j) => j.enabled === 0)).toBe(true);
    expect(s.archives).toEqual([]);
    expect(s.tasks).toEqual([]);
    expect(s.tokens.map((t) => t.id)).toEqual(["backup2mqtt@pve!bridge"]);
  });

  it("demo loads and has the read-only token", () => {
    const s = loadScenario("demo");
    expect(s.tokens.map((t) => t.id)).toContain("monitor@pve!readonly");
  });

  it("errors name the file and the key path", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lab-"));
    const file = path.join(dir, "bad.yaml");
    writeFileSync(
      file,
      "nodes:\n  - name: pve1\n    timezone: Mars/Olympus\nguests:\n  - { vmid: 100, type: qemu, name: a, node: pve9 }\njobs:\n  - { id: j, schedule: 'someday', vmid: [100] }\n",
    );
    let msg = "";
    try {
      loadScenario(file);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      msg = (e as Error).message;
    }
    expect(msg).toContain(file);
    expect(msg).toContain("nodes[0].timezone");
    expect(msg).toContain("guests[0].node: unknown node 'pve9'");
    expect(msg).toContain("jobs[0].schedule");
  });

  it("unknown keys are rejected", () => {
    expect(() => validateScenario({ nodes: [{ name: "a" }], guestz: [] })).toThrow(/guestz/);
  });
});
