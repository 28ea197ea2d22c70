/**
 * POST /api/v1/guests/<id>/fallback/approve over real HTTP, on a bridge that reads the simulated
 * lab (HTTPS) and publishes to a real broker: tier P1 has `fallback: ask`, so the demo's failed
 * vaultwarden (102) gets a fallback that waits for approval. Approving it with the token starts
 * the vzdump (event fallback_started, then backup_finished) and the guest turns ok; without the
 * token, for a guest whose tier does not ask, and a second time, nothing is approved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../support/stack.js";
import { expectSchema, startHttpStack, until, type TestHttp } from "./http-helpers.js";

const TOKEN = "http-fallback-token-93c1d7e0";
const ID = "home_102";

describe("HTTP: approve a pending fallback", () => {
  let stack: Stack;
  let http: TestHttp;
  const call = async (path: string, headers: Record<string, string> = {}, method = "POST") => {
    const res = await fetch(http.url + path, {
      method,
      ...(method === "POST" ? { body: "{}" } : {}),
      headers: { "content-type": "application/json", ...headers },
    });
    const text = await res.text();
    return { res, json: () => JSON.parse(text) };
  };
  const guest = async (id: string) => (await call(`/api/v1/guests/${id}`, {}, "GET")).json();
  const vzdumps = () => stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump"));
  const events = (type: string) =>
    stack.observer.messages
      .filter((m) => m.topic === `backup2mqtt/guest/${ID}/event`)
      .map((m) => JSON.parse(m.payload) as { event_type: string })
      .filter((e) => e.event_type === type);

  beforeAll(async () => {
    ({ stack, http } = await startHttpStack(
      {
        broker: "embedded",
        lab: { scenario: "demo", taskSpeed: 20 },
        configure: (cfg) => {
          cfg.tiers.P1!.fallback = { action: "ask", window: "any", graceMs: 0, maxPerDay: 1 };
        },
      },
      TOKEN,
    ));
  });
  afterAll(async () => {
    await http?.close();
    await stack?.stop();
  });

  it("the failed P1 guest's fallback waits for approval; nothing runs by itself", async () => {
    const g = await until("vaultwarden's fallback pending", async () => {
      const s = await guest(ID);
      return s.fallback?.state === "planned" ? s : undefined;
    });
    expect(g.status).toBe("failed");
    expect(g.fallback).toMatchObject({ action: "ask", approved: false, state: "planned" });
    expect(g.fallback.reason).toMatch(/approv/i);
    // The event reaches the MQTT observer on its own path, maybe after the HTTP API shows the plan.
    await until("the fallback_planned event over MQTT", () => events("fallback_planned").length || undefined);
    await new Promise((r) => setTimeout(r, 1500));
    expect(vzdumps()).toEqual([]);
  });

  it("/metrics counts it as waiting for approval; /report.md lists it under Self-healing", async () => {
    const metrics = await (await fetch(`${http.url}/metrics`)).text();
    expect(metrics).toMatch(/^backup2mqtt_fallbacks_pending_approval 1$/m);
    expect(metrics).toMatch(/^backup2mqtt_fallbacks\{state="planned"\} 1$/m);
    const md = await (await fetch(`${http.url}/report.md`)).text();
    expect(md).toContain("\n## Self-healing\n");
    expect(md).toMatch(
      /^\| \*\*P1\*\* \| Ask: the bridge plans a fallback that would run the guest's vzdump at any time, /m,
    );
    expect(md).toMatch(/^\| vaultwarden \| 102 \| waiting for approval \| .+ \|$/m);
  });

  it("the status page says so and offers Approve fallback; a wrong token there approves nothing", async () => {
    const page = await (await fetch(`${http.url}/`)).text();
    const card = page.slice(page.indexOf(`id="${ID}"`), page.indexOf("</article>", page.indexOf(`id="${ID}"`)));
    expect(card).toContain("A fallback backup waits for approval; once approved it starts");
    expect(card).toContain(`<form method="post" action="./guests/${ID}/fallback/approve">`);
    const wrong = await fetch(`${http.url}/guests/${ID}/fallback/approve`, {
      method: "POST",
      body: "token=nope",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong or missing token: nothing was approved.");
    expect((await guest(ID)).fallback.approved).toBe(false);
  });

  it("no token, a tier that does not ask, an unknown guest: 401 / 409 / 404, nothing approved", async () => {
    const none = await call(`/api/v1/guests/${ID}/fallback/approve`);
    expect(none.res.status).toBe(401);
    expectSchema("http-error", none.json());
    const wrong = await call(`/api/v1/guests/${ID}/fallback/approve`, { authorization: `Bearer ${TOKEN}x` });
    expect(wrong.res.status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const p2 = await call("/api/v1/guests/home_101/fallback/approve", auth);
    expect(p2.res.status).toBe(409);
    expect(p2.json().error).toMatch(/P2/);
    const unknown = await call("/api/v1/guests/home_999/fallback/approve", auth);
    expect(unknown.res.status).toBe(404);
    const body = await fetch(`${http.url}/api/v1/guests/${ID}/fallback/approve`, {
      method: "POST",
      body: JSON.stringify({ action: "backup" }),
      headers: { "content-type": "application/json", ...auth },
    });
    expect(body.status).toBe(400);
    expect((await guest(ID)).fallback.approved).toBe(false);
    expect(vzdumps()).toEqual([]);
  });

  it("with the token: 202, the fallback's vzdump runs, fallback_started then backup_finished, the guest turns ok; a second approval is refused", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await call(`/api/v1/guests/${ID}/fallback/approve`, auth);
    expect(ok.res.status).toBe(202);
    expectSchema("http-accepted", ok.json());
    expect(ok.json().ok).toBe(true);
    await until("the fallback's vzdump of 102", () => vzdumps().length === 1);
    const task = stack.lab.control.state.tasks.find((t) => t.type === "vzdump" && t.id === "102");
    expect(task?.authid).toBe(stack.cfg.proxmox[0]!.tokenId); // the bridge's own vzdump, not a job
    await until("fallback_started", () => events("fallback_started").length === 1);
    await until("backup_finished", () => events("backup_finished").length === 1, 30_000);
    const g = await until("vaultwarden ok", async () => {
      const s = await guest(ID);
      return s.status === "ok" ? s : undefined;
    });
    expect(g.fallback === null || g.fallback.state === "done").toBe(true);
    const again = await call(`/api/v1/guests/${ID}/fallback/approve`, auth);
    expect(again.res.status).toBe(409);
    expect(vzdumps()).toHaveLength(1);
  });
});
