/** GET /metrics parsed with a Prometheus text-format parser (not a regex), against the demo lab. */
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../support/stack.js";
import { until, type TestHttp, startHttpStack } from "./http-helpers.js";

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

describe("Prometheus /metrics", () => {
  let stack: Stack;
  let http: TestHttp;
  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await fetch(`${http.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await res.text()) as Family[];
    return new Map(families.map((f) => [f.name, f]));
  };

  beforeAll(async () => {
    ({ stack, http } = await startHttpStack(
      { broker: "embedded", lab: { scenario: "demo", taskSpeed: 20 } },
      undefined,
    ));
  });
  afterAll(async () => {
    await http?.close();
    await stack?.stop();
  });

  it("has one series per guest, labelled vmid, name, node, tier", async () => {
    const m = await scrape();
    const byVmid = (name: string) => Object.fromEntries(m.get(name)!.metrics.map((s) => [s.labels!.vmid, s]));
    const archives = byVmid("backup2mqtt_guest_archives");
    expect(Object.keys(archives).sort()).toEqual(["100", "101", "102", "103", "105"]);
    expect(m.get("backup2mqtt_guest_archives")!.type).toBe("GAUGE");
    expect(archives["100"]!.labels).toEqual({
      id: "home_100",
      vmid: "100",
      name: "homeassistant",
      node: "proxmox-home",
      tier: "P0",
      source: "pve",
    });
    const g = (id: string) => stack.service.engine.guest(id)!;
    expect(Number(archives["100"]!.value)).toBe(g("home_100").archive_count);
    expect(Number(archives["103"]!.value)).toBe(0);

    const last = byVmid("backup2mqtt_guest_last_backup_timestamp_seconds");
    expect(Object.keys(last).sort()).toEqual(["100", "101", "102", "105"]); // 103 has never been backed up
    expect(Number(last["100"]!.value)).toBe(Date.parse(g("home_100").last_backup!) / 1000);
    expect(Number(byVmid("backup2mqtt_guest_last_backup_size_bytes")["101"]!.value)).toBe(
      g("home_101").last_backup_size,
    );
    // The policy's 3-2-1 count when an off-site source is configured, else distinct storages (synology + local).
    const storages100 = new Set(
      stack.service.engine
        .evidence()
        .archives.of("pve", 100)
        .map((a) => a.storage),
    ).size;
    expect(storages100).toBeGreaterThanOrEqual(2);
    expect(Number(byVmid("backup2mqtt_guest_copies")["100"]!.value)).toBe(g("home_100").copies ?? storages100);
    expect(Number(byVmid("backup2mqtt_guest_problem")["102"]!.value)).toBe(1);
    expect(Number(byVmid("backup2mqtt_guest_problem")["100"]!.value)).toBe(0);
    // Only guests with a verification have the series (absent, not 0, when never verified).
    const verified = Object.fromEntries(
      m.get("backup2mqtt_guest_last_verified_timestamp_seconds")!.metrics.map((s) => [s.labels!.vmid, Number(s.value)]),
    );
    const expected = Object.fromEntries(
      stack.service.engine
        .result!.guests.filter((x) => x.last_verified)
        .map((x) => [String(x.vmid), Date.parse(x.last_verified!) / 1000]),
    );
    expect(verified).toEqual(expected);

    const status = m.get("backup2mqtt_guest_status")!.metrics;
    const current = Object.fromEntries(
      status.filter((s) => s.value === "1").map((s) => [s.labels!.vmid, s.labels!.status]),
    );
    expect(current).toMatchObject({ "100": "ok", "101": "stale", "102": "failed", "103": "missing" });
    expect(status.filter((s) => s.labels!.vmid === "100")).toHaveLength(6);
    const findings = m.get("backup2mqtt_guest_finding")!.metrics.map((s) => `${s.labels!.vmid}:${s.labels!.code}`);
    expect(findings).toContain("103:unprotected");
  });

  it("reports the source, its requests, the refresh duration and the build", async () => {
    const m = await scrape();
    expect(m.get("backup2mqtt_source_up")!.metrics).toEqual([
      { value: "1", labels: { source: "pve", kind: "proxmox" } },
    ]);
    const req = m.get("backup2mqtt_source_requests_total")!;
    expect(req.type).toBe("COUNTER");
    const first = Number(req.metrics[0]!.value);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(stack.service.engine.sources[0]!.http.requestCount);
    await until("another poll", () => stack.service.engine.sources[0]!.http.requestCount > first);
    const again = Number((await scrape()).get("backup2mqtt_source_requests_total")!.metrics[0]!.value);
    expect(again).toBeGreaterThan(first);
    const dur = Number(m.get("backup2mqtt_refresh_duration_seconds")!.metrics[0]!.value);
    expect(dur).toBeGreaterThan(0);
    expect(dur).toBeLessThan(10);
    expect(Number(m.get("backup2mqtt_last_refresh_timestamp_seconds")!.metrics[0]!.value)).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    const build = m.get("backup2mqtt_build_info")!.metrics[0]!;
    expect(build.value).toBe("1");
    expect(build.labels!.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(build.labels!.nodejs).toBe(process.version);
    expect(
      Object.fromEntries(m.get("backup2mqtt_guests")!.metrics.map((s) => [s.labels!.status, Number(s.value)])),
    ).toMatchObject({ ok: 1, stale: 1, failed: 1, missing: 1 });
    expect(m.get("backup2mqtt_mqtt_connected")!.metrics[0]!.value).toBe("1");
    expect(m.has("process_cpu_user_seconds_total")).toBe(true);
  });

  it("shows the source down when Proxmox cannot be reached", async () => {
    stack.lab.control.setFault({ kind: "down" });
    try {
      await until(
        "source down",
        async () => (await scrape()).get("backup2mqtt_source_up")!.metrics[0]!.value === "0",
        15_000,
        200,
      );
      const m = await scrape();
      const unknown = m
        .get("backup2mqtt_guest_status")!
        .metrics.filter((s) => s.value === "1")
        .map((s) => s.labels!.status);
      expect(unknown).toEqual(["unknown", "unknown", "unknown", "unknown", "unknown"]);
    } finally {
      stack.lab.control.setFault(null);
    }
  });
});
