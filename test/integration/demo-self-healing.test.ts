/**
 * `backup2mqtt demo --scenario self-healing` (the compiled CLI), observed over MQTT only: within
 * 60 s of the start the failed P0 guest vaultwarden is backed up by the bridge itself
 * (fallback_started, then backup_finished, then status ok), paperless shows the missed job
 * (`job_missed`) and nextcloud the hung backup (`overrunning`). (npm test builds first, so
 * bridge/dist exists.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { type DemoCli, startDemoCli } from "../support/demo-cli.js";

let demo: DemoCli | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const EVENT = (id: string) => `backup2mqtt/guest/${id}/event`;

interface GuestStateMessage {
  name: string;
  status: string;
  problem: boolean;
  last_backup: string | null;
  findings: { code: string; reason: string }[];
  fallback: { state: string; action: string } | null;
}

describe("demo --scenario self-healing", () => {
  it("within 60 s: vaultwarden backed up by the bridge itself (fallback_started → backup_finished → ok), paperless job_missed, nextcloud overrunning", async () => {
    demo = await startDemoCli(["--scenario", "self-healing"]);
    const { t0, observer: o } = demo;
    const deadline = t0 + 60_000;
    const left = () => Math.max(deadline - Date.now(), 1);
    const state = (id: string) => o.json<GuestStateMessage>(STATE(id));
    const events = (id: string) =>
      o.messages
        .filter((m) => m.topic === EVENT(id) && m.payload)
        .map((m) => JSON.parse(m.payload) as { event_type: string; time: string } & Record<string, unknown>);

    // The three guests as the scenario names them.
    const ids = await o.until(
      "the three guests",
      () => {
        const found = ["home_100", "home_101", "home_102"].map((id) => state(id)?.name);
        return found.every(Boolean) && found;
      },
      left(),
    );
    expect(ids).toEqual(["vaultwarden", "paperless", "nextcloud"]);
    // vaultwarden starts out failed (its job's hook failed two nights running).
    const first100 = o.messages.find((m) => m.topic === STATE("home_100") && m.payload);
    expect((JSON.parse(first100!.payload) as GuestStateMessage).status).toBe("failed");

    // vaultwarden (P0, fallback auto): the bridge's own vzdump starts, ends well, and the guest turns ok.
    const finished = await o.until(
      "fallback_started then backup_finished for vaultwarden",
      () => {
        const ev = events("home_100");
        const started = ev.findIndex((e) => e.event_type === "fallback_started");
        const done = ev.findIndex((e, i) => i > started && e.event_type === "backup_finished");
        return started >= 0 && done > started && ev[done];
      },
      left(),
    );
    expect(events("home_100").some((e) => e.event_type === "backup_failed")).toBe(false);
    const ok = await o.until("vaultwarden ok", () => state("home_100")?.status === "ok" && state("home_100"), left());
    expect(Date.parse(ok.last_backup!)).toBeGreaterThan(t0 - 5_000);
    expect(ok.fallback).toMatchObject({ state: "done", action: "auto" });
    expect(Date.parse(finished.time)).toBeLessThanOrEqual(deadline);

    // paperless: its job did not run at its due instant → job_missed, a problem.
    const missed = await o.until(
      "job_missed on paperless",
      () => state("home_101")?.findings.find((f) => f.code === "job_missed"),
      left(),
    );
    expect(missed.reason).toMatch(/backup-paperless|paperless, daily/);
    expect(state("home_101")!.problem).toBe(true);

    // nextcloud: the vzdump that has run for 3 h without progress → overrunning, a problem.
    const overrun = await o.until(
      "overrunning on nextcloud",
      () => state("home_102")?.findings.find((f) => f.code === "overrunning"),
      left(),
    );
    expect(overrun.reason.length).toBeGreaterThan(0);
    expect(state("home_102")!.problem).toBe(true);

    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(60_000);
    process.stderr.write(`demo self-healing: everything shown after ${elapsed} ms\n`);
  }, 90_000);
});
