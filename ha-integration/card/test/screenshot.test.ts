/**
 * The built card (custom_components/backup2mqtt/www/backup2mqtt-card.js, the file Home Assistant
 * serves) in headless Chromium: it registers itself, renders the demo guests problems first in
 * Home Assistant's language (English, then German), keeps its relative times up to date, and its
 * button presses the guest's "Back up now" button. Writes screenshots to
 * ha-integration/card/screenshots/backup2mqtt-card.png and backup2mqtt-card-de.png.
 *
 * Needs Debian's chromium (apt-get install -y chromium) or B2M_CHROMIUM=/path/to/chrome.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoHass } from "./fixtures.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILT = join(HERE, "../../custom_components/backup2mqtt/www/backup2mqtt-card.js");
const SHOTS = join(HERE, "../screenshots");
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

  interface Opened {
    page: Page;
    errors: string[];
    info: { stub: unknown; form: string[]; labels: string[]; grid: unknown; picker: string[]; badConfig: string };
  }

  /**
   * A page with the built card on it, given the demo `hass` with `patch` applied (language, zone),
   * `<html lang>` set as Home Assistant sets it, and a callService that fails for `failFor`.
   */
  async function open(patch: Record<string, unknown>, htmlLang: string, failFor = ""): Promise<Opened> {
    const page = await browser.newPage({ viewport: { width: 720, height: 900 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    // A clock that starts at NOW and runs on, so the card's timer can be fast-forwarded.
    await page.clock.install({ time: NOW });
    await page.setContent(`<!doctype html><html lang="${htmlLang}"><body style="margin:0;padding:16px;background:#f5f5f5;font-family:sans-serif">
      <div id="host" style="width:680px"></div></body></html>`);
    await page.addScriptTag({ content: readFileSync(BUILT, "utf8"), type: "module" });
    await page.waitForFunction(() => customElements.get("backup2mqtt-card") !== undefined);

    const { states, entities, devices, language, locale, config } = { ...demoHass(NOW), ...patch };
    const info = await page.evaluate(
      ({ hass, failFor }) => {
        const Card = customElements.get("backup2mqtt-card") as unknown as {
          getStubConfig(): unknown;
          getConfigForm(): { schema: { name: string }[]; computeLabel(s: { name: string }): string };
          new (): HTMLElement & {
            setConfig(c: unknown): void;
            hass: unknown;
            getGridOptions(): unknown;
            getCardSize(): number;
          };
        };
        const w = window as unknown as { calls: unknown[]; toasts: string[]; customCards: { type: string }[] };
        w.calls = [];
        w.toasts = [];
        window.addEventListener("hass-notification", (e) =>
          w.toasts.push((e as CustomEvent<{ message: string }>).detail.message),
        );
        const card = document.createElement("backup2mqtt-card") as InstanceType<typeof Card>;
        card.setConfig({ type: "custom:backup2mqtt-card" });
        card.hass = {
          ...hass,
          callService: async (domain: string, service: string, data: { entity_id: string }) => {
            if (data.entity_id === failFor) throw new Error("Service call timed out");
            w.calls.push({ domain, service, data });
          },
        };
        document.getElementById("host")!.appendChild(card);
        let badConfig = "";
        try {
          (document.createElement("backup2mqtt-card") as InstanceType<typeof Card>).setConfig({ show_ok: "yes" });
        } catch (e) {
          badConfig = String(e);
        }
        const form = Card.getConfigForm();
        return {
          stub: Card.getStubConfig(),
          form: form.schema.map((s) => s.name),
          labels: form.schema.map((s) => form.computeLabel(s)),
          grid: card.getGridOptions(),
          picker: w.customCards.map((c) => c.type),
          badConfig,
        };
      },
      { hass: { states, entities, devices, language, locale, config }, failFor },
    );
    return { page, errors, info };
  }

  const texts = (page: Page, selector: string) => page.locator("backup2mqtt-card").locator(selector).allTextContents();
  const text = async (page: Page, selector: string) =>
    (await page.locator("backup2mqtt-card").locator(selector).textContent())?.trim();
  const attr = (page: Page, selector: string, name: string) =>
    page.locator("backup2mqtt-card").locator(selector).getAttribute(name);

  it("renders the guests problems first in English, presses Back up now, and looks right", async () => {
    const { page, errors, info } = await open({}, "en");
    expect(info.stub).toEqual({ show_ok: true });
    expect(info.form).toEqual(["title", "show_ok", "compact", "guests"]);
    expect(info.labels).toEqual([
      "Title",
      "Show guests that are OK",
      "Compact (hide off-site and verified)",
      "Only these guests (names)",
    ]);
    expect(info.grid).toMatchObject({ columns: 12, min_columns: 6 });
    expect(info.picker).toEqual(["backup2mqtt-card"]);
    expect(info.badConfig).toBe("Error: backup2mqtt-card: show_ok must be true or false");

    const card = page.locator("backup2mqtt-card");
    await expect.poll(async () => await card.locator(".row[data-guest]").count()).toBe(5);
    expect(await texts(page, ".row[data-guest] .name")).toEqual([
      "vaultwarden",
      "download-home",
      "immich",
      "pihole-home",
      "homeassistant",
    ]);
    expect(await text(page, ".title")).toBe("Backups");
    expect(await texts(page, ".row.head > div")).toEqual([
      "Guest",
      "Tier",
      "Status",
      "Backed up",
      "Off-site",
      "Verified",
      "",
    ]);
    expect(await texts(page, ".row[data-guest] .status .chip")).toEqual([
      "Failed",
      "Missing",
      "Stale",
      "Running",
      "OK",
    ]);
    expect(await text(page, ".summary")).toBe("3 need attention");
    expect(await text(page, '.row[data-guest="vaultwarden"] .age')).toBe("34 hours ago");
    expect(await attr(page, '.row[data-guest="vaultwarden"] .age', "title")).toBe("Wed 25 Nov, 03:00");
    expect(await text(page, '.row[data-guest="immich"] .age')).toBe("10 days ago");
    expect(await text(page, '.row[data-guest="homeassistant"] .age')).toBe("5 hours ago");
    expect(await text(page, '.row[data-guest="homeassistant"] .offsite')).toBe("20 hours ago");
    expect(await text(page, '.row[data-guest="download-home"] .age')).toBe("—");
    expect(await attr(page, '.row[data-guest="download-home"] .age', "title")).toBe("never backed up");
    expect(await texts(page, '.row[data-guest="vaultwarden"] .reason')).toEqual([
      "The last backup attempt, on Thu 26 Nov, 03:00, failed: VM 102 qmp command 'backup' failed - got timeout. The newest good backup is from Wed 25 Nov, 03:00.",
      "Tier P1 wants 2 copies no older than 1 day and 2 hours; none was found.",
      "Tier P1 wants an off-site copy of a backup no older than 1 day and 2 hours: nothing copies storage local off-site (a Hyper Backup task, a PBS sync job or an off-site PBS would).",
    ]);
    expect(await text(page, '.row[data-guest="immich"] .reasons')).toContain(
      "Backup job backup-p2-weekly selects this guest but is disabled.",
    );
    expect(await attr(page, '.row[data-guest="homeassistant"] .chip', "title")).toContain(
      "turns stale on Fri 27 Nov, 10:00",
    );
    expect(await text(page, '.row[data-guest="immich"] button.run')).toBe("Back up");
    expect(await page.locator('.row[data-guest="pihole-home"] button.run').isDisabled()).toBe(true);

    mkdirSync(SHOTS, { recursive: true });
    await card.screenshot({ path: join(SHOTS, "backup2mqtt-card.png") });

    // the relative times stay live while the card is shown, without a new hass (nothing else re-renders it)
    await page.clock.fastForward("01:00:00");
    await expect.poll(() => text(page, '.row[data-guest="homeassistant"] .age')).toBe("6 hours ago");
    expect(await text(page, '.row[data-guest="vaultwarden"] .age')).toBe("35 hours ago");

    await card.locator('.row[data-guest="immich"] button.run').click();
    const calls = await page.evaluate(() => (window as unknown as { calls: unknown[] }).calls);
    expect(calls).toEqual([{ domain: "button", service: "press", data: { entity_id: "button.immich_back_up_now" } }]);
    expect(await text(page, '.row[data-guest="immich"] button.run')).toBe("Running…");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("speaks German when Home Assistant does: status words, reasons, relative times, toasts", async () => {
    const hass = demoHass(NOW);
    const { page, errors, info } = await open(
      {
        language: "de",
        locale: { ...hass.locale, language: "de" },
        config: { ...hass.config, time_zone: "Europe/Berlin" },
      },
      "de",
      "button.vaultwarden_back_up_now",
    );
    expect(info.labels).toEqual([
      "Titel",
      "Gäste anzeigen, die OK sind",
      "Kompakt (ohne Extern und Geprüft)",
      "Nur diese Gäste (Namen)",
    ]);
    expect(info.badConfig).toBe("Error: backup2mqtt-card: show_ok muss true oder false sein");

    const card = page.locator("backup2mqtt-card");
    await expect.poll(async () => await card.locator(".row[data-guest]").count()).toBe(5);
    expect(await text(page, ".title")).toBe("Sicherungen");
    expect(await texts(page, ".row.head > div")).toEqual([
      "Gast",
      "Stufe",
      "Status",
      "Gesichert",
      "Extern",
      "Geprüft",
      "",
    ]);
    expect(await texts(page, ".row[data-guest] .status .chip")).toEqual([
      "Fehlgeschlagen",
      "Fehlt",
      "Veraltet",
      "Läuft",
      "OK",
    ]);
    expect(await text(page, ".summary")).toBe("3 brauchen Aufmerksamkeit");
    expect(await text(page, '.row[data-guest="vaultwarden"] .age')).toBe("vor 34 Stunden");
    expect(await attr(page, '.row[data-guest="vaultwarden"] .age', "title")).toBe("Mi., 25. Nov., 03:00 Uhr");
    expect(await text(page, '.row[data-guest="immich"] .age')).toBe("vor 10 Tagen");
    expect(await text(page, '.row[data-guest="homeassistant"] .verified')).toBe("vor 2 Tagen");
    expect(await attr(page, '.row[data-guest="download-home"] .offsite', "title")).toBe("keine externe Kopie bekannt");
    expect(await texts(page, '.row[data-guest="vaultwarden"] .reason')).toEqual([
      "Der letzte Sicherungsversuch am Do., 26. Nov., 03:00 Uhr ist fehlgeschlagen: VM 102 qmp command 'backup' failed - got timeout. Die neueste gute Sicherung ist vom Mi., 25. Nov., 03:00 Uhr.",
      "Stufe P1 will 2 Kopien, nicht älter als 1 Tag und 2 Stunden; gefunden wurde keine.",
      "Stufe P1 will eine externe Kopie einer Sicherung, die nicht älter als 1 Tag und 2 Stunden ist: nichts kopiert den Speicher local nach extern (das täte eine Hyper-Backup-Aufgabe, ein PBS-Sync-Auftrag oder ein externer PBS).",
    ]);
    expect(await text(page, '.row[data-guest="download-home"] .reasons')).toContain(
      "Auf keinem Speicher gibt es eine Sicherung dieses Gastes.",
    );
    expect(await text(page, '.row[data-guest="immich"] button.run')).toBe("Sichern");
    expect(await attr(page, '.row[data-guest="immich"] button.run', "title")).toBe("immich jetzt sichern");
    expect(await text(page, '.row[data-guest="pihole-home"] button.run')).toBe("Läuft…");

    mkdirSync(SHOTS, { recursive: true });
    await card.screenshot({ path: join(SHOTS, "backup2mqtt-card-de.png") });

    await page.clock.fastForward("01:00:00");
    await expect.poll(() => text(page, '.row[data-guest="vaultwarden"] .age')).toBe("vor 35 Stunden");

    // Home Assistant refuses the press: a toast in German says so
    await card.locator('.row[data-guest="vaultwarden"] button.run').click();
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { toasts: string[] }).toasts))
      .toEqual(["Die Sicherung von vaultwarden ließ sich nicht starten: Service call timed out"]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
