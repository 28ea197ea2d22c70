/**
 * Scenario task history: past tasks are replayed through the live engine from their start
 * time, so their logs, exit statuses and archives are exactly what a live run would produce.
 */
import type { ResolvedScenario } from "./scenario.js";
import { resolveWhen } from "./scenario.js";
import type { LabState } from "./state.js";
import { defaultStorage, jobOptions, settle } from "./tasks.js";
import { startVzdump } from "./vzdump.js";
import { addPlainTask, type ForcedOutcome } from "./workers.js";

export function replayHistory(state: LabState, scenario: ResolvedScenario, now: number): void {
  const entries = scenario.tasks
    .map((t) => ({ t, start: Math.min(resolveWhen(t, now), now) }))
    .sort((a, b) => a.start - b.start);
  const firstNode = scenario.nodes[0]?.name ?? "";
  for (const { t, start } of entries) {
    settle(state, start);
    const firstGuest = t.guests?.[0] ? state.guests.get(t.guests[0].vmid) : undefined;
    const node = t.node ?? firstGuest?.node ?? firstNode;
    if (t.type !== "vzdump") {
      addPlainTask(
        state,
        node,
        t.type,
        t.id ?? "",
        t.user,
        start,
        (t.durationSeconds ?? 5) * 1000,
        t.exitstatus ?? "OK",
      );
      continue;
    }
    const job = t.job !== undefined ? state.jobs.get(t.job) : undefined;
    const base = job ? jobOptions(state, job) : undefined;
    const guests = t.guests ?? [];
    const forced = new Map<number, ForcedOutcome>(
      guests.map((g) => [
        g.vmid,
        {
          ...(g.fail !== undefined ? { fail: g.fail } : {}),
          ...(g.warn !== undefined ? { warn: g.warn } : {}),
          ...(g.seconds !== undefined ? { seconds: g.seconds } : {}),
          ...(g.hang ? { hang: true } : {}),
        },
      ]),
    );
    startVzdump(
      state,
      node,
      t.user,
      {
        vmids: guests.map((g) => g.vmid),
        all: false,
        exclude: [],
        storage: t.storage ?? base?.storage ?? defaultStorage(state),
        mode: t.mode ?? base?.mode ?? "snapshot",
        compress: t.compress ?? base?.compress ?? "zstd",
        ...((t["notes-template"] ?? base?.notesTemplate) !== undefined
          ? { notesTemplate: t["notes-template"] ?? base?.notesTemplate }
          : {}),
        protected: base?.protected ?? false,
        ...(base?.pruneBackups ? { pruneBackups: base.pruneBackups } : {}),
        remove: base?.remove ?? true,
        ...(job ? { jobId: String(job.config.id) } : {}),
        extra: {},
      },
      start,
      forced,
      {
        ...(t.jobError !== undefined ? { jobError: t.jobError } : {}),
        ...(t.blankLineBeforeEnd ? { blankLineBeforeEnd: true } : {}),
        ...(t.pbsClient !== undefined ? { pbsClient: t.pbsClient } : {}),
      },
    );
  }
  settle(state, now);
}
