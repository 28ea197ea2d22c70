import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { pbsHandler } from "./router.js";
import { PbsScenarioSchema } from "./scenario.js";
import { PbsState } from "./state.js";
import { estimatedFullDate, linearRegression } from "./status-routes.js";

const NOW = Date.parse("2025-06-02T12:00:00Z");

describe("estimated-full-date (src/api2/status.rs, src/tools/statistics.rs)", () => {
  it("linear regression as PBS's doc test has it", () => {
    const [a, b] = linearRegression([0, 1, 2, 3, 4], [-4, -2, 0, 2, 4])!;
    expect(a).toBeCloseTo(-4);
    expect(b).toBeCloseTo(2);
    expect(linearRegression([], [])).toBeNull();
  });

  it("solves usage = a + b·t for 1.0, skips nulls, needs 7 values, and answers 0 for a flat line", () => {
    // 10% at t=0, +1% per 1000 s: full at t = 90 000.
    const history = [0.1, null, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, null];
    expect(estimatedFullDate(0, 1000, history)).toBe(90_000);
    expect(estimatedFullDate(0, 1000, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])).toBeNull();
    expect(estimatedFullDate(0, 1000, Array(10).fill(0.5))).toBe(0);
  });
});

describe("GET /status/datastore-usage and …/rrd", () => {
  const sc = PbsScenarioSchema.parse({
    tokens: [
      { id: "a@pbs!t", secret: "a", acl: [{ path: "/datastore/grow", role: "DatastoreAudit" }] },
      { id: "ns@pbs!t", secret: "n", acl: [{ path: "/datastore/flat/ns1", role: "DatastoreBackup" }] },
    ],
    datastores: [
      {
        name: "grow",
        total: 1000e9,
        used: 500e9,
        snapshots: [1, 5, 9, 13, 17].map((d) => ({ type: "vm" as const, id: "100", age: `${d}d`, size: 20e9 })),
      },
      { name: "flat", namespaces: ["ns1"] },
      { name: "hidden" },
    ],
  });
  const pbs = new PbsState(sc, NOW, 1);
  const call = (path: string, token: string, params: Record<string, string> = {}) =>
    pbsHandler(
      pbs,
      new ManualClock(NOW),
      () => "AB",
    )({
      method: "GET",
      path,
      params,
      headers: { authorization: `PBSAPIToken=${token}` },
    });

  it("gives the month's usage history and an estimate from the snapshots' growth; a namespace privilege only the name", () => {
    const usage = JSON.parse(call("/api2/json/status/datastore-usage", "a@pbs!t:a").body).data;
    expect(usage.map((u: { store: string }) => u.store)).toEqual(["grow"]);
    const u = usage[0];
    expect(u["history-delta"]).toBe(1800);
    expect(u.history.length).toBeGreaterThanOrEqual(1440);
    expect(u.history.at(-1)).toBeNull(); // the slot being written
    expect(u.history[0]).toBeCloseTo(0.4, 2); // 500 GB less five 20 GB snapshots
    expect(u.history.at(-2)).toBeCloseTo(0.5, 2);
    expect(u["estimated-full-date"]).toBeGreaterThan(NOW / 1000);
    expect(u).toMatchObject({ total: 1000e9, used: 500e9, avail: 500e9 });
    const ns = JSON.parse(call("/api2/json/status/datastore-usage", "ns@pbs!t:n").body).data;
    expect(ns).toEqual([{ store: "flat" }]);
  });

  it("answers the RRD per slot, checks the permission before the parameters", () => {
    const rrd = JSON.parse(
      call("/api2/json/admin/datastore/grow/rrd", "a@pbs!t:a", { timeframe: "hour", cf: "MAX" }).body,
    ).data;
    expect(rrd.length).toBe(61);
    expect(rrd[0].time % 60).toBe(0);
    expect(Object.keys(rrd[0]).sort()).toEqual(
      ["available", "io_ticks", "read_bytes", "read_ios", "time", "total", "used", "write_bytes", "write_ios"].sort(),
    );
    expect(Object.keys(rrd.at(-1))).toEqual(["time"]);
    expect(call("/api2/json/admin/datastore/hidden/rrd", "a@pbs!t:a").status).toBe(403);
    expect(call("/api2/json/admin/datastore/grow/rrd", "a@pbs!t:a", { timeframe: "minute", cf: "AVERAGE" }).body).toBe(
      "parameter verification failed - 'timeframe': value 'minute' is not defined in the enumeration.",
    );
  });
});
