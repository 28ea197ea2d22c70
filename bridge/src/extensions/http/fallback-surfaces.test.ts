/**
 * What a person sees of the self-healing fallback outside Home Assistant: the status page's sentence
 * and Approve form, the Prometheus gauges, and the report's "Self-healing" section.
 */
import { describe, expect, it } from "vitest";
import type { View } from "../../core/view.js";
import { resolveTiers } from "../../config/tiers.js";
import type { Finding, GuestFallback, GuestState, PolicyResult } from "../../policy/types.js";
import { fallbackWords, selfHealingSection } from "../../report/self-healing.js";
import type { ReportInput } from "../../report/render.js";
import { createMetrics } from "./metrics.js";
import { renderStatusPage, type StatusPageInput } from "./status-page.js";

const NOW = Date.parse("2026-11-27T00:30:00.000Z");
const tiers = resolveTiers({
  P0: { fallback: "auto" },
  P1: { fallback: { action: "ask", window: "01:00-06:00", grace: "2h" } },
});

const guest = (vmid: number, name: string, tier: string, fallback: GuestFallback | null, findings: Finding[] = []) =>
  ({
    id: `home_${vmid}`,
    source: "pve",
    vmid,
    name,
    type: "qemu",
    node: "proxmox-home",
    tier,
    tier_source: "tag",
    status: "failed",
    status_reason: "The last backup failed.",
    status_phrase: { key: "text", params: { text: "x" } },
    problem: true,
    reasons: ["The last backup failed."],
    reason_phrases: [],
    findings,
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
    fallback,
    protection: null,
  }) as GuestState;

const REASON = "The backup of 27 Nov failed; the bridge backs it up itself.";
const pending: GuestFallback = {
  state: "planned",
  at: "2026-11-27T01:00:00.000Z",
  reason: REASON,
  action: "ask",
  approved: false,
};
const missed: Finding = {
  code: "job_missed",
  key: "job_missed",
  params: { relied: true },
  reason: "Job backup-p1 did not run.",
};
const guests = [
  guest(102, "vaultwarden", "P1", pending),
  guest(100, "homeassistant", "P0", { ...pending, action: "auto", state: "running", at: "2026-11-27T00:20:00.000Z" }),
  guest(101, "immich", "P1", { ...pending, state: "failed", at: "2026-11-26T23:00:00.000Z" }, [
    { code: "fallback_failed", key: "fallback_failed", params: {}, reason: "The fallback failed twice today." },
  ]),
  guest(105, "pihole-home", "P2", null, [missed]),
  guest(103, "download-home", "P1", { ...pending, approved: true }),
];
const result = { guests, counts: {}, orphans: [] } as unknown as PolicyResult;
const evidence = { archives: { of: () => [] } } as unknown as StatusPageInput["evidence"];

describe("status page", () => {
  const input = (over: Partial<StatusPageInput> = {}): StatusPageInput => ({
    cfg: { site: "home", tiers, timeZone: "UTC" },
    result,
    evidence,
    sources: [],
    lastRefreshMs: NOW,
    now: NOW,
    tokenConfigured: true,
    ...over,
  });
  const card = (html: string, id: string) =>
    html.slice(html.indexOf(`id="${id}"`), html.indexOf("</article>", html.indexOf(`id="${id}"`)));

  it("says each guest's fallback in a sentence, with its reason; Approve only where one waits for approval", () => {
    const html = renderStatusPage(input());
    const vw = card(html, "home_102");
    expect(vw).toContain(
      `A fallback backup waits for approval; once approved it starts <time datetime="2026-11-27T01:00:00.000Z">`,
    );
    expect(vw).toContain(REASON);
    expect(vw).toMatch(
      /<form method="post" action="\.\/guests\/home_102\/fallback\/approve">.*name="token".*<button type="submit">Approve fallback<\/button><\/form>/,
    );
    expect(card(html, "home_100")).toContain("A fallback backup is running since");
    expect(card(html, "home_101")).toMatch(
      /The fallback backup failed <time datetime="2026-11-26T23:00:00.000Z" title="Thu 26 Nov, 23:00">1 hour and 30 minutes ago<\/time>\./,
    );
    expect(card(html, "home_103")).toContain("A fallback backup is planned for");
    for (const id of ["home_100", "home_101", "home_103", "home_105"])
      expect(card(html, id)).not.toContain("fallback/approve");
    expect(card(html, "home_105")).not.toContain('class="fallback');
  });

  it("without a token it says how to turn approving on", () => {
    const vw = card(renderStatusPage(input({ tokenConfigured: false })), "home_102");
    expect(vw).not.toContain("<form");
    expect(vw).toContain("Approving here is off: set <code>http.token</code> in the config.");
  });
});

describe("metrics", () => {
  it("count fallbacks per state, those waiting for approval, and guests per finding", async () => {
    const reg = createMetrics({
      result,
      evidence: () => evidence,
      proxmox: [],
      offsiteSources: [],
      hyperBackupTasks: [],
      pbsDatastores: [],
      lastRefreshMs: NOW,
      lastRefreshDurationMs: 1,
      mqttConnected: true,
    } as unknown as View);
    const text = await reg.metrics();
    expect(text).toContain("# TYPE backup2mqtt_fallbacks gauge");
    expect(text).toContain('backup2mqtt_fallbacks{state="planned"} 2');
    expect(text).toContain('backup2mqtt_fallbacks{state="running"} 1');
    expect(text).toContain('backup2mqtt_fallbacks{state="failed"} 1');
    expect(text).toContain('backup2mqtt_fallbacks{state="waiting_for_job"} 0');
    expect(text).toMatch(/^backup2mqtt_fallbacks_pending_approval 1$/m);
    expect(text).toContain('backup2mqtt_guests_with_finding{code="job_missed"} 1');
    expect(text).toContain('backup2mqtt_guests_with_finding{code="overrunning"} 0');
    expect(text).toContain('backup2mqtt_guests_with_finding{code="fallback_failed"} 1');
  });
});

describe("report: Self-healing", () => {
  it("each tier's fallback in words", () => {
    expect(fallbackWords(tiers.P0!)).toBe(
      "Auto: the bridge runs the guest's vzdump at any time, 1 hour after the guest turned stale, failed or missing, at most once a day.",
    );
    expect(fallbackWords(tiers.P1!, "Europe/Berlin")).toBe(
      "Ask: the bridge plans a fallback that would run the guest's vzdump between 01:00 and 06:00 (Europe/Berlin), 2 hours after the guest turned stale, failed or missing, at most once a day, and waits until someone approves it (Home Assistant's Approve fallback button, the status page or POST /api/v1/guests/<id>/fallback/approve).",
    );
    expect(fallbackWords(tiers.P2!)).toBe("Off: a missed or failed backup is reported, nothing more.");
    expect(fallbackWords(tiers.none!)).toBe("No fallback: the tier's guests are not backed up.");
  });

  it("lists the tiers, the guests with a fallback under way or failed, and the watchdogs' findings", () => {
    const out: string[] = [];
    selfHealingSection({ cfg: { tiers, timeZone: "UTC" } } as unknown as ReportInput, guests, out);
    const md = out.join("\n");
    expect(md).toMatch(/^## Self-healing$/m);
    expect(md).toMatch(/^\| \*\*P1\*\* \| Ask: the bridge plans/m);
    expect(md).toContain(`| vaultwarden | 102 | waiting for approval | Fri 27 Nov, 01:00 | ${REASON} |`);
    expect(md).toContain("| homeassistant | 100 | running |");
    expect(md).toContain("| immich | 101 | failed |");
    expect(md).toContain("| download-home | 103 | planned (approved) |");
    expect(md).toContain("| pihole-home | 105 | Job backup-p1 did not run. |");
    expect(md).toContain("| immich | 101 | The fallback failed twice today. |");
    const none: string[] = [];
    selfHealingSection({ cfg: { tiers, timeZone: "UTC" } } as unknown as ReportInput, [], none);
    expect(none.join("\n")).toContain("No fallback is waiting, planned, running or failed.");
  });
});
