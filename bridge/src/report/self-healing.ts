/**
 * The strategy report's "Self-healing" section: each tier's fallback in words (what the bridge does
 * when a guest's regular backup does not happen), and the guests whose fallback is waiting for
 * approval, planned, running or failed, and those the watchdogs flagged (missed job, overrunning).
 */
import type { Tier } from "../config/tiers.js";
import type { GuestState } from "../policy/types.js";
import { formatDuration } from "../util/duration.js";
import { shortTime } from "./facts.js";
import { table } from "./format.js";
import type { ReportInput } from "./render.js";

/** What a tier's fallback does, as a sentence. */
export function fallbackWords(t: Tier, timeZone = "UTC"): string {
  const f = t.fallback;
  if (!t.protect) return "No fallback: the tier's guests are not backed up.";
  if (f.action === "off") return "Off: a missed or failed backup is reported, nothing more.";
  const window = f.window === "any" ? "at any time" : `between ${f.window.replace("-", " and ")} (${timeZone})`;
  const how = [f.storage ? `to storage ${f.storage}` : "", f.mode ? `in ${f.mode} mode` : ""].filter(Boolean).join(" ");
  const what = `runs the guest's vzdump${how ? ` ${how}` : ""} ${window}, ${formatDuration(f.graceMs)} after the guest turned stale, failed or missing, at most ${f.maxPerDay === 1 ? "once" : `${f.maxPerDay} times`} a day`;
  return f.action === "ask"
    ? `Ask: the bridge plans a fallback that ${what.replace(/^runs/, "would run")}, and waits until someone approves it (Home Assistant's Approve fallback button, the status page or POST /api/v1/guests/<id>/fallback/approve).`
    : `Auto: the bridge ${what}.`;
}

const STATE_WORDS: Record<NonNullable<GuestState["fallback"]>["state"], string> = {
  planned: "planned",
  running: "running",
  waiting_for_job: "waiting for the scheduled job",
  done: "done",
  failed: "failed",
};

/** The fallback's state in words ("waiting for approval" for an ask fallback nobody approved yet). */
const stateWords = (f: NonNullable<GuestState["fallback"]>) =>
  f.action === "ask" && f.state === "planned" && !f.approved
    ? "waiting for approval"
    : `${STATE_WORDS[f.state]}${f.action === "ask" && f.state === "planned" ? " (approved)" : ""}`;

export function selfHealingSection(input: ReportInput, guests: GuestState[], out: string[]): void {
  const { cfg } = input;
  out.push("## Self-healing", "");
  out.push(
    "A tier's `fallback` says what the bridge does when a guest's regular backup does not happen: `off` only reports it, " +
      "`ask` plans a backup by the bridge and waits for approval, `auto` runs it in the tier's window. A fallback never " +
      "runs while the guest is being backed up or its source cannot be read, runs one at a time per node, and waits " +
      "instead when a scheduled job will cover the guest first. Two failed fallbacks stop it for the day.",
  );
  out.push("");
  out.push(
    table(
      ["tier", "fallback"],
      Object.values(cfg.tiers).map((t) => [`**${t.id}**`, fallbackWords(t, cfg.timeZone)]),
    ),
  );
  out.push("");
  const withFallback = guests.filter((g) => g.fallback && g.fallback.state !== "done");
  if (!withFallback.length) out.push("No fallback is waiting, planned, running or failed.");
  else
    out.push(
      table(
        ["guest", "VMID", "fallback", "when", "why"],
        withFallback.map((g) => [
          g.name,
          g.vmid,
          stateWords(g.fallback!),
          shortTime(g.fallback!.at, cfg.timeZone),
          g.fallback!.reason,
        ]),
      ),
    );
  out.push("");
  const watched = guests
    .map((g) => ({
      g,
      findings: g.findings.filter((f) => ["job_missed", "overrunning", "fallback_failed"].includes(f.code)),
    }))
    .filter((x) => x.findings.length);
  if (watched.length) {
    out.push("Missed jobs, overrunning backups and failed fallbacks:", "");
    out.push(
      table(
        ["guest", "VMID", "what"],
        watched.map(({ g, findings }) => [g.name, g.vmid, findings.map((f) => f.reason).join(" ")]),
      ),
    );
    out.push("");
  }
}
