import { describe, expect, it } from "vitest";
import { collectGuests, guestIdOf, reasonTexts, sortGuests, statusText, validateConfig } from "../src/model.js";
import { cardLocale, formatAbsolute, formatAgo, pickLanguage, statusLabel, WORDS } from "../src/words.js";
import { demoHass } from "./fixtures.js";

const NOW = Date.parse("2026-11-26T12:00:00Z");

describe("collectGuests", () => {
  it("finds every backup2mqtt guest device and none of the others, problems first", () => {
    const rows = collectGuests(demoHass(NOW));
    expect(rows.map((r) => [r.name, r.status, r.problem])).toEqual([
      ["vaultwarden", "failed", true],
      ["download-home", "missing", true],
      ["immich", "stale", true],
      ["pihole-home", "running", false],
      ["homeassistant", "ok", false],
    ]);
    const immich = rows.find((r) => r.name === "immich")!;
    expect(immich).toMatchObject({ guestId: "home_101", tier: "P2", lastOffsite: null });
    expect(immich.reasons).toHaveLength(2);
    expect(immich.entities.back_up_now).toBe("button.immich_back_up_now");
    expect(rows.find((r) => r.name === "download-home")!.lastBackup).toBeNull();
    expect(rows.find((r) => r.name === "pihole-home")!.running).toBe(true);
  });

  it("reads a running VM backup's progress; none when unknown, out of range, or not running", () => {
    const rowOf = (hass: ReturnType<typeof demoHass>, name: string) =>
      collectGuests(hass).find((r) => r.name === name)!;
    const hass = demoHass(NOW);
    expect(rowOf(hass, "pihole-home")).toMatchObject({
      running: true,
      progress: null,
      entities: { progress: "sensor.pihole_home_backup_progress" },
    });
    hass.states["sensor.pihole_home_backup_progress"]!.state = "45.4";
    expect(rowOf(hass, "pihole-home").progress).toBe(45);
    hass.states["sensor.pihole_home_backup_progress"]!.state = "140";
    expect(rowOf(hass, "pihole-home").progress).toBeNull();
    hass.states["sensor.homeassistant_backup_progress"]!.state = "30";
    expect(rowOf(hass, "homeassistant")).toMatchObject({ running: false, progress: null });
  });

  it("hides ok guests when asked, and filters by name or guest id", () => {
    expect(collectGuests(demoHass(NOW), { show_ok: false }).map((r) => r.name)).toEqual([
      "vaultwarden",
      "download-home",
      "immich",
      "pihole-home",
    ]);
    expect(collectGuests(demoHass(NOW), { guests: ["Immich", "home_100"] }).map((r) => r.name)).toEqual([
      "immich",
      "homeassistant",
    ]);
  });

  it("shows an unavailable status sensor as unavailable (bridge or Proxmox down)", () => {
    const hass = demoHass(NOW);
    hass.states["sensor.homeassistant_backup_status"]!.state = "unavailable";
    expect(collectGuests(hass).find((r) => r.name === "homeassistant")!.status).toBe("unavailable");
  });

  it("reads the status code from the problem sensor, else from the status sensor's word in any language or an older bridge's code", () => {
    const hass = demoHass(NOW);
    const row = () => collectGuests(hass).find((r) => r.name === "vaultwarden")!;
    expect(hass.states["sensor.vaultwarden_backup_status"]!.state).toBe("Failed");
    expect(row().status).toBe("failed");
    delete hass.states["binary_sensor.vaultwarden_backup_problem"]!.attributes.status;
    expect(row().status).toBe("failed"); // the English word
    hass.states["sensor.vaultwarden_backup_status"]!.state = "Fehlgeschlagen";
    expect(row().status).toBe("failed"); // a German bridge
    hass.states["sensor.vaultwarden_backup_status"]!.state = "stale";
    expect(row().status).toBe("stale"); // an older bridge published the code
    hass.states["sensor.vaultwarden_backup_status"]!.state = "gibberish";
    expect(row().status).toBe("unknown");
  });

  it("ignores entities of other integrations", () => {
    const hass = demoHass(NOW);
    hass.entities["sensor.vaultwarden_backup_status"]!.platform = "template";
    expect(collectGuests(hass).map((r) => r.name)).not.toContain("vaultwarden");
  });
});

describe("helpers", () => {
  it("guestIdOf reads the MQTT identifier and skips the bridge device", () => {
    expect(guestIdOf({ id: "x", identifiers: [["mqtt", "backup2mqtt_home_104"]] })).toBe("home_104");
    expect(guestIdOf({ id: "x", identifiers: [["mqtt", "backup2mqtt_home_bridge"]] })).toBeNull();
    expect(guestIdOf({ id: "x", identifiers: [["zha", "backup2mqtt_home_104"]] })).toBeNull();
  });

  it("formatAgo says how long ago, in English and German", () => {
    const ago = (ms: number) => new Date(NOW - ms).toISOString();
    const both = (iso: string | null) => [formatAgo(iso, "en", NOW), formatAgo(iso, "de", NOW)];
    expect(both(null)).toEqual(["—", "—"]);
    expect(both("garbage")).toEqual(["—", "—"]);
    expect(both(ago(20_000))).toEqual(["just now", "gerade eben"]);
    expect(both(ago(-60_000))).toEqual(["just now", "gerade eben"]); // a clock ahead of the browser's
    expect(both(ago(60_000))).toEqual(["1 minute ago", "vor 1 Minute"]);
    expect(both(ago(12 * 60_000))).toEqual(["12 minutes ago", "vor 12 Minuten"]);
    expect(both(ago(3600_000))).toEqual(["1 hour ago", "vor 1 Stunde"]);
    expect(both(ago(3 * 3600_000 + 59 * 60_000))).toEqual(["3 hours ago", "vor 3 Stunden"]);
    expect(both(ago(30 * 3600_000))).toEqual(["30 hours ago", "vor 30 Stunden"]);
    expect(both(ago(10 * 86400_000))).toEqual(["10 days ago", "vor 10 Tagen"]);
  });

  it("formatAbsolute writes the time as the phrasebook does, in the card's zone", () => {
    const iso = "2026-11-30T15:19:40.000Z";
    expect(formatAbsolute(iso, { language: "en", timeZone: "Europe/Berlin" })).toBe("Mon 30 Nov, 16:19");
    expect(formatAbsolute(iso, { language: "de", timeZone: "Europe/Berlin" })).toBe("Mo., 30. Nov., 16:19 Uhr");
    expect(formatAbsolute(iso, { language: "en", timeZone: "America/New_York" })).toBe("Mon 30 Nov, 10:19");
    expect(formatAbsolute(null, { language: "en", timeZone: "UTC" })).toBe("");
    expect(formatAbsolute("garbage", { language: "en", timeZone: "UTC" })).toBe("");
  });

  it("statusLabel: the phrasebook's status words, and the card's for an unavailable sensor", () => {
    expect(
      ["failed", "stale", "missing", "running", "ok", "unknown", "unavailable"].map((s) => statusLabel(s, "en")),
    ).toEqual(["Failed", "Stale", "Missing", "Running", "OK", "Unknown", "Unavailable"]);
    expect(
      ["failed", "stale", "missing", "running", "ok", "unknown", "unavailable"].map((s) => statusLabel(s, "de")),
    ).toEqual(["Fehlgeschlagen", "Veraltet", "Fehlt", "Läuft", "OK", "Unbekannt", "Nicht verfügbar"]);
  });

  it("the card's word tables have the same entries in every language", () => {
    const shape = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.length
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
          : typeof v;
    expect(shape(WORDS.de)).toEqual(shape(WORDS.en));
  });

  it("sortGuests keeps problems first even when the status is ok (unprotected)", () => {
    const rows = collectGuests(demoHass(NOW));
    const ok = { ...rows.find((r) => r.name === "homeassistant")!, name: "aaa", problem: true };
    expect(sortGuests([...rows, ok]).map((r) => r.name)).toEqual([
      "vaultwarden",
      "download-home",
      "immich",
      "aaa",
      "pihole-home",
      "homeassistant",
    ]);
  });

  it("validateConfig refuses wrong types with a readable message, in the card's language", () => {
    expect(() => validateConfig({ show_ok: "yes" })).toThrow("backup2mqtt-card: show_ok must be true or false");
    expect(() => validateConfig({ show_ok: "yes" }, "de")).toThrow(
      "backup2mqtt-card: show_ok muss true oder false sein",
    );
    expect(() => validateConfig({ guests: "immich" })).toThrow(/guests/);
    expect(() => validateConfig(null)).toThrow(/object/);
    expect(validateConfig({ title: "B", guests: ["immich"] })).toEqual({ title: "B", guests: ["immich"] });
  });
});

describe("language and time zone", () => {
  it("pickLanguage maps Home Assistant's language tags to a language the phrasebook speaks", () => {
    expect(["en", "en-GB", "de", "de-CH", "de_AT", "DE", "fr", "", null, undefined].map(pickLanguage)).toEqual([
      "en",
      "en",
      "de",
      "de",
      "de",
      "de",
      "en",
      "en",
      "en",
      "en",
    ]);
  });

  it("cardLocale: the user's language (locale, then hass.language), Home Assistant's zone, else the browser's", () => {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(
      cardLocale({ locale: { language: "de-CH" }, language: "en", config: { time_zone: "Europe/Zurich" } }),
    ).toEqual({
      language: "de",
      timeZone: "Europe/Zurich",
    });
    expect(cardLocale({ language: "de" })).toEqual({ language: "de", timeZone: browserZone });
    expect(cardLocale({ locale: {}, language: "de", config: { time_zone: "Not/AZone" } })).toEqual({
      language: "de",
      timeZone: browserZone,
    });
    expect(cardLocale(undefined)).toEqual({ language: "en", timeZone: browserZone });
    expect(cardLocale({ locale: { language: "nl" } }).language).toBe("en");
  });
});

describe("reasons", () => {
  const vaultwarden = (hass: ReturnType<typeof demoHass>) => collectGuests(hass).find((r) => r.name === "vaultwarden")!;

  it("renders reason_phrases in English, in Home Assistant's zone", () => {
    expect(vaultwarden(demoHass(NOW)).reasons).toEqual([
      "The last backup attempt, on Thu 26 Nov, 03:00, failed: VM 102 qmp command 'backup' failed - got timeout. The newest good backup is from Wed 25 Nov, 03:00.",
      "Tier P1 wants 2 copies no older than 1 day and 2 hours; none was found.",
      "Tier P1 wants an off-site copy of a backup no older than 1 day and 2 hours: nothing copies storage local off-site (a Hyper Backup task, a PBS sync job or an off-site PBS would).",
    ]);
    const hass = demoHass(NOW);
    hass.config = { time_zone: "America/New_York" };
    expect(vaultwarden(hass).reasons[0]).toContain("on Wed 25 Nov, 21:00, failed");
  });

  it("renders reason_phrases in German when Home Assistant speaks German, whatever the bridge's language", () => {
    const hass = demoHass(NOW);
    hass.locale = { language: "de" };
    const rows = collectGuests(hass);
    expect(rows.find((r) => r.name === "vaultwarden")!.reasons).toEqual([
      "Der letzte Sicherungsversuch am Do., 26. Nov., 03:00 Uhr ist fehlgeschlagen: VM 102 qmp command 'backup' failed - got timeout. Die neueste gute Sicherung ist vom Mi., 25. Nov., 03:00 Uhr.",
      "Stufe P1 will 2 Kopien, nicht älter als 1 Tag und 2 Stunden; gefunden wurde keine.",
      "Stufe P1 will eine externe Kopie einer Sicherung, die nicht älter als 1 Tag und 2 Stunden ist: nichts kopiert den Speicher local nach extern (das täte eine Hyper-Backup-Aufgabe, ein PBS-Sync-Auftrag oder ein externer PBS).",
    ]);
    expect(rows.find((r) => r.name === "immich")!.reasons).toEqual([
      "Die neueste Sicherung ist vom Mo., 16. Nov., 13:00 Uhr und älter, als Stufe P2 erlaubt (8 Tage).",
      "Der Sicherungsauftrag backup-p2-weekly erfasst diesen Gast, ist aber deaktiviert.",
    ]);
    expect(rows.find((r) => r.name === "homeassistant")!.statusText).toBe(
      "Die neueste Sicherung ist vom Do., 26. Nov., 08:00 Uhr; ohne neuere gilt sie ab Fr., 27. Nov., 10:00 Uhr als veraltet (Stufe P0 erlaubt 1 Tag und 2 Stunden).",
    );
  });

  it("shows the bridge's reasons as they are when there are no reason_phrases (an older bridge)", () => {
    const attributes = { reasons: ["too_few_copies: tier P1 wants 2 copies", "no_offsite: nothing copies local"] };
    expect(reasonTexts(attributes, { language: "de", timeZone: "Europe/Berlin" })).toEqual(attributes.reasons);
    expect(reasonTexts(attributes, { language: "en", timeZone: "UTC" })).toEqual(attributes.reasons);
    expect(reasonTexts({}, { language: "en", timeZone: "UTC" })).toEqual([]);
    expect(statusText(attributes, { language: "en", timeZone: "UTC" })).toBeNull();

    const hass = demoHass(NOW);
    hass.locale = { language: "de" };
    const attrs = hass.states["binary_sensor.vaultwarden_backup_problem"]!.attributes;
    delete attrs.reason_phrases;
    delete attrs.status_phrase;
    expect(vaultwarden(hass).reasons[1]).toBe(
      "Tier P1 wants 2 copies no older than 1 day and 2 hours; none was found.",
    );
    expect(vaultwarden(hass).statusText).toBeNull();
  });

  it("falls back to the bridge's text for a phrase this card doesn't know (a newer bridge) or can't read", () => {
    const de = { language: "de", timeZone: "Europe/Berlin" } as const;
    const attributes = {
      reasons: ["Something new happened.", "Tier P1 wants 2 copies …", "Nested new thing.", "Broken.", "Odd params."],
      reason_phrases: [
        { key: "something.new", params: { x: 1 } },
        { key: "too_few_copies", params: { tier: "P1", want: 2, max: 93_600_000, found: 0 } },
        { key: "no_offsite", params: { tier: "P1", max: 93_600_000, why: [{ key: "offsite.brand_new" }] } },
        "not a phrase",
        { key: "no_offsite", params: { tier: "P1", max: 93_600_000, why: [42] } }, // render() would throw
      ],
    };
    expect(reasonTexts(attributes, de)).toEqual([
      "Something new happened.",
      "Stufe P1 will 2 Kopien, nicht älter als 1 Tag und 2 Stunden; gefunden wurde keine.",
      "Nested new thing.",
      "Broken.",
      "Odd params.",
    ]);
    expect(reasonTexts({ reason_phrases: [{ key: "constructor" }] }, de)).toEqual([]);
  });
});
