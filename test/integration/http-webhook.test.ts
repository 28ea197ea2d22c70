/**
 * PVE push: the notification webhook (PVE 8.3+ webhook target) is a trigger. A wrong secret is
 * refused; the right one makes the bridge read PVE at once (within 1 s), long before the next
 * content refresh would have seen the new archive.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../support/stack.js";
import { expectSchema, startHttp, until, type TestHttp, startHttpStack } from "./http-helpers.js";

const SECRET = "pve-webhook-secret-0c6d2e8f91";
const HEADER = "X-Backup2mqtt-Secret";
/** What the README's PVE body template renders to (vzdump job finished on proxmox-home). */
const PVE_BODY = JSON.stringify({
  severity: "info",
  timestamp: 1767150000,
  title: "vzdump backup status (proxmox-home.lan): backup successful",
  fields: { type: "vzdump", hostname: "proxmox-home", "job-id": "backup2mqtt-p0" },
});

describe("PVE notification webhook", () => {
  let stack: Stack;
  let http: TestHttp;
  const hook = (headers: Record<string, string>, body = PVE_BODY) =>
    fetch(`${http.url}/api/v1/webhook/pve`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });

  beforeAll(async () => {
    // Slow polls and a 10-minute content cadence: only the webhook can make the new archive show quickly.
    ({ stack, http } = await startHttpStack(
      { broker: "embedded", lab: { scenario: "seed" }, pollMs: 60_000, contentMs: 600_000 },
      "some-api-token-123456",
      { webhookSecret: SECRET },
    ));
  });
  afterAll(async () => {
    await http?.close();
    await stack?.stop();
  });

  it("refuses a missing or wrong secret (401) and triggers nothing", async () => {
    const before = stack.lab.requests.length;
    const none = await hook({});
    expect(none.status).toBe(401);
    expectSchema("http-error", await none.json());
    const wrong = await hook({ [HEADER]: `${SECRET}!` });
    expect(wrong.status).toBe(401);
    const bearer = await hook({ authorization: `Bearer ${SECRET}` });
    expect(bearer.status).toBe(401);
    await bearer.arrayBuffer();
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.lab.requests.length).toBe(before);
    expect(http.app.locals.refreshTrigger.count).toBe(0);
  });

  it("with the right secret refreshes at once: the new archive shows within 1 s", async () => {
    expect(stack.service.engine.guest("home_100")!.status).toBe("missing");
    stack.lab.control.addArchive({ vmid: 100, storage: "synology", ageSeconds: 5, notes: "homeassistant" });
    const t0 = Date.now();
    const res = await hook({ [HEADER]: SECRET });
    expect(res.status).toBe(202);
    const body = await res.json();
    expectSchema("http-accepted", body);
    expect(body).toEqual({ ok: true, detail: "refresh started" });
    const g = await until(
      "archive visible over HTTP",
      async () => {
        const r = await fetch(`${http.url}/api/v1/guests/home_100`);
        const j = await r.json();
        return j.archive_count === 1 ? j : null;
      },
      1000,
      20,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(g.last_backup).not.toBeNull();
    expect(g.status).not.toBe("missing");
    expect(http.logs.some((l) => l.includes("PVE notification received") && l.includes('"job":"backup2mqtt-p0"'))).toBe(
      true,
    );
  });

  it("any body will do (it is only a trigger), but not an oversized one", async () => {
    const text = await hook({ [HEADER]: SECRET, "content-type": "text/plain" }, "backup finished");
    expect(text.status).toBe(202);
    const big = await hook({ [HEADER]: SECRET }, "x".repeat(3 * 1024 * 1024));
    expect(big.status).toBe(413);
    expectSchema("http-error", await big.json());
  });

  it("bursts of notifications coalesce into few refreshes", async () => {
    await new Promise((r) => setTimeout(r, 200)); // let earlier refreshes finish
    const before = http.app.locals.refreshTrigger.count;
    const answers = await Promise.all(Array.from({ length: 8 }, () => hook({ [HEADER]: SECRET })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    await new Promise((r) => setTimeout(r, 500));
    expect(http.app.locals.refreshTrigger.count - before).toBeLessThanOrEqual(2);
  });

  it("is disabled (403) without a configured secret", async () => {
    const off = await startHttp(stack, "some-api-token-123456");
    try {
      const res = await fetch(`${off.url}/api/v1/webhook/pve`, { method: "POST", headers: { [HEADER]: SECRET } });
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatch(/webhook_secret/);
    } finally {
      await off.close();
    }
  });
});
