/**
 * The bridge against the `logs` lab (lab/scenarios/logs.yaml): every real vzdump log variant in
 * its task history, read over HTTPS by the real bridge, and each guest's state and reason as
 * published. What each guest should show is described in the scenario's header.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";

const STATE = (id: string) => `backup2mqtt/guest/${id}/state`;

interface GuestStateMessage {
  status: string;
  status_reason: string;
  reasons: string[];
  last_backup: string | null;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ broker: "embedded", lab: { scenario: "logs" } });
});
afterAll(async () => {
  await stack?.stop();
});

const state = (vmid: number) =>
  stack.observer.until(`state of ${vmid}`, () => stack.observer.json<GuestStateMessage>(STATE(`home_${vmid}`)), 20_000);

describe("task log variants, as the bridge reads them", () => {
  it("each guest gets the result its own lines say", async () => {
    const all = Object.fromEntries(
      await Promise.all([100, 101, 102, 104, 105, 106, 112, 123].map(async (v) => [v, await state(v)] as const)),
    );
    // A good PBS backup 26 h ago and a good local one 2 h ago (in a task that ended "job errors").
    expect(all[100]!.status).toBe("ok");
    // tar failed after rbd's unprefixed lines: the reason is the ERROR line's, not the rbd output.
    expect(all[101]!.status).toBe("failed");
    expect(all[101]!.status_reason).toMatch(/failed: command 'tar … \| zstd …' failed: exit code 2\./);
    expect(all[101]!.status_reason).not.toMatch(/Removing snap|\/dev\/rbd/);
    // The max backup limit, before any "Starting Backup" line.
    expect(all[104]!.status).toBe("failed");
    expect(all[104]!.status_reason).toMatch(/max backup limit of 1/);
    // The job failed as a whole before any guest: its one guest failed with the job's error.
    expect(all[105]!.status).toBe("failed");
    expect(all[105]!.status_reason).toMatch(/offsite-hook\.sh job-start' failed: exit code 1/);
    // Skipped as external on one node, backed up on its own: never failed by the other node's task.
    for (const v of [106, 112, 123]) expect(all[v]!.status, `guest ${v}`).toBe("ok");
  });
});
