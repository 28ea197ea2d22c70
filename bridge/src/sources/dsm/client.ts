/**
 * Synology DSM Web API client (DSM 6 and 7): API discovery with SYNO.API.Info, SYNO.API.Auth
 * login with `format=sid`, a session name, the trusted-device token (2FA) under both of its names
 * (`device_id` on API v7, `did` on v6), re-login once on an expired session, logout on close.
 * Then the Hyper Backup calls, which Synology does not document: SYNO.Backup.Task list, status and
 * backup, SYNO.Backup.Target get and SYNO.SDS.Backup.Client.Common.Log list, with the parameters
 * community clients use (e.g. https://github.com/N4S4/synology-api).
 */
import { request, type Agent } from "undici";
import type { z } from "zod";
import { DsmError, dsmError } from "./errors.js";
import { ApiInfo, Envelope, LoginData, LogList, TargetInfo, TaskGet, TaskList, TaskStatus } from "./schemas.js";
import { transportKind, verifiedAgent } from "./tls.js";

export interface DsmClientOptions {
  url: string;
  username: string;
  password: string;
  session: string;
  deviceName: string;
  /** Trusted-device token from an earlier OTP login (skips 2FA). */
  deviceToken?: string;
  fingerprint?: string;
  caFile?: string;
  timeoutMs: number;
  /** A login returned a (non-empty) trusted-device token: persist it. */
  onDeviceToken?: (token: string) => void;
  /** A secret appeared (sid, device token): scrub it from logs. */
  onSecret?: (secret: string) => void;
}

const WANTED_APIS = ["SYNO.API.Auth", "SYNO.Backup.Task", "SYNO.Backup.Target", "SYNO.SDS.Backup.Client.Common.Log"];
/**
 * Fields the status call must ask for: without `additional` SYNO.Backup.Task status returns only
 * whether the task is configured correctly, not its last run (https://github.com/N4S4/synology-api/issues/77).
 */
export const STATUS_ADDITIONAL = [
  "last_bkp_time",
  "next_bkp_time",
  "last_bkp_result",
  "is_modified",
  "last_bkp_progress",
  "last_bkp_error",
  "last_bkp_success_time",
];

export class DsmClient {
  requestCount = 0;
  private readonly agent: Agent;
  private apis: ApiInfo | null = null;
  private sid: string | null = null;
  private synotoken: string | null = null;
  private authVersion = 7;
  /** Set by a login failure that must not be retried automatically (wrong password, 2FA, block). */
  private loginBlocked: DsmError | null = null;

  constructor(private readonly o: DsmClientOptions) {
    this.agent = verifiedAgent(o);
  }

  get loggedIn(): boolean {
    return this.sid !== null;
  }

  /** A refused login is waiting for a human (see `call`): no new login is tried until `resetLogin()`. */
  get loginRefused(): boolean {
    return this.loginBlocked !== null;
  }

  /** SYNO.API.Info: where each API lives and which versions it speaks. */
  async discover(): Promise<ApiInfo> {
    const data = await this.raw(
      "query.cgi",
      { api: "SYNO.API.Info", version: "1", method: "query", query: WANTED_APIS.join(",") },
      ApiInfo,
      { api: "SYNO.API.Info", method: "query" },
    );
    if (!data["SYNO.API.Auth"])
      throw new DsmError("schema", "SYNO.API.Info did not list SYNO.API.Auth: is this a Synology DSM?");
    this.apis = data;
    return data;
  }

  /**
   * Logs in. With `otp`, asks for a trusted-device token (first 2FA login); otherwise sends the
   * stored device token, if any. API v7 on DSM 7, v6 on DSM 6 (maxVersion from discovery).
   */
  async login(otp?: string): Promise<{ deviceToken?: string }> {
    const apis = this.apis ?? (await this.discover());
    const auth = apis["SYNO.API.Auth"]!;
    this.authVersion = Math.max(auth.minVersion, Math.min(7, auth.maxVersion));
    const params: Record<string, string> = {
      api: "SYNO.API.Auth",
      version: String(this.authVersion),
      method: "login",
      account: this.o.username,
      passwd: this.o.password,
      session: this.o.session,
      format: "sid",
      enable_syno_token: "yes",
    };
    if (otp) Object.assign(params, { otp_code: otp, enable_device_token: "yes", device_name: this.o.deviceName });
    else if (this.o.deviceToken)
      Object.assign(params, { device_id: this.o.deviceToken, device_name: this.o.deviceName });
    let data: z.infer<typeof LoginData>;
    try {
      data = await this.raw(auth.path, params, LoginData, { api: "SYNO.API.Auth", method: "login", login: true });
    } catch (e) {
      if (e instanceof DsmError && ["auth", "otp_required", "otp_invalid", "blocked", "permission"].includes(e.kind))
        this.loginBlocked = e;
      throw e;
    }
    this.loginBlocked = null;
    this.sid = data.sid;
    this.o.onSecret?.(data.sid);
    this.synotoken = data.synotoken && data.synotoken !== "--------" ? data.synotoken : null;
    // DSM 7 answers `device_id`, DSM 6 `did`; some 7.0.1 builds answer "" (keep the old one then).
    const token = data.device_id || data.did || undefined;
    if (token) {
      this.o.onSecret?.(token);
      this.o.onDeviceToken?.(token);
    }
    return { deviceToken: token };
  }

  /** Ends the session so it does not linger in DSM's "connected users". Never throws. */
  async logout(): Promise<void> {
    if (!this.sid || !this.apis) return;
    const auth = this.apis["SYNO.API.Auth"]!;
    try {
      await this.raw(
        auth.path,
        {
          api: "SYNO.API.Auth",
          version: String(this.authVersion),
          method: "logout",
          session: this.o.session,
          _sid: this.sid,
        },
        null,
        { api: "SYNO.API.Auth", method: "logout" },
      );
    } catch {
      /* the session ends anyway */
    }
    this.sid = null;
  }

  async close(): Promise<void> {
    await this.logout();
    await this.agent.close();
  }

  /**
   * Calls an API method with the session, logging in first when needed and once more when DSM
   * says the session expired (106/107/119). A login failure that needs a human (wrong password,
   * 2FA) is not retried on every poll: it is returned until `resetLogin()`.
   */
  async call<T>(
    api: string,
    method: string,
    params: Record<string, string>,
    schema: z.ZodType<T> | null,
    version?: number,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (!this.sid) {
        if (this.loginBlocked) throw this.loginBlocked;
        await this.login();
      }
      const info = this.apis?.[api];
      if (!info)
        throw new DsmError(
          "api",
          `${api} is not available on this NAS (is Hyper Backup installed and up to date?)`,
          102,
        );
      try {
        return await this.raw(
          info.path,
          { api, version: String(version ?? info.minVersion), method, ...params, _sid: this.sid! },
          schema,
          { api, method },
        );
      } catch (e) {
        if (e instanceof DsmError && e.kind === "session" && attempt === 0) {
          this.sid = null;
          continue;
        }
        throw e;
      }
    }
  }

  /** Forget a blocking login failure (e.g. after `dsm-login` stored a device token). */
  resetLogin(deviceToken?: string): void {
    this.loginBlocked = null;
    if (deviceToken) this.o.deviceToken = deviceToken;
  }

  // --- Hyper Backup ----------------------------------------------------------------------------

  /** With each task's source (folders, excludes) and schedule, where DSM 7 gives them in the list. */
  listTasks() {
    return this.call(
      "SYNO.Backup.Task",
      "list",
      {
        additional: JSON.stringify([
          "last_bkp_time",
          "last_bkp_result",
          "is_modified",
          "progress_title_type",
          "source",
          "schedule",
        ]),
      },
      TaskList,
      1,
    );
  }

  /** A task's whole config (its source and schedule), for a DSM whose task list did not carry the source. */
  taskGet(taskId: number) {
    return this.call("SYNO.Backup.Task", "get", { task_id: String(taskId) }, TaskGet, 1);
  }

  taskStatus(taskId: number) {
    return this.call(
      "SYNO.Backup.Task",
      "status",
      { task_id: String(taskId), blOnline: "false", additional: JSON.stringify(STATUS_ADDITIONAL) },
      TaskStatus,
      1,
    );
  }

  targetInfo(taskId: number) {
    return this.call(
      "SYNO.Backup.Target",
      "get",
      { task_id: String(taskId), additional: JSON.stringify(["is_online", "used_size"]) },
      TargetInfo,
      1,
    );
  }

  /** Starts a backup now ("not backupable" → a 44xx error). */
  async startBackup(taskId: number): Promise<void> {
    await this.call("SYNO.Backup.Task", "backup", { task_id: String(taskId) }, null, 1);
  }

  /** Hyper Backup log lines about integrity checks (their result is written nowhere else), newest first. */
  async integrityLog(): Promise<{ event: string; time: string }[]> {
    const data = await this.call(
      "SYNO.SDS.Backup.Client.Common.Log",
      "list",
      { limit: "200", offset: "0", filter_keyword: "integrity check" },
      LogList,
      1,
    );
    return data.log_list;
  }

  // --- transport -------------------------------------------------------------------------------

  private async raw<T>(
    path: string,
    params: Record<string, string>,
    schema: z.ZodType<T> | null,
    ctx: { api: string; method: string; login?: boolean },
  ): Promise<T> {
    this.requestCount++;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.o.url}/webapi/${path}`, {
        method: "POST",
        dispatcher: this.agent,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          ...(this.synotoken ? { "x-syno-token": this.synotoken } : {}),
        },
        body: new URLSearchParams(params).toString(),
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
    } catch (e) {
      const t = transportKind(e);
      throw new DsmError(t.kind, `NAS unreachable: ${t.message}`);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      const t = transportKind(e);
      throw new DsmError(t.kind, `NAS unreachable: ${t.message}`);
    }
    // DSM answers errors as JSON with HTTP 200; anything else is a proxy or a broken NAS.
    if (res.statusCode >= 400)
      throw new DsmError("http", `${ctx.api} ${ctx.method}: HTTP ${res.statusCode} from the NAS`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DsmError("parse", `${ctx.api} ${ctx.method}: answer is not JSON (${text.length} bytes)`);
    }
    const env = Envelope.safeParse(json);
    if (!env.success) throw new DsmError("schema", `${ctx.api} ${ctx.method}: answer has no success flag`);
    if (!env.data.success) {
      const code = env.data.error?.code;
      if (code === undefined) throw new DsmError("api", `${ctx.api} ${ctx.method}: failed without an error code`);
      throw dsmError(code, ctx);
    }
    if (!schema) return undefined as T;
    const parsed = schema.safeParse(env.data.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DsmError(
        "schema",
        `${ctx.api} ${ctx.method}: unexpected answer at data${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${issue.message}`,
      );
    }
    return parsed.data;
  }
}
