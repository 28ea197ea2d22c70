/**
 * The end of a backup in the guest's retained state: the message that brings the new last backup
 * is the one that ends `running` — never a state that is still running with the new archive, nor
 * one that has stopped running without it. Real lab over HTTPS, embedded broker, real bridge.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;
const CMD = (id: string) => `backup2mqtt/guest/${id}/command`;
const EVENT = (id: string) => `backup2mqtt/guest/${id}/event`;

interface GuestStateMessage {
  status: string;
  running: boolean;
  last_backup: string | null;
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** Every state message of `id` from `t` on (cleared retained states left out). */
function statesOf(s: Stack, id: string, t: number): GuestStateMessage[] {
  return s.observer.messages
    .filter((m) => m.topic === STATE(id) && m.at >= t && m.payload)
    .map((m) => JSON.parse(m.payload) as GuestStateMessage);
}

/** Waits for the guest's backup_finished event since `t`, then for its state to carry a new last backup and not run. */
async function waitEnd(s: Stack, id: string, t: number, before: string | null): Promise<void> {
  await s.observer.until(
    `backup_finished on ${id}`,
    () =>
      s.observer.messages.some(
        (m) => m.topic === EVENT(id) && m.at >= t && JSON.parse(m.payload).event_type === "backup_finished",
      ),
    30_000,
  );
  await s.observer.until(
    `the new last backup in the state of ${id}`,
    () => {
      const now = s.observer.json<GuestStateMessage>(STATE(id));
      return now && now.last_backup !== before && !now.running;
    },
    15_000,
  );
}

/** Presses back-up-now on `id`, waits for the end, and returns every state message of the guest from the press on. */
async function pressAndRecord(s: Stack, id: string): Promise<{ before: string | null; states: GuestStateMessage[] }> {
  const initial = await s.observer.until("state", () => s.observer.json<GuestStateMessage>(STATE(id)));
  const t = Date.now();
  await s.observer.publish(CMD(id), '{"action":"backup","origin":"test"}');
  await waitEnd(s, id, t, initial.last_backup);
  // A few more polls: a late message (a lock read before the end, applied after it) would show up here.
  await new Promise((r) => setTimeout(r, 1_500));
  return { before: initial.last_backup, states: statesOf(s, id, t) };
}

/** The invariant: the state leaves running in the very message that brings the new last backup. */
function expectOneStepEnd(before: string | null, states: GuestStateMessage[]): void {
  const shown = states.map((m) => ({ status: m.status, running: m.running, last_backup: m.last_backup }));
  const isNew = (m: GuestStateMessage) => m.last_backup !== before;
  const firstRunning = states.findIndex((m) => m.running);
  expect(firstRunning, `no state said running: ${JSON.stringify(shown)}`).toBeGreaterThanOrEqual(0);
  for (const m of states) {
    // Running (by flag or status) together with the new archive: the state disagrees with itself.
    expect(
      isNew(m) && (m.running || m.status === "running"),
      `running with the new last backup: ${JSON.stringify(shown)}`,
    ).toBe(false);
  }
  // Once running ended, every later message carries the new last backup.
  const after = states.slice(firstRunning).findIndex((m) => !m.running && m.status !== "running");
  expect(after, `running never ended: ${JSON.stringify(shown)}`).toBeGreaterThanOrEqual(0);
  for (const m of states.slice(firstRunning + after))
    expect(isNew(m), `ended running without the new last backup: ${JSON.stringify(shown)}`).toBe(true);
}

describe("the end of a backup in the guest's state", () => {
  it("press back-up-now, slow full polls: running ends in the same state message that brings the new last backup", async () => {
    // Full polls (inventory, lock) every 3 s; the fast loop (task status) every 200 ms finds the end first.
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 20 }, pollMs: 1_000 });
    const { before, states } = await pressAndRecord(stack, "home_102");
    expectOneStepEnd(before, states);
  });

  it("press back-up-now, fast full polls (the full refresh may find the end first): the same", async () => {
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 20 }, pollMs: 150 });
    const { before, states } = await pressAndRecord(stack, "home_103");
    expectOneStepEnd(before, states);
  });

  it("a job of three guests: each guest ends running with its own archive, while the job still runs for the others", async () => {
    // backup-p2-weekly backs up 101 (180 s), 103 (90 s), 105 (30 s) one after the other: at speed 40, 4.5 + 2.25 + 0.75 s.
    stack = await startStack({ broker: "embedded", lab: { scenario: "seed", taskSpeed: 40 }, pollMs: 1_000 });
    const s = stack;
    const ids = ["home_101", "home_103", "home_105"];
    const before = new Map<string, string | null>();
    for (const id of ids)
      before.set(
        id,
        (await s.observer.until("state", () => s.observer.json<GuestStateMessage>(STATE(id)))).last_backup,
      );
    const t = Date.now();
    expect(s.lab.control.runScheduledJobsNow("backup-p2-weekly")).toHaveLength(1);
    for (const id of ids) await waitEnd(s, id, t, before.get(id)!);
    await new Promise((r) => setTimeout(r, 1_500));
    for (const id of ids) expectOneStepEnd(before.get(id)!, statesOf(s, id, t));
  }, 45_000);
});
