import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { startLab, type Lab } from "./index.js";
import { api as labApi, type ApiRequest, BRIDGE, T0, twoNodeScenario } from "./testing.js";

/** The lab's JSON answers, which these tests walk freely (test files may use `any`: biome.json). */
const api = (l: Lab, path: string, req?: ApiRequest) => labApi<any>(l, path, req);

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ scenario: twoNodeScenario(), clock: new ManualClock(T0), authFailDelayMs: 200 });
});
afterAll(() => lab.stop());

describe("faults", () => {
  it("failed auth is answered after the configured delay", async () => {
    const t = Date.now();
    const r = await api(lab, "/version", { auth: `PVEAPIToken=${BRIDGE}=wrong` });
    expect(r.status).toBe(401);
    expect(Date.now() - t).toBeGreaterThanOrEqual(190);
  });

  it("down: connections are reset, then recover", async () => {
    lab.control.setFault({ kind: "down" });
    await expect(api(lab, "/version")).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    lab.control.setFault(null);
    expect((await api(lab, "/version")).status).toBe(200);
  });

  it("http500", async () => {
    lab.control.setFault({ kind: "http500" });
    const r = await api(lab, "/cluster/resources");
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ data: null });
    lab.control.setFault(null);
  });

  it("garbage: 200 with a body that is not JSON, only under pathPrefix", async () => {
    lab.control.setFault({ kind: "garbage", pathPrefix: "/cluster/resources" });
    const r = await api(lab, "/cluster/resources");
    expect(r.status).toBe(200);
    expect(r.json).toBeUndefined();
    expect(r.text.startsWith('{"data": [')).toBe(true);
    expect((await api(lab, "/version")).json.data.version).toBe("9.1.6");
    lab.control.setFault(null);
  });

  it("wrongTypes: valid JSON, wrong field types", async () => {
    lab.control.setFault({ kind: "wrongTypes", pathPrefix: "/api2/json/cluster" });
    const r = await api(lab, "/cluster/resources?type=vm");
    expect(r.status).toBe(200);
    expect(typeof r.json.data[0].vmid).toBe("object");
    lab.control.setFault(null);
  });

  it("slow and unauthorized", async () => {
    lab.control.setFault({ kind: "slow", ms: 150 });
    const t = Date.now();
    expect((await api(lab, "/version")).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    lab.control.setFault({ kind: "unauthorized" });
    expect((await api(lab, "/version")).status).toBe(401);
    lab.control.setFault(null);
  });

  it("counts every request served", () => {
    expect(lab.requests.length).toBeGreaterThan(5);
    expect(lab.requests).toContainEqual({ method: "GET", path: "/api2/json/version", status: 401 });
    expect(lab.requests).toContainEqual({ method: "GET", path: "/api2/json/cluster/resources", status: 500 });
  });
});
