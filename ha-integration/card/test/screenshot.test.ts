/**
 * The built card (custom_components/backup2mqtt/www/backup2mqtt-card.js, the file Home Assistant
 * serves) in headless Chromium: it registers itself, renders the demo guests problems first, and
 * its button presses the guest's "Back up now" button. Writes a screenshot to
 * ha-integration/card/screenshots/backup2mqtt-card.png.
 *
 * Needs Debian's chromium (apt-get install -y chromium) or B2M_CHROMIUM=/path/to/chrome.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoHass } from "./fixtures.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILT = join(HERE, "../../custom_components/backup2mqtt/www/backup2mqtt-card.js");
const SHOT = join(HERE, "../screenshots/backup2mqtt-card.png");
const CHROMIUM = process.env.B2M_CHROMIUM ?? "/usr/bin/chromium";
const NOW = Date.parse("2026-11-26T12:00:00Z");

describe("backup2mqtt-card in headless Chromium", () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set B2M_CHROMIUM)`);
    if (!existsSync(BUILT)) throw new Error(`card not built: ${BUILT} (npm run build:card)`);
    // launch() always starts from a fresh, throw-away profile (playwright's own --user-data-dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("renders the guests problems first, presses Back up now, and looks right", async () => {
    const page = await browser.newPage({ viewport: { width: 720, height: 420 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.clock.setFixedTime(NOW);
    await page.setContent(`<!doctype html><html><body style="margin:0;padding:16px;background:#f5f5f5;font-family:sans-serif">
      <div id="host" style="width:680px"></div></body></html>`);
    await page.addScriptTag({ content: readFileSync(BUILT, "utf8"), type: "module" });
    await page.waitForFunction(() => customElements.get("backup2mqtt-card") !== undefined);

    const { states, entities, devices } = demoHass(NOW);
    const info = await page.evaluate(
      ({ states, entities, devices }) => {
        const Card = customElements.get("backup2mqtt-card") as unknown as {
          getStubConfig(): unknown;
          getConfigForm(): { schema: { name: string }[] };
          new (): HTMLElement & {
            setConfig(c: unknown): void;
            hass: unknown;
            getGridOptions(): unknown;
            getCardSize(): number;
          };
        };
        const w = window as unknown as { calls: unknown[]; customCards: { type: string }[] };
        w.calls = [];
        const card = document.createElement("backup2mqtt-card") as InstanceType<typeof Card>;
        card.setConfig({ type: "custom:backup2mqtt-card", title: "Backups" });
        card.hass = {
          states,
          entities,
          devices,
          callService: async (domain: string, service: string, data: unknown) =>
            void w.calls.push({ domain, service, data }),
        };
        document.getElementById("host")!.appendChild(card);
        let badConfig = "";
        try {
          (document.createElement("backup2mqtt-card") as InstanceType<typeof Card>).setConfig({ show_ok: "yes" });
        } catch (e) {
          badConfig = String(e);
        }
        return {
          stub: Card.getStubConfig(),
          form: Card.getConfigForm().schema.map((s) => s.name),
          grid: card.getGridOptions(),
          picker: w.customCards.map((c) => c.type),
          badConfig,
        };
      },
      { states, entities, devices },
    );
    expect(info.stub).toEqual({ title: "Backups", show_ok: true });
    expect(info.form).toEqual(["title", "show_ok", "compact", "guests"]);
    expect(info.grid).toMatchObject({ columns: 12, min_columns: 6 });
    expect(info.picker).toEqual(["backup2mqtt-card"]);
    expect(info.badConfig).toMatch(/show_ok/);

    const card = page.locator("backup2mqtt-card");
    await expect.poll(async () => await card.locator(".row[data-guest]").count()).toBe(5);
    const names = await card.locator(".row[data-guest] .name").allTextContents();
    expect(names).toEqual(["vaultwarden", "download-home", "immich", "pihole-home", "homeassistant"]);
    const chips = await card.locator(".row[data-guest] .status .chip").allTextContents();
    expect(chips).toEqual(["Failed", "Missing", "Stale", "Running", "OK"]);
    expect(await card.locator(".summary").textContent()).toBe("3 need attention");
    expect(await card.locator('.row[data-guest="immich"] .age').textContent()).toBe("10 d");
    expect(await card.locator('.row[data-guest="homeassistant"] .offsite').textContent()).toBe("20 h");
    expect(await card.locator('.row[data-guest="pihole-home"] button.run').isDisabled()).toBe(true);
    expect(await card.locator('.row[data-guest="immich"] .reasons').textContent()).toContain(
      "job backup-p2-weekly is disabled",
    );

    mkdirSync(dirname(SHOT), { recursive: true });
    await card.screenshot({ path: SHOT });

    await card.locator('.row[data-guest="immich"] button.run').click();
    const calls = await page.evaluate(() => (window as unknown as { calls: unknown[] }).calls);
    expect(calls).toEqual([{ domain: "button", service: "press", data: { entity_id: "button.immich_back_up_now" } }]);
    expect(await card.locator('.row[data-guest="immich"] button.run').textContent()).toContain("Running…");
    expect(errors).toEqual([]);
  });
});
