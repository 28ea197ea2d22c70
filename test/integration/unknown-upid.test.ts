/**
 * A state_dir restored onto a rebuilt Proxmox VE: inflight.json names a backup task the node does
 * not know. PVE answers its status with "no such task" (HTTP 400, as pve-manager's
 * PVE/API2/Tasks.pm); the bridge drops it at once with one log line and a backup_unknown event,
 * and judges the guest from its archives — it never turns the guest `failed`.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { schemaValidator, describeErrors } from "../../bridge/src/util/schemas.js";

const STATE = "backup2mqtt/guest/home_102/state";
const EVENT = "backup2mqtt/guest/home_102/event";
const UPID = "UPID:proxmox-home:0000BEEF:00C0FFEE:65000000:vzdump:102:root@pam:";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("a UPID Proxmox does not know", () => {
  it("is dropped from the in-flight list with one backup_unknown event and one log line; the guest is judged from its archives", async () => {
    let inflightPath = "";
    const t = Date.now();
    stack = await startStack({
      broker: "embedded",
      lab: { scenario: "seed", taskSpeed: 20 },
      configure: (cfg) => {
        inflightPath = path.join(cfg.stateDir, "inflight.json");
        fs.writeFileSync(
          inflightPath,
          JSON.stringify([
            {
              kind: "backup",
              source: cfg.proxmox[0]!.name,
              upid: UPID,
              node: "proxmox-home",
              vmid: 102,
              startedMs: t - 60_000,
              origin: "home_assistant",
            },
          ]),
        );
      },
    });
    const s = stack;
    const ev = await s.observer.until(
      "backup_unknown",
      () =>
        s.observer.messages
          .filter((m) => m.topic === EVENT)
          .map((m) => JSON.parse(m.payload))
          .find((e) => e.event_type === "backup_unknown"),
      5_000,
    );
    const v = schemaValidator("event");
    if (!v(ev as object)) throw new Error(describeErrors(v));
    expect(ev).toMatchObject({ guest: "home_102", upid: UPID });
    expect(ev.reason).toBe(
      `Proxmox does not know the task ${UPID} on node 'proxmox-home' (it may have been restored onto a rebuilt node); the guest is judged from its archives`,
    );
    // Gone from the in-flight list, on disk too.
    expect(s.service.engine.store.inflight).toEqual([]);
    expect(fs.readFileSync(inflightPath, "utf8")).not.toContain(UPID);
    // Judged from its archives: not failed, not running.
    const st = await s.observer.until("judged", () => {
      const g = s.observer.json(STATE);
      return g && !g.running && g;
    });
    // (vaultwarden has no archive in the seed lab: missing, as the archives say — not failed.)
    expect(st.status).toBe("missing");
    expect(JSON.stringify(st)).not.toMatch(/no such task|status unavailable/);
    // A while later still: no second event, no "task status unavailable", exactly one line about it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      s.observer.messages.filter((m) => m.topic === EVENT && JSON.parse(m.payload).event_type === "backup_unknown"),
    ).toHaveLength(1);
    expect(s.observer.json(STATE).status).toBe("missing");
    const lines = s.logs.filter((l) => l.includes("does not know the task"));
    expect(lines).toHaveLength(1);
    expect(s.logs.some((l) => /task status unavailable/.test(l))).toBe(false);
    // The guard the resumed task claimed is free again: "Back up now" is accepted.
    expect(s.service.engine.actions.guard.isHeld("backup:home_102")).toBe(false);
  }, 30_000);
});
