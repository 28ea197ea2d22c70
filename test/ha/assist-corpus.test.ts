/**
 * Assist in a real Home Assistant, in English and German (world: integration-world.ts, the custom
 * integration installed as HACS would): every phrasing of ha-integration/tests/assist_corpus.yaml
 * is posted to Home Assistant's conversation API and its answer must have the form of the
 * phrasing's intent, about the phrasing's guest (or say that it does not know the name). The same
 * corpus runs through the pytest suite (ha-integration/tests/test_assist.py); here it runs through
 * the built-in agent's real pipeline, against the lab's real bridge: "back up …" starts vzdumps,
 * "verify …" is refused (the lab has no SSH), the answers follow the bridge's live state.
 *
 * Languages: English requests while Home Assistant speaks English; German requests (language "de")
 * while it still speaks English — the request's language decides; then Home Assistant's language
 * set to German (config/core/update) and the German phrasings sent without a language, plus the
 * integration's German UI texts (translations/de.json) as the frontend loads them. Last, a guest
 * state with the bridge's phrases (`reason_phrases`, findings' `key`/`params`) is answered in English
 * and German with exactly the text the bridge's own renderer (bridge/src/words/render.ts) gives.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Phrase } from "../../bridge/src/words/phrase.js";
import { render } from "../../bridge/src/words/render.js";
import { IntegrationWorld } from "./integration-world.js";
import { waitFor, type HomeAssistant } from "./runner.js";

type Language = "en" | "de";
interface Phrasing {
  text: string;
  intent: string;
  guest?: string;
  unknown?: string;
}
interface Corpus {
  guests: Record<string, string>;
  answers: Record<Language, Record<string, string>>;
  phrases: Record<Language, Phrasing[]>;
}

const CORPUS_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../ha-integration/tests/assist_corpus.yaml",
);
const corpus = parse(readFileSync(CORPUS_FILE, "utf8")) as Corpus;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The form the answer to `p` must have (corpus `answers`, with the guest's name or the unknown name). */
function answerPattern(language: Language, p: Phrasing): RegExp {
  const forms = corpus.answers[language];
  if (p.unknown !== undefined) return new RegExp(forms.unknown!.replace("{text}", escapeRe(p.unknown)));
  const form = forms[p.intent];
  if (!form) throw new Error(`no answer form for ${p.intent} in ${language}`);
  return new RegExp(form.replaceAll("{name}", escapeRe(p.guest ? (corpus.guests[p.guest] ?? p.guest) : "")));
}

interface ConversationAnswer {
  response: { response_type: string; language: string; speech: { plain: { speech: string } } };
}

describe("backup2mqtt inside Home Assistant: Assist understands the corpus in English and German", () => {
  const w = new IntegrationWorld();
  let ha: HomeAssistant;
  beforeAll(async () => {
    await w.start();
    ha = w.ha;
    await w.acceptDiscovery();
    await w.settled();
    // The integration's hub has every guest the corpus names.
    await waitFor(
      async () => {
        const r = await w.serviceResponse<{ guests: { id: string }[] }>("backup2mqtt", "get_status", {});
        return Object.keys(corpus.guests).every((id) => r.guests.some((g) => g.id === id)) ? r : undefined;
      },
      { description: "the integration knows the lab's five guests" },
    );
  });
  afterAll(() => w.stop());

  const say = async (text: string, language?: Language) =>
    (await ha.rest.post<ConversationAnswer>("/api/conversation/process", language ? { text, language } : { text }))
      .response;

  /** Every phrasing of `phrases`; the ones whose answer has the wrong form, with the answer. */
  async function run(phrases: Phrasing[], language: Language, sendLanguage: boolean) {
    const wrong: string[] = [];
    const started = Date.now();
    for (const p of phrases) {
      const answer = (await say(p.text, sendLanguage ? language : undefined)).speech.plain.speech;
      if (!answerPattern(language, p).test(answer))
        wrong.push(`${JSON.stringify(p.text)} (${p.intent} ${p.guest ?? p.unknown ?? ""}) → ${JSON.stringify(answer)}`);
    }
    return { wrong, ms: Date.now() - started };
  }

  it("holds at least 40 phrasings per language, every answer form unlike the others", () => {
    for (const language of ["en", "de"] as const) {
      expect(corpus.phrases[language].length).toBeGreaterThanOrEqual(40);
      const intents = new Set(corpus.phrases[language].map((p) => p.intent));
      expect(Object.keys(corpus.answers[language]).sort()).toEqual([...intents, "unknown"].sort());
    }
  });

  it("English phrasings (language en) reach their intent and guest", async () => {
    const t0 = Date.now();
    const { wrong, ms } = await run(corpus.phrases.en, "en", true);
    expect(wrong).toEqual([]);
    console.log(`[assist-corpus] ${corpus.phrases.en.length} English phrasings in ${ms} ms`);
    // "back up …" reached the lab: a vzdump of vaultwarden by the bridge's token.
    expect(w.bridgeVzdumps(102, t0 - 1).length).toBeGreaterThanOrEqual(1);
  });

  it("German phrasings (language de) are answered in German while Home Assistant speaks English", async () => {
    const { wrong, ms } = await run(corpus.phrases.de, "de", true);
    expect(wrong).toEqual([]);
    console.log(`[assist-corpus] ${corpus.phrases.de.length} German phrasings in ${ms} ms`);
    const r = await say("sind meine Sicherungen in Ordnung", "de");
    expect(r.language).toBe("de");
    expect(r.speech.plain.speech).toMatch(/^(Ja|Nein), /);
  });

  it("with Home Assistant in German: German phrasings without a language, and the German UI texts", async () => {
    await ha.ws.command({ type: "config/core/update", language: "de" });
    await waitFor(async () => (await ha.rest.get<{ language: string }>("/api/config")).language === "de", {
      description: "Home Assistant's language de",
    });
    try {
      const { wrong, ms } = await run(corpus.phrases.de, "de", false);
      expect(wrong).toEqual([]);
      console.log(`[assist-corpus] ${corpus.phrases.de.length} German phrasings (HA in German) in ${ms} ms`);
      // An English request still gets English.
      expect((await say("are my backups ok", "en")).speech.plain.speech).toMatch(/^(Yes|No), /);
      // The frontend gets the integration's German texts.
      const issues = await ha.ws.command<{ resources: Record<string, string> }>({
        type: "frontend/get_translations",
        language: "de",
        category: "issues",
        integration: ["backup2mqtt"],
      });
      expect(issues.resources["component.backup2mqtt.issues.unprotected_guest.title"]).toBe(
        "{guest} ({tier}) ist durch keinen Sicherungsauftrag geschützt",
      );
      const services = await ha.ws.command<{ resources: Record<string, string> }>({
        type: "frontend/get_translations",
        language: "de",
        category: "services",
        integration: ["backup2mqtt"],
      });
      expect(services.resources["component.backup2mqtt.services.back_up.name"]).toBe("Sichern");
    } finally {
      await ha.ws.command({ type: "config/core/update", language: "en" });
    }
  });

  it("renders the bridge's phrases in the request's language as the bridge's renderer does", async () => {
    const at = "2026-11-30T15:19:40.000Z";
    const copies: Phrase = {
      key: "too_few_copies",
      params: {
        tier: "P1",
        want: 2,
        max: 93_600_000,
        found: 1,
        counted: [{ key: "copy.storage", params: { at, storage: "local" } }],
      },
    };
    const offsite: Phrase = {
      key: "no_offsite",
      params: {
        tier: "P1",
        max: 93_600_000,
        why: [{ key: "offsite.nothing", params: { count: 1, storages: ["local"] } }],
      },
    };
    const { time_zone: timeZone } = await ha.rest.get<{ time_zone: string }>("/api/config");
    const topic = "backup2mqtt/guest/home_990/state";
    const state = {
      id: "home_990",
      source: "pve",
      vmid: 990,
      name: "phrasentest",
      type: "qemu",
      node: "proxmox-home",
      tier: "P1",
      status: "ok",
      status_reason: "The newest backup is recent.",
      status_phrase: { key: "status.ok", params: { newest: at } },
      problem: true,
      reasons: [render(copies, { language: "en", timeZone }), render(offsite, { language: "en", timeZone })],
      reason_phrases: [copies, offsite],
      findings: [
        { code: "too_few_copies", reason: render(copies, { language: "en", timeZone }), ...copies },
        { code: "no_offsite", reason: render(offsite, { language: "en", timeZone }), ...offsite },
      ],
      last_backup: new Date(Date.now() - 5 * 3600_000).toISOString(),
      running: false,
    };
    const client = await mqtt.connectAsync(w.broker.url, { clientId: "b2m-assist-corpus" });
    try {
      await client.publishAsync(topic, JSON.stringify(state), { qos: 1 });
      const en = await waitFor(
        async () => {
          const a = (await say("what is wrong with phrasentest", "en")).speech.plain.speech;
          return a.startsWith("phrasentest has") ? a : undefined;
        },
        { description: "the integration knows phrasentest" },
      );
      const r = (p: Phrase, language: Language) => render(p, { language, timeZone });
      expect(en).toBe(`phrasentest has 2 problems: ${r(copies, "en")} ${r(offsite, "en")}`);
      const de = (await say("was ist mit phrasentest los", "de")).speech.plain.speech;
      expect(de).toBe(`phrasentest hat 2 Probleme: ${r(copies, "de")} ${r(offsite, "de")}`);
      expect(de).toContain("Stufe P1");
      console.log(`[assist-corpus] ${de}`);
    } finally {
      await client.publishAsync(topic, "", { qos: 1 });
      await client.endAsync();
    }
  });

  it("left no errors from the integration or Assist in Home Assistant's log", () => {
    const bad = ha
      .logText()
      .split("\n")
      .filter((l) => /\b(ERROR|WARNING|CRITICAL)\b/.test(l))
      .filter((l) => /backup2mqtt|conversation|intent|hassil/i.test(l))
      .filter((l) => !/We found a custom integration backup2mqtt which has not been tested by Home Assistant/.test(l));
    expect(bad).toEqual([]);
    expect(ha.mqttProblems()).toEqual([]);
  });
});
