import { describe, expect, it } from "vitest";
import {
  deviceId,
  guestId,
  hyperBackupKey,
  objectIdOf,
  pbsKey,
  severalSources,
  slug,
  Topics,
  TOPIC_FILTERS,
} from "./identity.js";

const t = new Topics("backup2mqtt", "homeassistant", "home");

describe("identity: every id and topic, built and parsed in one place", () => {
  it.each([
    ["home", "pve", 100, false, "home_100"],
    ["home", "pve-2", 100, true, "home_pve_2_100"],
    ["lab", "pve", 9999, false, "lab_9999"],
  ])("guest id of %s/%s/%i (several sources %s) is %s", (site, source, vmid, multi, want) => {
    expect(guestId(site, source, vmid, multi)).toBe(want);
  });

  it("several sources means several distinct names", () => {
    expect(severalSources(["pve"])).toBe(false);
    expect(severalSources(["pve", "pve"])).toBe(false);
    expect(severalSources(["pve", "pve2"])).toBe(true);
  });

  it("off-site keys carry the source name only with several sources", () => {
    expect(hyperBackupKey({ source: "NAS 1", taskId: 2 }, false)).toBe("2");
    expect(hyperBackupKey({ source: "NAS 1", taskId: 2 }, true)).toBe("nas_1_2");
    expect(pbsKey({ source: "pbs", store: "Store-1" }, false)).toBe("store_1");
    expect(pbsKey({ source: "pbs", store: "Store-1" }, true)).toBe("pbs_store_1");
    expect(slug("Home Assistant (HAOS)")).toBe("home_assistant_haos");
    expect(slug("!!!")).toBe("guest");
  });

  it("device ids and object ids convert both ways", () => {
    expect(deviceId("home_100")).toBe("backup2mqtt_home_100");
    expect(objectIdOf("backup2mqtt_home_100")).toBe("home_100");
    expect(objectIdOf("home_100")).toBe("home_100");
  });

  it("every topic it builds parses back to what built it", () => {
    expect(t.parse(t.bridgeInfo)).toEqual({ kind: "bridge", leaf: "info" });
    expect(t.parse(t.bridgeCommand)).toEqual({ kind: "bridge", leaf: "command" });
    expect(t.parse(t.guestState("home_100"))).toEqual({ kind: "guest", id: "home_100", leaf: "state" });
    expect(t.parse(t.of("hyperbackup", "2", "command"))).toEqual({ kind: "hyperbackup", id: "2", leaf: "command" });
    expect(t.parse(t.of("pbs", "store1", "event"))).toEqual({ kind: "pbs", id: "store1", leaf: "event" });
    expect(t.parse(t.sourceAvailability("pve"))).toEqual({ kind: "source", id: "pve", leaf: "availability" });
  });

  it.each([
    "backup2mqtt/guest//command",
    "backup2mqtt/guest/home_100/x/command",
    "backup2mqtt/vm/home_100/command",
    "backup2mqtt/bridge/other",
    "other/guest/home_100/command",
    "backup2mqtt_home/guest/home_100/command",
  ])("%s is not one of ours", (topic) => {
    expect(t.parse(topic)).toBeNull();
  });

  it("the topic filters match the built topics", () => {
    const asRe = (f: string) => new RegExp(`^backup2mqtt/${f.replace(/\+/g, "[^/]+")}$`);
    expect(t.guestState("home_1")).toMatch(asRe(TOPIC_FILTERS.guestState));
    expect(t.of("pbs", "s", "command")).toMatch(asRe(TOPIC_FILTERS.pbsCommand));
    expect(t.bridgeInfo).toMatch(asRe(TOPIC_FILTERS.bridgeInfo));
    expect(t.commandFilters).toContain("backup2mqtt/guest/+/command");
  });

  it("parses this site's discovery config topics only", () => {
    expect(t.parseDeviceConfig("homeassistant/device/backup2mqtt_home_100/config")).toEqual({
      deviceId: "backup2mqtt_home_100",
      objectId: "home_100",
      rest: "100",
    });
    expect(t.parseDeviceConfig("homeassistant/device/backup2mqtt_lab_100/config")).toBeNull();
    expect(t.parseDeviceConfig("homeassistant/device/other_home_100/config")).toBeNull();
  });
});
