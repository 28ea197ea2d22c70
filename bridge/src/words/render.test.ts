import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bridgeRoot } from "../util/paths.js";
import { generatedWordFiles } from "./generated.js";
import { LANGUAGES, pickLanguage } from "./language.js";
import { PHRASEBOOKS, formatDuration, formatSize, formatTime, render, statusWord } from "./render.js";

const placeholders = (t: string) =>
  [...t.matchAll(/\{([a-zA-Z_]\w*)(?:\|([a-z]+))?/g)].map((m) => `${m[1]}|${m[2] ?? ""}`).sort();
const en = PHRASEBOOKS.en;

describe("phrasebooks", () => {
  it.each(LANGUAGES.filter((l) => l !== "en"))(
    "%s has every English key, with the same parameters and filters",
    (lang) => {
      const book = PHRASEBOOKS[lang];
      expect(Object.keys(book.phrases).sort()).toEqual(Object.keys(en.phrases).sort());
      for (const [key, text] of Object.entries(en.phrases))
        expect(placeholders(book.phrases[key]!), `${lang} ${key}`).toEqual(placeholders(text));
      expect(book.weekdays).toHaveLength(7);
      expect(book.months).toHaveLength(12);
    },
  );

  it.each(Object.entries(generatedWordFiles()))("%s is what `npm run schemas` writes", (rel, text) => {
    expect(fs.readFileSync(path.join(bridgeRoot, "..", rel), "utf8"), `run \`npm run schemas\` and commit ${rel}`).toBe(
      text,
    );
  });
});

describe("render", () => {
  const at = "2026-11-30T15:19:40.000Z";
  it.each([
    ["en", "UTC", "Mon 30 Nov, 15:19"],
    ["en", "Europe/Berlin", "Mon 30 Nov, 16:19"],
    ["de", "Europe/Berlin", "Mo., 30. Nov., 16:19 Uhr"],
    ["en", "Pacific/Auckland", "Tue 1 Dec, 04:19"],
    ["en", "America/New_York", "Mon 30 Nov, 10:19"],
  ] as const)("a time in %s, %s: %s", (language, timeZone, text) => {
    expect(formatTime(Date.parse(at), PHRASEBOOKS[language], timeZone)).toBe(text);
  });

  it.each([
    [8 * 86_400_000, "8 days", "8 Tage"],
    [86_400_000, "1 day", "1 Tag"],
    [93_600_000, "1 day and 2 hours", "1 Tag und 2 Stunden"],
    [3_600_000, "1 hour", "1 Stunde"],
    [5_400_000, "1 hour and 30 minutes", "1 Stunde und 30 Minuten"],
    [45 * 60_000, "45 minutes", "45 Minuten"],
    [1000, "1 second", "1 Sekunde"],
    [0, "0 seconds", "0 Sekunden"],
  ])("%d ms: %s / %s", (ms, english, german) => {
    expect(formatDuration(ms, PHRASEBOOKS.en)).toBe(english);
    expect(formatDuration(ms, PHRASEBOOKS.de)).toBe(german);
  });

  it.each([
    [1_717_986_918, "1.6 GiB", "1,6 GiB"],
    [512, "512 B", "512 B"],
    [12 * 1024 ** 3, "12 GiB", "12 GiB"],
    [1536, "1.5 KiB", "1,5 KiB"],
  ])("%d bytes: %s / %s", (bytes, english, german) => {
    expect(formatSize(bytes, PHRASEBOOKS.en)).toBe(english);
    expect(formatSize(bytes, PHRASEBOOKS.de)).toBe(german);
  });

  it("picks plural forms (one, other, zero) and fills #", () => {
    const p = (want: number, found: number) =>
      render(
        { key: "too_few_copies", params: { tier: "P1", want, max: 86_400_000, found } },
        { language: "en", timeZone: "UTC" },
      );
    expect(p(1, 0)).toBe("Tier P1 wants 1 copy no older than 1 day; none was found.");
    expect(p(3, 1)).toBe("Tier P1 wants 3 copies no older than 1 day; only 1 was found.");
    expect(p(3, 2)).toBe("Tier P1 wants 3 copies no older than 1 day; only 2 were found.");
  });

  it("leaves out an optional part whose parameter is missing, keeps it when present", () => {
    const o = { language: "en", timeZone: "UTC" } as const;
    expect(render({ key: "status.unknown.unreachable", params: { source: "pve" } }, o)).toBe(
      "Proxmox source pve can't be reached.",
    );
    expect(render({ key: "status.unknown.unreachable", params: { source: "pve", error: "timeout" } }, o)).toBe(
      "Proxmox source pve can't be reached: timeout.",
    );
  });

  it("keeps one full stop after an upstream error that ends with its own, and leaves an ellipsis alone", () => {
    const o = { language: "en", timeZone: "UTC" } as const;
    const reach = (error: string) => render({ key: "status.unknown.unreachable", params: { source: "pve", error } }, o);
    expect(reach("Either increase the limit or delete old backups.")).toBe(
      "Proxmox source pve can't be reached: Either increase the limit or delete old backups.",
    );
    expect(reach("got timeout!")).toBe("Proxmox source pve can't be reached: got timeout!");
    expect(reach("trying to acquire lock...")).toBe("Proxmox source pve can't be reached: trying to acquire lock....");
  });

  it("renders nested phrases, lists and retentions", () => {
    const o = { language: "de", timeZone: "Europe/Berlin" } as const;
    expect(
      render(
        {
          key: "retention_short",
          params: {
            job: "daily",
            tier: "P1",
            keeps: { "keep-daily": 7 },
            wants: { "keep-daily": 7, "keep-weekly": 4 },
            missing: { "keep-weekly": 3 },
          },
        },
        o,
      ),
    ).toBe(
      "Der Auftrag daily behält 7 tägliche Sicherungen; Stufe P1 will 7 tägliche und 4 wöchentliche Sicherungen; verloren gingen: 3 wöchentliche Sicherungen.",
    );
    expect(
      render(
        {
          key: "no_offsite",
          params: {
            tier: "P0",
            max: 90_000_000,
            why: [{ key: "offsite.nothing", params: { count: 1, storages: ["local"] } }],
          },
        },
        o,
      ),
    ).toBe(
      "Stufe P0 will eine externe Kopie einer Sicherung, die nicht älter als 1 Tag und 1 Stunde ist: nichts kopiert den Speicher local nach extern (das täte eine Hyper-Backup-Aufgabe, ein PBS-Sync-Auftrag oder ein externer PBS).",
    );
  });

  it("an unknown key falls back to English, then to the key", () => {
    expect(render({ key: "nope" }, { language: "de", timeZone: "UTC" })).toBe("nope");
  });

  it("status words and language tags", () => {
    expect(statusWord("failed", "en")).toBe("Failed");
    expect(statusWord("stale", "de")).toBe("Veraltet");
    expect(pickLanguage("de-CH")).toBe("de");
    expect(pickLanguage("fr")).toBe("en");
    expect(pickLanguage(undefined)).toBe("en");
  });
});
