/**
 * The status page in a real browser: Debian's headless Chromium (driven by playwright-core; no
 * browser download), JavaScript off. Screenshots at phone and desktop width are written to
 * $B2M_SCREENSHOTS (default <tmp>/backup2mqtt-screenshots) for a person to look at.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { renderStatusPage } from "../../bridge/src/extensions/http/status-page.js";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHttp, startHttpStack, until, type TestHttp } from "./http-helpers.js";
import { archiveSet } from "../../bridge/src/archive-set.js";

const CHROMIUM =
  process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error("CI must install Debian's chromium (apt-get install -y chromium)");
if (!CHROMIUM) process.stderr.write("note: chromium is not installed here; the status page browser test is skipped\n");

const TOKEN = "status-page-token-7d3e1a";
const SHOTS = process.env.B2M_SCREENSHOTS ?? path.join(os.tmpdir(), "backup2mqtt-screenshots");

/** The text a person sees in an element: rendered text, so what CSS hides (a closed <details>) does not count. */
// biome-ignore lint/performance/useDomNodeTextContent: false positive: this is playwright-core's Locator.innerText(), not the DOM property the rule is about; the test wants the rendered text, which textContent() would not give
const shownText = (l: Locator) => l.innerText();

describe.skipIf(!CHROMIUM)("status page in headless Chromium", () => {
  let stack: Stack;
  let http: TestHttp;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "demo", taskSpeed: 20 } });
    await until("first evaluation", () => stack.service.engine.result?.guests.length === 5);
    // The demo's running backup of 105 ends after ~6 s; wait for it so the picture is stable.
    await until("105 finished", () => stack.service.engine.guest("home_105")?.status === "ok", 20_000, 100);
    http = await startHttp(stack, TOKEN);
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // playwright gives every launch a fresh, temporary --user-data-dir of its own.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await http?.close();
    await stack?.stop();
  });

  it("shows five guests, problems first, on a phone, without JavaScript", async () => {
    const ctx = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await ctx.newPage();
    const cspViolations: string[] = [];
    page.on("console", (m) => m.type() === "error" && cspViolations.push(m.text()));
    const res = await page.goto(`${http.url}/`);
    expect(res!.status()).toBe(200);
    const cards = page.locator("article.guest");
    expect(await cards.count()).toBe(5);
    const names = await cards.locator("h2").evaluateAll((els) => els.map((e) => e.childNodes[0]!.textContent));
    const problem = await cards.evaluateAll((els) => els.map((e) => e.classList.contains("problem")));
    // Problems first: every card with a problem comes before every card without.
    expect(problem.indexOf(false)).toBe(problem.lastIndexOf(true) + 1);
    expect(names[0]).toBe("vaultwarden"); // failed comes first
    // ok and no finding, by name (pihole-home's job keeps more than its tier wants: no problem)
    expect(names.slice(-2)).toEqual(["homeassistant", "pihole-home"]);
    expect(problem.slice(-2)).toEqual([false, false]);
    expect(await page.locator("script").count()).toBe(0);
    // Readable on a phone: nothing is wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Each card shows tier, status, age, copies, off-site and last verified.
    const first = await shownText(cards.first());
    for (const label of ["Tier", "Last backup", "Copies", "Off-site", "Last verified"]) expect(first).toContain(label);
    expect(first).toMatch(/FAILED|failed/);
    const file = path.join(SHOTS, "status-page-phone.png");
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
    expect(cspViolations).toEqual([]);
    await ctx.close();
  });

  it("desktop width: a grid of cards; screenshot", async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${http.url}/`);
    expect(await page.locator("article.guest").count()).toBe(5);
    const tops = await page
      .locator("article.guest")
      .evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
    expect(new Set(tops).size).toBeLessThan(5); // several cards per row
    await page.screenshot({ path: path.join(SHOTS, "status-page-desktop.png"), fullPage: true });
    await ctx.close();
  });

  it("run now: wrong token is refused, the right token starts the backup (no JavaScript)", async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    await page.goto(`${http.url}/`);
    const card = page.locator("article#home_103");
    await card.locator("summary").click();
    await card.locator('input[name="token"]').fill("not-the-token");
    const [wrong] = await Promise.all([page.waitForNavigation(), card.locator("button").click()]);
    expect(wrong!.status()).toBe(401);
    expect(await shownText(page.locator(".banner.bad"))).toContain("Wrong or missing token: nothing was started.");
    expect(stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump"))).toEqual([]);

    await page.goto(`${http.url}/`);
    const again = page.locator("article#home_103");
    await again.locator("summary").click();
    await again.locator('input[name="token"]').fill(TOKEN);
    const [ok] = await Promise.all([page.waitForNavigation(), again.locator("button").click()]);
    expect(ok!.status()).toBe(202);
    expect(await shownText(page.locator(".banner.good"))).toMatch(
      /^Backup of download-home started \(task UPID:proxmox-home:/,
    );
    expect(stack.lab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/vzdump"))).toHaveLength(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(SHOTS, "status-page-started.png"), fullPage: false });
    await ctx.close();
  });
});

describe("status page HTML", () => {
  it("escapes everything that comes from PVE", () => {
    const html = renderStatusPage({
      cfg: { site: "home", tiers: {} },
      result: {
        guests: [
          {
            id: "home_100",
            source: "pve",
            vmid: 100,
            name: '<img src=x onerror="alert(1)">',
            type: "qemu",
            node: "n<1>",
            tier: null,
            tier_source: null,
            status: "missing",
            status_reason: "x",
            status_phrase: { key: "text", params: { text: "x" } },
            problem: false,
            reasons: ["<script>alert(2)</script>"],
            reason_phrases: [{ key: "text", params: { text: "<script>alert(2)</script>" } }],
            findings: [],
            last_backup: null,
            last_backup_size: null,
            archive_count: 0,
            next_backup: null,
            last_verified: null,
            last_verification: null,
            last_restore_test: null,
            progress: null,
            last_offsite: null,
            copies: null,
            running: false,
            last_attempt: null,
            changes_at: null,
            fallback: null,
            protection: null,
          },
        ],
        orphans: [],
        counts: {
          unknown: 0,
          running: 0,
          failed: 0,
          missing: 1,
          stale: 0,
          ok: 0,
          problem: 0,
          untiered: 1,
          excluded: 0,
        },
        nextChangeMs: null,
      },
      evidence: {
        sources: [],
        guests: [],
        archives: archiveSet([]),
        attempts: [],
        jobs: [],
        jobsReadable: {},
        visibility: [],
      },
      sources: [{ name: "pve", kind: "proxmox", up: false, degraded: false, error: "<b>down</b>" }],
      lastRefreshMs: null,
      now: Date.now(),
      tokenConfigured: true,
    });
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>down");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toContain("Source <strong>pve</strong> is unreachable: &lt;b&gt;down&lt;/b&gt;");
  });
});

/**
 * Behind Home Assistant's ingress the page lives under /api/hassio_ingress/<token>/: the proxy
 * (homeassistant/components/hassio/ingress.py in home-assistant/core, then the Supervisor) strips
 * that prefix, sends it along as X-Ingress-Path, and nothing outside it reaches the bridge. A tiny
 * proxy plays that part here; every link and form of the page, followed from the page's own URL as
 * a browser resolves it, must stay under the prefix and answer.
 */
describe("status page under a path prefix (Home Assistant ingress)", () => {
  const PREFIX = "/api/hassio_ingress/Xy7_token";
  let stack: Stack;
  let bridge: TestHttp;
  let proxy: http.Server;
  let base = "";
  const outside: string[] = [];

  beforeAll(async () => {
    ({ stack, http: bridge } = await startHttpStack({ broker: "embedded", lab: { scenario: "demo" } }, TOKEN));
    const target = new URL(bridge.url);
    proxy = http.createServer((req, res) => {
      const url = req.url ?? "/";
      // Home Assistant's own page, which shows the app's page in a frame as the ingress panel does.
      if (url === "/hassio/ingress/backup2mqtt")
        return void res
          .writeHead(200, { "content-type": "text/html" })
          .end(
            `<!doctype html><title>Home Assistant</title><iframe src="${PREFIX}/" width="800" height="600"></iframe>`,
          );
      if (url !== PREFIX && !url.startsWith(`${PREFIX}/`)) {
        outside.push(`${req.method} ${url}`);
        return void res.writeHead(404).end("outside the ingress path");
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: url.slice(PREFIX.length) || "/",
          headers: { ...req.headers, host: target.host, "x-ingress-path": PREFIX },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await bridge?.close();
    await stack?.stop();
  });

  /** href and form action targets of a page, resolved against the page's URL. */
  const targets = (html: string, pageUrl: string) =>
    [...html.matchAll(/<(a|form)\b[^>]*?\s(href|action)="([^"]*)"/g)].map((m) => ({
      kind: m[1]!,
      url: new URL(m[3]!.replace(/&amp;/g, "&"), pageUrl),
    }));

  const followAll = async (html: string, pageUrl: string) => {
    const found = targets(html, pageUrl);
    expect(found.filter((t) => t.kind === "a").length).toBeGreaterThanOrEqual(4);
    for (const t of found) {
      expect(t.url.origin, `${t.kind} ${t.url}`).toBe(base);
      expect(t.url.pathname.startsWith(`${PREFIX}/`), `${t.kind} ${t.url.pathname}`).toBe(true);
      if (t.kind === "a") {
        const res = await fetch(t.url);
        expect(res.status, `GET ${t.url.pathname}`).toBe(200);
      }
    }
    return found;
  };

  it("every link of the page stays under the prefix and answers", async () => {
    const pageUrl = `${base}${PREFIX}/`;
    const res = await fetch(pageUrl);
    expect(res.status).toBe(200);
    const html = await res.text();
    const found = await followAll(html, pageUrl);
    expect(found.filter((t) => t.kind === "form").map((t) => t.url.pathname)).toContain(
      `${PREFIX}/guests/home_103/backup`,
    );
    expect(outside).toEqual([]);
  });

  it("Back up now posts under the prefix, and the answer page's links still resolve under it", async () => {
    const html = await (await fetch(`${base}${PREFIX}/`)).text();
    const form = targets(html, `${base}${PREFIX}/`).find(
      (t) => t.kind === "form" && t.url.pathname.endsWith("/guests/home_103/backup"),
    )!;
    const wrong = await fetch(form.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=not-the-token",
    });
    expect(wrong.status).toBe(401);
    await followAll(await wrong.text(), form.url.href);
    const ok = await fetch(form.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${TOKEN}`,
    });
    expect(ok.status).toBe(202);
    const answer = await ok.text();
    expect(answer).toMatch(/Backup of download-home started/);
    await followAll(answer, form.url.href);
    expect(outside).toEqual([]);
  });

  it("may be framed by its own origin behind ingress only", async () => {
    const framed = (await fetch(`${base}${PREFIX}/`)).headers.get("content-security-policy");
    expect(framed).toContain("frame-ancestors 'self'");
    expect(framed).toContain("form-action 'self'");
    const direct = (await fetch(`${bridge.url}/`)).headers.get("content-security-policy");
    expect(direct).toContain("frame-ancestors 'none'");
  });

  it.skipIf(!CHROMIUM)(
    "Chromium shows it in a frame of Home Assistant's page (X-Frame-Options: DENY notwithstanding)",
    async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage();
        await page.goto(`${base}/hassio/ingress/backup2mqtt`);
        const frame = page.frames().find((f) => f.url().startsWith(`${base}${PREFIX}/`));
        expect(
          frame,
          page
            .frames()
            .map((f) => f.url())
            .join(", "),
        ).toBeDefined();
        await expect.poll(() => frame!.locator("article.guest").count()).toBe(5);
        expect(await frame!.locator("h1").textContent()).toBe("Backups · home");
      } finally {
        await browser.close();
      }
    },
  );
});
