/**
 * What a newcomer gets from `npm start`: the compiled CLI's demo, observed over MQTT only.
 * (npm test builds first, so bridge/dist exists.)
 */
import { execFile } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import type { Observer } from "../support/observer.js";
import { type DemoCli, startDemoCli } from "../support/demo-cli.js";

let demo: DemoCli | undefined;
let observer: Observer | undefined;

afterEach(async () => {
  await demo?.stop();
  demo = observer = undefined;
});

async function startDemo(args: string[]) {
  demo = await startDemoCli(args, ["homeassistant/device/+/config", "backup2mqtt/#"]);
  observer = demo.observer;
  return { t0: demo.t0, httpPort: demo.httpPort, banner: demo.banner, output: demo.output };
}

/** Runs a command line the way a person pasting it into a shell does; resolves with its stdout. */
function shell(line: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("sh", ["-c", line], { timeout: 15_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${line}: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

describe("npm start (the demo)", () => {
  it("shows 5 guest devices + the bridge and the statuses ok, stale, failed, missing within 45 s", async () => {
    const { t0, httpPort } = await startDemo([]);
    const o = observer!;
    const statuses = await o.until(
      "every status",
      () => {
        // Guest + bridge devices (Hyper Backup task and PBS datastore devices are counted below).
        const configs = [...o.last.entries()].filter(
          ([t, p]) => t.startsWith("homeassistant/device/backup2mqtt_") && !/_(hyperbackup|pbs)_/.test(t) && p,
        ).length;
        const st = new Set(
          [...o.last.entries()]
            .filter(([t]) => /^backup2mqtt\/guest\/[^/]+\/state$/.test(t))
            .map(([, p]) => JSON.parse(p).status),
        );
        return configs === 6 && ["ok", "stale", "failed", "missing"].every((s) => st.has(s)) && st;
      },
      45_000,
    );
    expect([...statuses]).toEqual(expect.arrayContaining(["ok", "stale", "failed", "missing"]));
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(45_000);
    process.stderr.write(`demo: discovery + all statuses after ${elapsed} ms\n`);
    // The off-site layer: Hyper Backup task devices, a PBS datastore device, guests with last_offsite.
    await o.until(
      "off-site devices",
      () =>
        o.json("homeassistant/device/backup2mqtt_home_hyperbackup_2/config") &&
        o.json("homeassistant/device/backup2mqtt_home_pbs_store1/config") &&
        o.json("backup2mqtt/guest/home_100/state")?.last_offsite,
      20_000,
    );
    const api = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/guests`)).json()) as {
      guests: { id: string }[];
    };
    expect(api.guests.map((g) => g.id)).toEqual(["home_100", "home_101", "home_102", "home_103", "home_105"]);
  }, 60_000);

  it('publishing {"action":"backup"} for vaultwarden (102) shows running, then a new last backup and ok within 60 s', async () => {
    await startDemo([]);
    const o = observer!;
    const before = await o.until(
      "102 failed",
      () =>
        o.json("backup2mqtt/guest/home_102/state")?.status === "failed" && o.json("backup2mqtt/guest/home_102/state"),
    );
    const t0 = Date.now();
    await o.publish("backup2mqtt/guest/home_102/command", '{"action":"backup"}');
    await o.until("running", () => o.json("backup2mqtt/guest/home_102/state")?.running === true, 10_000);
    const after = await o.until(
      "ok",
      () => o.json("backup2mqtt/guest/home_102/state")?.status === "ok" && o.json("backup2mqtt/guest/home_102/state"),
      60_000,
    );
    expect(Date.parse(after.last_backup)).toBeGreaterThan(Date.parse(before.last_backup));
    process.stderr.write(`demo: 102 backup pressed → ok after ${Date.now() - t0} ms\n`);
  }, 90_000);

  it("--scenario seed: all five missing with a problem naming the disabled jobs; tiers 100→P0, 102→P1, others P2", async () => {
    await startDemo(["--scenario", "seed"]);
    const o = observer!;
    const ids = ["home_100", "home_101", "home_102", "home_103", "home_105"];
    const states = await o.until("5 states", () => {
      const s = ids.map((id) => o.json(`backup2mqtt/guest/${id}/state`));
      return s.every(Boolean) && s;
    });
    expect(states.map((s: any) => [s.vmid, s.status, s.problem, s.tier])).toEqual([
      [100, "missing", true, "P0"],
      [101, "missing", true, "P2"],
      [102, "missing", true, "P1"],
      [103, "missing", true, "P2"],
      [105, "missing", true, "P2"],
    ]);
    // The seed's jobs by tier, all disabled: no backup, and the guest's job named.
    const jobs = ["backup-p0-daily", "backup-p2-weekly", "backup-p1-daily", "backup-p2-weekly", "backup-p2-weekly"];
    expect((states as any[]).map((s) => [s.reasons, s.findings.map((f: any) => [f.code, f.reason])])).toEqual(
      jobs.map((job) => {
        const disabled = `Backup job ${job} selects this guest but is disabled.`;
        return [["No backup of this guest exists on any storage.", disabled], [["unprotected", disabled]]];
      }),
    );
  }, 60_000);

  it("the banner's curl line starts a backup (202) with the run's HTTP token; a wrong or missing token is refused; the token appears only in the banner", async () => {
    // Debug logging: the most the bridge ever logs, so a token in any log line would show.
    const { httpPort, banner, output } = await startDemo(["--log-level", "debug"]);
    const o = observer!;
    const token = /HTTP token:\s+([0-9a-f]{32})\s/.exec(banner)?.[1];
    expect(token).toBeTruthy();
    const curl =
      /^ {4}(curl -X POST -H 'Authorization: Bearer [0-9a-f]+' http:\/\/127\.0\.0\.1:\d+\/api\/v1\/guests\/(\w+)\/backup)$/m.exec(
        banner,
      );
    expect(curl, banner).toBeTruthy();
    const line = curl![1]!;
    const guest = curl![2]!;
    expect(line).toContain(`Bearer ${token}'`);
    expect(line).toContain(`http://127.0.0.1:${httpPort}/`);
    await o.until("the guest's state", () => o.json(`backup2mqtt/guest/${guest}/state`));

    // The printed line, as pasted; -w adds the status code after the body.
    const status = (out: string) => out.trim().split("\n").at(-1);
    const accepted = await shell(`${line} -sS -w '\n%{http_code}'`);
    expect(status(accepted), accepted).toBe("202");
    expect(JSON.parse(accepted.trim().split("\n").slice(0, -1).join("\n"))).toMatchObject({ ok: true });
    await o.until("running", () => o.json(`backup2mqtt/guest/${guest}/state`)?.running === true, 15_000);

    const wrong = line.replace(token!, "0".repeat(32));
    expect(status(await shell(`${wrong} -sS -w '\n%{http_code}'`))).toBe("401");
    const none = line.replace(/-H 'Authorization: [^']*' /, "");
    expect(none).not.toContain("Authorization");
    expect(status(await shell(`${none} -sS -w '\n%{http_code}'`))).toBe("401");

    // The status page's Back up now form takes the same token (and refuses a wrong one before anything runs).
    const form = (t: string) =>
      fetch(`http://127.0.0.1:${httpPort}/guests/home_103/backup`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `token=${encodeURIComponent(t)}`,
      });
    const page = await (await fetch(`http://127.0.0.1:${httpPort}/`)).text();
    expect(page).toContain('name="token"');
    expect((await form("wrong")).status).toBe(401);
    expect((await form(token!)).status).toBe(202);
    await o.until("103 running", () => o.json("backup2mqtt/guest/home_103/state")?.running === true, 15_000);

    // Give the debug log time to record the requests, then look for the token everywhere the demo wrote.
    await new Promise((r) => setTimeout(r, 1000));
    const lines = output.join("").split("\n");
    // The log did record the HTTP actions (otherwise "no token in it" would prove little).
    expect(lines.filter((l) => /"from":"http".*"msg":"command accepted"/.test(l)).length).toBe(2);
    const withToken = lines.filter((l) => [token!, Buffer.from(token!).toString("base64")].some((v) => l.includes(v)));
    expect(withToken).toEqual([expect.stringMatching(/^ {2}HTTP token: /), `    ${line}`]);
  }, 60_000);
});
