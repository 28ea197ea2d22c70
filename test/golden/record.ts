/**
 * Records what the demo says, with a fixed clock: every MQTT message (topic, retain flag,
 * payload, in order per topic) and the answer of every HTTP route. The recording is committed
 * (demo-traffic.json) and traffic.test.ts compares a fresh one with it, so a change in what Home
 * Assistant or an HTTP client receives shows as a diff of that file, never by surprise.
 */
import { ManualClock } from "backup2mqtt-lab";
import { startStack, type Stack } from "../support/stack.js";

/** 2026-06-01 10:00:00 UTC: a fixed instant, so every time in the traffic is the same run to run. */
export const GOLDEN_START_MS = Date.UTC(2026, 5, 1, 10, 0, 0);
const HOUR = 3_600_000;

export interface Recording {
  mqtt: Record<string, { retain: boolean; payload: unknown }[]>;
  http: Record<string, { status: number; type: string; body: unknown }>;
}

/** Waits until the broker has been quiet for `quietMs` (nothing new arrived). */
async function settled(stack: Stack, quietMs = 600): Promise<void> {
  let seen = -1;
  while (seen !== stack.observer.messages.length) {
    seen = stack.observer.messages.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

export async function record(): Promise<Recording> {
  const clock = new ManualClock(GOLDEN_START_MS);
  // Polls and loops far apart: only the start-up refresh and the commands below make traffic.
  const stack = await startStack({
    broker: "embedded",
    lab: { scenario: "demo", clock, taskSpeed: 1 },
    pollMs: 10 * HOUR,
    offsite: { pollMs: 10 * HOUR },
    bridge: { clock, fastPollMs: 10 * HOUR, verifyTickMs: 10 * HOUR, birthDelayMs: 50 },
  });
  const lab = stack.lab.url.replace(/^https:\/\//, "");
  const others = [stack.offsite?.dsm?.url, stack.offsite?.pbs?.url]
    .filter((u): u is string => !!u)
    .map((u) => u.replace(/^https?:\/\//, ""));
  const http = stack.service.httpUrl!;
  const mask = (s: string) => {
    let out = s.split(lab).join("<pve-lab>");
    for (const [i, o] of others.entries()) out = out.split(o).join(`<offsite-lab-${i}>`);
    out = out.split(http.replace(/^http:\/\//, "")).join("<http>");
    return out
      .replace(/Node\.js v\d+\.\d+\.\d+/g, "Node.js <version>")
      .replace(/nodejs="v\d+\.\d+\.\d+"/g, 'nodejs="<version>"');
  };
  try {
    await settled(stack);
    const answers: Recording["http"] = {};
    const get = async (name: string, path: string, init?: RequestInit) => {
      const res = await fetch(http + path, init);
      const type = (res.headers.get("content-type") ?? "").split(";")[0]!;
      let text = mask(await res.text());
      if (path === "/metrics") text = metricsWithoutProcess(text);
      if (path === "/report.md" || path === "/")
        text = text.replace(/[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, \d\d:\d\d(?= by backup2mqtt| ·)/g, "<wall clock>");
      answers[name] = { status: res.status, type, body: type === "application/json" ? JSON.parse(text) : text };
    };
    const routes = async (phase: string) => {
      await get(`${phase} GET /livez`, "/livez");
      await get(`${phase} GET /healthz`, "/healthz");
      await get(`${phase} GET /api/v1/guests`, "/api/v1/guests");
      await get(`${phase} GET /api/v1/guests/home_100`, "/api/v1/guests/home_100");
      await get(`${phase} GET /api/v1/guests/nobody`, "/api/v1/guests/nobody");
      await get(`${phase} GET /report.md`, "/report.md");
      await get(`${phase} GET /metrics`, "/metrics");
      await get(`${phase} GET /`, "/");
      await get(`${phase} GET /nowhere`, "/nowhere");
    };
    await routes("start");
    await get("POST backup without token", "/api/v1/guests/home_101/backup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });

    const o = stack.observer;
    await o.publish(
      "backup2mqtt/guest/home_101/command",
      JSON.stringify({ action: "set_tier", tier: "P1", request_id: "golden-1" }),
    );
    await settled(stack);
    await o.publish("backup2mqtt/guest/home_101/command", "{not json");
    await o.publish("backup2mqtt/guest/home_999/command", JSON.stringify({ action: "backup" }));
    await settled(stack);
    await o.publish("backup2mqtt/guest/home_103/command", JSON.stringify({ action: "backup", request_id: "golden-2" }));
    await settled(stack);
    await o.publish("backup2mqtt/guest/home_103/command", JSON.stringify({ action: "backup", request_id: "golden-3" }));
    await settled(stack);
    // Two hours later the backup is over and the clock has moved: a refresh shows both.
    clock.advance(2 * HOUR);
    await o.publish("backup2mqtt/bridge/command", JSON.stringify({ action: "refresh" }));
    await settled(stack);
    // A day later: the stale instants have passed.
    clock.advance(24 * HOUR);
    await o.publish("backup2mqtt/bridge/command", JSON.stringify({ action: "refresh" }));
    await settled(stack);
    await routes("later");

    const mqtt: Recording["mqtt"] = {};
    for (const m of o.messages) {
      const text = mask(m.payload);
      let payload: unknown = text;
      try {
        payload = text ? JSON.parse(text) : "";
      } catch {
        /* a plain payload such as "online" */
      }
      mqtt[m.topic] ??= [];
      mqtt[m.topic]!.push({ retain: m.retain, payload });
    }
    return { mqtt: sortKeys(mqtt), http: answers };
  } finally {
    await stack.stop();
  }
}

/** Process and runtime figures (memory, CPU, refresh wall time) differ every run; the rest must not. */
function metricsWithoutProcess(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^(# (HELP|TYPE) )?(process_|nodejs_|backup2mqtt_refresh_duration_seconds)/.test(l))
    .join("\n");
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
