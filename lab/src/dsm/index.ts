/**
 * The simulated Synology NAS: a real HTTPS server speaking the DSM Web API as DSM 6 and 7 do —
 * SYNO.API.Info discovery, SYNO.API.Auth for DSM 6 (auth.cgi, v6, `did`) and
 * DSM 7 (entry.cgi, v7, `device_id`), 2FA with trusted-device tokens, sessions that expire,
 * error envelopes with HTTP 200, and Hyper Backup tasks whose times are NAS-local strings
 * ("" when never run), `4401` on healthy tasks, string sizes while a backup runs.
 */
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import { DsmScenarioSchema, type DsmTaskSchema, type DsmScenario, type ResolvedDsm } from "./scenario.js";
import type { Clock } from "../clock.js";
import { formatNasTime, nextDailyRun } from "./time.js";
export { DsmScenarioSchema, type DsmScenario } from "./scenario.js";
import { SimHttpsServer, type SimFault, type SimRecord, type SimResponse } from "../https-base.js";

const AGE_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const ageMs = (t: string) =>
  [...t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)].reduce((a, m) => a + Number(m[1]) * AGE_UNIT[m[2]!]! * 1000, 0);
const at = (w: { age?: string; time?: string } | undefined, start: number): number | null =>
  w ? (w.time ? Date.parse(w.time) : start - ageMs(w.age ?? "0s")) : null;

interface SimTask {
  cfg: z.output<typeof DsmTaskSchema>;
  state: string;
  status: string;
  result: string;
  lastAttemptMs: number | null;
  lastEndMs: number | null;
  lastSuccessMs: number | null;
  errorCode: number;
  error: string;
  run: { startMs: number; endMs: number } | null;
  integrity: { timeMs: number; ok: boolean } | null;
}

export interface DsmLab {
  url: string;
  fingerprint: string;
  certPem: string;
  name: string;
  scenario: ResolvedDsm;
  requests: SimRecord[];
  control: {
    setFault(f: SimFault | null): void;
    /** Every session answers 106 (timeout) from now on, as after DSM's session lifetime. */
    expireSessions(): void;
    sessionCount(): number;
    /** Trusted-device tokens issued so far. */
    deviceTokens(): string[];
    task(id: number): SimTask | undefined;
  };
  stop(): Promise<void>;
}

const token86 = () => randomBytes(64).toString("base64url").slice(0, 86);

export async function startDsmLab(o: {
  scenario: DsmScenario;
  clock: Clock;
  taskSpeed?: number;
  host?: string;
  port?: number;
}): Promise<DsmLab> {
  const sc = DsmScenarioSchema.parse(o.scenario);
  const clock = o.clock;
  const speed = o.taskSpeed ?? 1;
  const start = clock.now();
  const tz = sc.timezone;
  const tasks = new Map<number, SimTask>(
    sc.tasks.map((t) => [
      t.id,
      {
        cfg: t,
        state: t.state,
        status: t.status,
        result: t.lastAttempt ? t.result : "none",
        lastAttemptMs: at(t.lastAttempt, start),
        lastEndMs: at(t.lastAttempt, start) === null ? null : at(t.lastAttempt, start)! + 60_000,
        lastSuccessMs: at(t.lastSuccess, start),
        errorCode: t.errorCode,
        error: t.error,
        run: null,
        integrity: t.integrity ? { timeMs: at(t.integrity, start)!, ok: t.integrity.ok } : null,
      },
    ]),
  );
  const sessions = new Map<string, { account: string; expired: boolean }>();
  const deviceTokens = new Map<string, string>(); // token → account
  const authPath = sc.dsm === 6 ? "auth.cgi" : "entry.cgi";
  const apis: Record<string, { path: string; minVersion: number; maxVersion: number; requestFormat?: string }> = {
    "SYNO.API.Info": { path: "query.cgi", minVersion: 1, maxVersion: 1 },
    "SYNO.API.Auth": { path: authPath, minVersion: 1, maxVersion: sc.dsm === 6 ? 6 : 7 },
    "SYNO.Backup.Task": { path: "entry.cgi", minVersion: 1, maxVersion: 2, requestFormat: "JSON" },
    "SYNO.Backup.Target": { path: "entry.cgi", minVersion: 1, maxVersion: 2, requestFormat: "JSON" },
    "SYNO.SDS.Backup.Client.Common.Log": { path: "entry.cgi", minVersion: 1, maxVersion: 1, requestFormat: "JSON" },
  };

  const fmt = (ms: number | null) => (ms === null ? "" : formatNasTime(ms, tz, sc.secondsInTimes));
  const settle = (now: number) => {
    for (const t of tasks.values()) {
      if (t.run && now >= t.run.endMs) {
        t.lastEndMs = t.run.endMs;
        t.result = t.cfg.runResult;
        if (t.result === "done") t.lastSuccessMs = t.run.endMs;
        t.status = "none";
        t.run = null;
      }
    }
  };
  const nextRun = (t: SimTask, now: number): number | null =>
    t.cfg.schedule ? nextDailyRun(t.cfg.schedule, now, tz) : null;
  const ok = (data?: unknown): SimResponse => ({
    status: 200,
    body: JSON.stringify(data === undefined ? { success: true } : { data, success: true }),
  });
  const fail = (code: number, errors?: unknown): SimResponse => ({
    status: 200,
    body: JSON.stringify({ error: { code, ...(errors ? { errors } : {}) }, success: false }),
  });

  const listItem = (t: SimTask) => ({
    task_id: t.cfg.id,
    name: t.cfg.name,
    state: t.state,
    status: t.status,
    last_bkp_result: t.run ? "backingup" : t.result,
    last_bkp_time: fmt(t.lastAttemptMs),
    last_bkp_end_time: fmt(t.lastEndMs),
    is_modified: false,
    data_enc: false,
    data_type: "data",
    ext3ShareList: [],
    repo_id: t.cfg.id,
    target_id: t.cfg.transfer_type === "image_remote" ? `vault_${t.cfg.id}.hbk` : "ds.hbk",
    target_type: t.cfg.target_type,
    transfer_type: t.cfg.transfer_type,
    type: `${t.cfg.target_type}:${t.cfg.transfer_type}`,
  });
  const statusOf = (t: SimTask, now: number, additional: boolean) => {
    const base = { task_id: t.cfg.id, state: t.state, status: t.status };
    if (!additional) return base; // without `additional`, DSM answers only the task's config state
    const running = t.run !== null;
    const pct = running
      ? Math.min(99, Math.floor(((now - t.run!.startMs) / (t.run!.endMs - t.run!.startMs)) * 100))
      : 0;
    const total = 1_202_233_000;
    return {
      ...base,
      last_bkp_result: running ? "backingup" : t.result,
      last_bkp_error: t.error,
      last_bkp_error_code: t.errorCode,
      last_bkp_progress: 73,
      last_bkp_time: fmt(t.lastAttemptMs),
      last_bkp_end_time: fmt(t.lastEndMs),
      last_bkp_success_time: fmt(t.lastSuccessMs),
      next_bkp_time: fmt(nextRun(t, now)),
      schedule: {
        schedule_enable: !!t.cfg.schedule,
        schedule: {
          date_type: 0,
          hour: Number(t.cfg.schedule?.slice(0, 2) ?? 0),
          min: Number(t.cfg.schedule?.slice(3) ?? 0),
          week_name: "0,1,2,3,4,5,6",
          repeat: 0,
        },
      },
      ...(running
        ? {
            progress: {
              step: pct < 5 ? "backup_prepare" : "data_backup",
              progress: pct,
              title_type: "backingup",
              processed_size: String(Math.floor((total * pct) / 100)),
              total_size: String(total),
              transmitted_size: String(Math.floor((total * pct) / 130)),
              scan_file_count: "16699",
              avg_speed: 0,
              can_cancel: true,
              can_suspend: true,
              current_app: "",
              current_app_percent: "0",
              app_list: [],
              app_done_list: [],
            },
          }
        : {}),
    };
  };
  const logList = (filter: string | undefined) => {
    const entries: { time: number; event: string }[] = [];
    for (const t of tasks.values()) {
      if (t.integrity)
        entries.push({
          time: t.integrity.timeMs,
          event: t.integrity.ok
            ? `[Network][${t.cfg.name}] Backup integrity check is finished. No error was found.`
            : `[Network][${t.cfg.name}] Backup integrity check has failed. The backup target is found broken.`,
        });
      if (t.lastSuccessMs !== null)
        entries.push({
          time: t.lastSuccessMs,
          event: `[Network][${t.cfg.name}] Backup task finished successfully. [Total transferred: 1.2 GB]`,
        });
    }
    return entries
      .filter((e) => !filter || e.event.toLowerCase().includes(filter.toLowerCase()))
      .sort((a, b) => b.time - a.time)
      .map((e, i) => ({
        id: i + 1,
        level: "info",
        user: "SYSTEM",
        time: formatNasTime(e.time, tz, true),
        event: e.event,
      }));
  };

  const handler = (req: { path: string; params: Record<string, string> }): SimResponse & { what?: string } => {
    const now = clock.now();
    settle(now);
    const p = req.params;
    const what = `${p.api ?? "?"} ${p.method ?? "?"}`;
    const reply = (r: SimResponse) => ({ ...r, what });
    const file = req.path.replace(/^\/webapi\//, "");
    if (!req.path.startsWith("/webapi/"))
      return { status: 404, body: "<html>404 Not Found</html>", contentType: "text/html" };
    if (!p.api || !p.method || !p.version) return reply(fail(101));
    const api = apis[p.api];
    if (!api) return reply(fail(102));
    if (api.path !== file && !(p.api === "SYNO.API.Auth" && file === "auth.cgi")) return reply(fail(102));
    const version = Number(p.version);
    if (!(version >= api.minVersion && version <= api.maxVersion))
      return reply(fail(p.api === "SYNO.API.Auth" ? 103 : 104));

    if (p.api === "SYNO.API.Info") {
      if (p.method !== "query") return reply(fail(103));
      const wanted = !p.query || p.query === "all" ? Object.keys(apis) : p.query.split(",");
      return reply(ok(Object.fromEntries(wanted.filter((k) => apis[k]).map((k) => [k, apis[k]]))));
    }
    if (p.api === "SYNO.API.Auth") {
      if (p.method === "logout") {
        if (p._sid) sessions.delete(p._sid);
        return reply(ok());
      }
      if (p.method !== "login") return reply(fail(103));
      const user = sc.users.find((u) => u.account === p.account);
      if (!user || user.password !== p.passwd) return reply(fail(400));
      // Fault "unauthorized": an administrator disabled the account (DSM's login error 401).
      if (server.fault?.kind === "unauthorized") return reply(fail(401));
      if (!user.admin && p.session !== "webui") return reply(fail(402));
      let newToken: string | undefined;
      if (user.otp) {
        const trusted = p.device_id && deviceTokens.get(p.device_id) === user.account;
        if (!trusted) {
          if (!p.otp_code)
            return reply(
              fail(403, { token: "token", types: [{ type: "authenticator" }, { type: "fido" }, { type: "otp" }] }),
            );
          if (p.otp_code !== user.otp) return reply(fail(404));
          if (p.enable_device_token === "yes") {
            newToken = token86();
            deviceTokens.set(newToken, user.account);
          }
        }
      }
      const sid = token86();
      sessions.set(sid, { account: user.account, expired: false });
      const tokenField = version >= 7 ? "device_id" : "did";
      const data: Record<string, unknown> = { sid, is_portal_port: false };
      if (version >= 7) Object.assign(data, { account: user.account, ik_message: "" });
      if (newToken !== undefined) data[tokenField] = sc.emptyDeviceId ? "" : newToken;
      if (p.enable_syno_token === "yes") data.synotoken = token86().slice(0, 22);
      return reply(ok(data));
    }

    // Everything else needs a session.
    const session = p._sid ? sessions.get(p._sid) : undefined;
    if (!session) return reply(fail(119));
    if (session.expired) {
      sessions.delete(p._sid!);
      return reply(fail(106));
    }
    const user = sc.users.find((u) => u.account === session.account)!;
    if (!user.admin) return reply(fail(105));

    if (p.api === "SYNO.Backup.Task") {
      if (p.method === "list")
        return reply(
          ok({
            is_data_restoring: false,
            is_downloading: false,
            is_restoring: false,
            total: tasks.size,
            task_list: [...tasks.values()].map(listItem),
          }),
        );
      const t = tasks.get(Number(p.task_id));
      if (!["status", "get", "backup", "cancel"].includes(p.method)) return reply(fail(103));
      if (!t) return reply(fail(4400));
      if (p.method === "status") return reply(ok(statusOf(t, now, !!p.additional)));
      if (p.method === "get")
        return reply(
          ok({
            task_id: t.cfg.id,
            name: t.cfg.name,
            state: t.state,
            type: `${t.cfg.target_type}:${t.cfg.transfer_type}`,
          }),
        );
      if (p.method === "backup") {
        if (t.run || t.state !== "backupable") return reply(fail(4401 + 1)); // not backupable (simulated 44xx)
        t.run = { startMs: now, endMs: now + (t.cfg.backupSeconds * 1000) / speed };
        t.status = "backup";
        t.lastAttemptMs = now;
        return reply(ok());
      }
      if (t.run) {
        t.run = null;
        t.status = "none";
        t.result = "cancel";
      }
      return reply(ok());
    }
    if (p.api === "SYNO.Backup.Target") {
      if (p.method !== "get") return reply(fail(103));
      const t = tasks.get(Number(p.task_id));
      if (!t) return reply(fail(4400));
      return reply(
        ok({
          format_type: "image",
          host_name: "synology_nas",
          is_online: t.state !== "restore_only",
          ...(t.state !== "restore_only" ? { used_size: 2_000_000_000 } : {}),
          last_detect_time: fmt(t.integrity?.timeMs ?? null),
          support_multi_version: true,
        }),
      );
    }
    if (p.api === "SYNO.SDS.Backup.Client.Common.Log") {
      if (p.method !== "list") return reply(fail(103));
      if (p.filter_level !== undefined) return reply(fail(120));
      const all = logList(p.filter_keyword);
      const offset = Number(p.offset ?? 0);
      const limit = Number(p.limit ?? 50);
      return reply(ok({ log_list: all.slice(offset, offset + limit), total: all.length }));
    }
    return reply(fail(103));
  };

  // A revoked credential on DSM is not an HTTP 401: sessions end (119 on the next call) and the
  // login answers HTTP 200 with success:false — handled above, not by the generic fault.
  const server = new SimHttpsServer(handler, { ownsUnauthorized: true });
  await server.listen(o.host ?? "127.0.0.1", o.port ?? 0);
  return {
    url: `https://127.0.0.1:${server.port}`,
    fingerprint: server.fingerprint,
    certPem: server.certPem,
    name: sc.name,
    scenario: sc,
    requests: server.requests,
    control: {
      setFault: (f) => {
        if (f?.kind === "unauthorized") sessions.clear();
        server.setFault(f);
      },
      expireSessions: () => {
        for (const s of sessions.values()) s.expired = true;
      },
      sessionCount: () => [...sessions.values()].filter((s) => !s.expired).length,
      deviceTokens: () => [...deviceTokens.keys()],
      task: (id) => {
        settle(clock.now());
        return tasks.get(id);
      },
    },
    stop: () => server.close(),
  };
}
