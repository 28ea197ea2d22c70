/**
 * The strategy report: `backup2mqtt report --config FILE` (the real CLI, bridge/dist) and
 * GET /report.md on the running bridge, both against the simulated lab.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab } from "backup2mqtt-lab";
import type { Stack } from "../support/stack.js";
import type { GuestState } from "../../bridge/src/policy/types.js";
import { type TestHttp, startHttpStack } from "./http-helpers.js";
import { allArchives } from "../../bridge/src/archive-set.js";
import { utcTime } from "../support/words.js";

const cli = path.resolve(import.meta.dirname, "../../bridge/dist/cli.js");

function runCli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every guest (name, VMID, tier, status) and every finding reason is in the document. */
function expectComplete(md: string, guests: GuestState[]) {
  expect(guests).toHaveLength(5);
  for (const g of guests) {
    const rowRe = new RegExp(
      `^\\| ${g.name} \\| ${g.vmid} \\| ${g.type} \\| ${g.node} \\| ${g.tier ?? "untiered"} \\| ${g.status} \\|`,
      "m",
    );
    expect(md).toMatch(rowRe);
    for (const f of g.findings) {
      expect(md).toContain(f.reason.replace(/\|/g, "\\|"));
      expect(md).toMatch(new RegExp(`^\\| ${g.name} \\|.*${f.code}.* \\|$`, "m"));
    }
    for (const r of g.reasons) expect(md).toContain(r);
    expect(md).toContain(`#### ${g.name} (${g.type === "qemu" ? "VM" : "CT"} ${g.vmid}, node ${g.node})`);
  }
}

describe("strategy report", () => {
  describe("GET /report.md on the demo lab", () => {
    let stack: Stack;
    let http: TestHttp;
    beforeAll(async () => {
      ({ stack, http } = await startHttpStack(
        { broker: "embedded", lab: { scenario: "demo", taskSpeed: 20 } },
        undefined,
      ));
    });
    afterAll(async () => {
      await http?.close();
      await stack?.stop();
    });

    it("is Markdown with generated time, versions, tiers, every guest and finding, jobs, verification and restore", async () => {
      const before = Date.now();
      const res = await fetch(`${http.url}/report.md`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
      const md = await res.text();
      const after = Date.now();
      const guests = stack.service.engine.result!.guests;
      expect(md.split("\n")[0]).toBe("# Backup strategy — home");
      // When, as a person reads it (UTC: the stack's config is built in code), by which versions.
      const generated =
        /^Generated (.+) by backup2mqtt \d+\.\d+\.\d+ \(Node\.js (v[^)]+)\); Proxmox VE: pve 9\.1\.6\.$/m.exec(md);
      expect(generated, md.slice(0, 300)).not.toBeNull();
      expect([utcTime(before), utcTime(after)]).toContain(generated![1]);
      expect(generated![2]).toBe(process.version);
      for (const h of [
        "## Summary",
        "## Tiers and what they promise",
        "## Guests",
        "## Coverage gaps",
        "## Jobs that implement the tiers",
        "## Verification and restore-test log",
        "## Restore procedure",
      ])
        expect(md).toContain(`\n${h}\n`);
      expect(md).toMatch(
        /^\| \*\*P0\*\* \| Critical, daily \| 1 day and 2 hours \| 02:00 \| keep-daily=7,keep-weekly=4,keep-monthly=6 \| 2 \| yes \| 7 days \| yes \| homeassistant \(100\) \|$/m,
      );
      expectComplete(md, guests);
      // Problems first: the failed guest's row comes before the ok one.
      expect(md.indexOf("| vaultwarden | 102 |")).toBeLessThan(md.indexOf("| homeassistant | 100 |"));
      expect(md).toMatch(
        /^\| backup-p2-weekly \| pve \| someone else \| \*\*no\*\* \| sun 03:00 \| VMIDs 101, 103 \(immich, download-home\) \| local \|/m,
      );
      const pbsVerified = allArchives(stack.service.engine.evidence().archives).filter((a) => a.verification);
      if (pbsVerified.length) {
        // Archives verified by PBS are in the log, so the "nothing recorded" placeholder must not be.
        expect(md).toContain("### Verified by Proxmox Backup Server (verify jobs; newest archive first)");
        for (const a of pbsVerified) expect(md).toContain(`| ${a.volid} |`);
        expect(md).not.toContain("No verification or restore test has been recorded yet");
      } else expect(md).toContain("**No verification or restore test has been recorded yet.**");
      expect(md).toContain("qmrestore <volid> $NEWID --unique 1 --start 0");
      expect(md).toContain("pct restore $NEWID <volid> --unique 1 --storage <rootfs-storage>");
      // The exact command for a guest uses its newest archive.
      const newest100 = md.match(/Newest archive: `(synology:backup\/vzdump-qemu-100-[^`]+)`/)![1]!;
      expect(md).toContain(`qmrestore ${newest100} $NEWID --unique 1 --start 0`);
      expect(md).toMatch(/pct restore \$NEWID \w+:backup\/vzdump-lxc-105-\S+\.tar\.zst --unique 1/);
      expect(md).toContain("**No archive exists: this guest cannot be restored.**"); // download-home
    });
  });

  describe("backup2mqtt report --config", () => {
    it("prints the same document for the seed lab on stdout; every guest missing and unprotected", async () => {
      const lab = await startLab({ scenario: "seed", authFailDelayMs: 0 });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-report-"));
      try {
        const t = lab.tokens[0]!;
        const cfg = path.join(dir, "b2m.yaml");
        fs.writeFileSync(
          cfg,
          `site: home\ntimezone: Europe/Berlin\nmqtt: { url: "mqtt://127.0.0.1:1" }\nproxmox:\n  - { name: pve, url: "${lab.url}", token_id: "${t.id}", token_secret: "\${S}", fingerprint: "${lab.fingerprint}" }\nstate_dir: ${dir}/state\n`,
        );
        const r = await runCli(["report", "--config", cfg], { S: t.secret });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const md = r.stdout;
        expect(md).toContain("5 guests: 0 ok, 0 stale, 0 failed, 5 missing, 0 running, 0 unknown. **5 with problems**");
        for (const [name, vmid, tier, job] of [
          ["homeassistant", 100, "P0", "backup-p0-daily"],
          ["immich", 101, "P2", "backup-p2-weekly"],
          ["vaultwarden", 102, "P1", "backup-p1-daily"],
          ["download-home", 103, "P2", "backup-p2-weekly"],
          ["pihole-home", 105, "P2", "backup-p2-weekly"],
        ] as const) {
          expect(md).toMatch(
            new RegExp(
              `^\\| ${name} \\| ${vmid} \\| \\w+ \\| proxmox-home \\| ${tier} \\| missing \\| \\*\\*yes\\*\\* \\| never \\|.* unprotected \\|$`,
              "m",
            ),
          );
          expect(md).toContain(
            `- **${name}** (${vmid}, tier ${tier}, missing):\n  - No backup of this guest exists on any storage.\n  - Backup job ${job} selects this guest but is disabled.\n`,
          );
        }
        expect(md).toContain("Tiers with guests no enabled job protects: P0, P1, P2.");
        expect(md).toContain("**No verification or restore test has been recorded yet.**");
        expect(md).toContain("No Synology (Hyper Backup) or PBS source is configured");
        expect(md).not.toContain(t.secret);

        // What the service recorded in state_dir (verifications, restore tests) is the log.
        fs.mkdirSync(path.join(dir, "state"), { recursive: true });
        fs.writeFileSync(
          path.join(dir, "state", "verifications.json"),
          JSON.stringify([
            {
              source: "pve",
              vmid: 100,
              volid: "synology:backup/vzdump-qemu-100-2026_01_01-02_00_00.vma.zst",
              timeMs: Date.parse("2026-01-01T03:00:00Z"),
              ok: true,
              method: "ssh",
            },
            {
              source: "pve",
              vmid: 102,
              volid: "synology:backup/vzdump-qemu-102-2026_01_01-02_30_00.vma.zst",
              timeMs: Date.parse("2026-01-01T04:00:00Z"),
              ok: false,
              method: "ssh",
              reason: "zstd: corrupted block",
            },
          ]),
        );
        fs.writeFileSync(
          path.join(dir, "state", "restore-tests.json"),
          JSON.stringify([
            {
              source: "pve",
              vmid: 100,
              volid: "synology:backup/vzdump-qemu-100-2026_01_01-02_00_00.vma.zst",
              scratchVmid: 9100,
              timeMs: Date.parse("2026-01-02T03:00:00Z"),
              durationMs: 60000,
              ok: true,
              cleanedUp: true,
            },
          ]),
        );
        const logged = (await runCli(["report", "--config", cfg], { S: t.secret })).stdout;
        expect(logged).not.toContain("No verification or restore test has been recorded yet");
        // Times in the config's zone: 04:00 UTC is 05:00 in Berlin (winter).
        expect(logged).toContain(
          "| Thu 1 Jan, 05:00 | vaultwarden | 102 | synology:backup/vzdump-qemu-102-2026_01_01-02_30_00.vma.zst | **failed**: zstd: corrupted block |",
        );
        expect(logged).toContain(
          "| Thu 1 Jan, 04:00 | homeassistant | 100 | synology:backup/vzdump-qemu-100-2026_01_01-02_00_00.vma.zst | ok |",
        );
        expect(logged).toContain(
          "### Restore tests (newest first)\n\n| time | guest | VMID | archive | result |\n|---|---|---|---|---|\n| Fri 2 Jan, 04:00 | homeassistant | 100 |",
        );

        const bad = await runCli(["report", "--config", path.join(dir, "nope.yaml")]);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/nope\.yaml: 1 problem\n {2}\(root\): cannot read file: ENOENT/);

        // --update: the same document inside the owner's page, the rest of the page byte for byte.
        const page = path.join(dir, "governance.md");
        const head = "# Backup governance\r\n\r\nWritten by the owner — keep.\r\n\r\n<!-- backup2mqtt:begin -->";
        const tail = "<!-- backup2mqtt:end -->\r\n\r\n## Decisions\r\n\r\n- Hyper Backup first.\r\n";
        fs.writeFileSync(page, `${head}\r\nan old report\r\n${tail}`);
        const updated = await runCli(["report", "--config", cfg, "--update", page], { S: t.secret });
        expect(updated.stderr).toBe("");
        expect(updated.code).toBe(0);
        expect(updated.stdout).toMatch(
          new RegExp(
            `^Updated ${page.replace(/[.\\/]/g, "\\$&")}: the report is on lines 6 to \\d+, between the backup2mqtt markers; nothing outside them changed\\.\\n$`,
          ),
        );
        const written = fs.readFileSync(page, "utf8");
        expect(written.startsWith(`${head}\r\n# Backup strategy — home\r\n`)).toBe(true);
        expect(written.endsWith(`\r\n${tail}`)).toBe(true);
        expect(written).not.toContain("an old report");
        expect(written).toContain(
          "5 guests: 0 ok, 0 stale, 0 failed, 5 missing, 0 running, 0 unknown. **5 with problems**",
        );
        expect(written.replace(/\r\n/g, "")).not.toContain("\n");
        expect(written).not.toContain(t.secret);

        // A page without markers: nothing read, nothing written, the way to fix it said.
        const plain = path.join(dir, "plain.md");
        fs.writeFileSync(plain, "# Notes\n");
        const refused = await runCli(["report", "--config", cfg, "--update", plain], { S: t.secret });
        expect(refused.code).toBe(2);
        expect(refused.stdout).toBe("");
        expect(refused.stderr).toBe(
          `Not updated: ${plain}: it has no backup2mqtt markers: put the two lines <!-- backup2mqtt:begin --> and <!-- backup2mqtt:end --> where the report should go.\n`,
        );
        expect(fs.readFileSync(plain, "utf8")).toBe("# Notes\n");
      } finally {
        await lab.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
