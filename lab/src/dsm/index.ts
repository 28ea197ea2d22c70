/**
 * The simulated Synology NAS: a real HTTPS server speaking the DSM Web API as DSM 6 and 7 do —
 * SYNO.API.Info discovery, the login of auth.ts (DSM 7's Noise IK encrypted login included),
 * Hyper Backup (backup-api.ts), system and storage reports (system-api.ts), sessions that expire,
 * error envelopes with HTTP 200. Requests reach an API at `/webapi/<cgi>?api=…` or, as DSM's own
 * UI sends `requestFormat: JSON` APIs, at `/webapi/entry.cgi/<API>` with JSON-encoded values.
 */
import type { Clock } from "../clock.js";
import { SimHttpsServer, type SimFault, type SimRecord, type SimRequest, type SimResponse } from "../https-base.js";
import { answersAt, apiTable } from "./apis.js";
import { createAuth } from "./auth.js";
import { createBackupApi, type SimTask } from "./backup-api.js";
import { type DsmRequest, fail, makeCtx, ok } from "./common.js";
import { type DsmScenario, DsmScenarioSchema, type ResolvedDsm } from "./scenario.js";
import { createSystemApi } from "./system-api.js";

export { type DsmScenario, DsmScenarioSchema } from "./scenario.js";
export type { SimTask } from "./backup-api.js";

export interface DsmLab {
  url: string;
  /** The NAS's network name (scenario `hostname`, default nas.home.arpa): the `server` of PVE storages on it. The lab listens on 127.0.0.1 whatever it says. */
  hostname: string;
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
    /** DSM 7 encrypted logins completed, and `X-SYNO-HASH` headers that verified or did not. */
    noise(): { handshakes: number; hashesVerified: number; hashesRejected: number };
  };
  stop(): Promise<void>;
}

/**
 * DSM reads a `requestFormat: JSON` API's parameters as JSON values (its UI sends `"name"` for a
 * string, synology-api's request_webapi_data json.dumps every value); a quoted string is unwrapped,
 * anything else (numbers, arrays like `additional`) stays as sent.
 */
function unwrapJson(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    let value = v;
    if (v.startsWith('"') && !["api", "method", "version", "_sid"].includes(k)) {
      try {
        const parsed = JSON.parse(v) as unknown;
        if (typeof parsed === "string") value = parsed;
      } catch {
        /* not JSON: as sent */
      }
    }
    out[k] = value;
  }
  return out;
}

export async function startDsmLab(o: {
  scenario: DsmScenario;
  clock: Clock;
  taskSpeed?: number;
  host?: string;
  port?: number;
}): Promise<DsmLab> {
  const sc = DsmScenarioSchema.parse(o.scenario);
  const ctx = makeCtx(sc, o.clock);
  const apis = apiTable(sc);
  const auth = createAuth(ctx, { unauthorized: () => server.fault?.kind === "unauthorized" });
  const backup = createBackupApi(ctx, o.taskSpeed ?? 1);
  const system = createSystemApi(ctx);

  const route = (req: SimRequest): SimResponse => {
    const now = o.clock.now();
    // "/webapi/entry.cgi" or "/webapi/entry.cgi/SYNO.API.Auth.UIConfig"
    const [, file = "", pathApi] = /^\/webapi\/([^/]+)(?:\/([^/]+))?$/.exec(req.path) ?? [];
    const apiName = req.params.api ?? pathApi;
    if (!apiName || !req.params.method || !req.params.version) return fail(101);
    const info = apis[apiName];
    if (!info || !answersAt(apiName, info, file, sc)) return fail(102);
    const version = Number(req.params.version);
    if (!(version >= info.minVersion && version <= info.maxVersion))
      return fail(apiName === "SYNO.API.Auth" ? 103 : 104);
    const r: DsmRequest = {
      api: apiName,
      method: req.params.method,
      version,
      params: info.requestFormat === "JSON" ? unwrapJson(req.params) : req.params,
      headers: req.headers,
    };

    if (apiName === "SYNO.API.Info") {
      if (r.method !== "query") return fail(103);
      const q = r.params.query;
      const wanted = !q || q === "all" ? Object.keys(apis) : q.split(",");
      return ok(Object.fromEntries(wanted.filter((k) => apis[k]).map((k) => [k, apis[k]])));
    }
    if (apiName === "SYNO.API.Auth" || apiName === "SYNO.API.Auth.UIConfig") return auth.handle(r);

    // Everything else needs a session.
    const s = auth.sessionOf(r);
    if ("error" in s) return s.error;
    const user = sc.users.find((u) => u.account === s.session.account)!;
    if (!user.admin) return fail(105);
    if (apiName.startsWith("SYNO.Backup.") || apiName.startsWith("SYNO.SDS.Backup.")) return backup.handle(r, now);
    return system.handle(r, now);
  };

  const handler = (req: SimRequest): SimResponse & { what?: string } => {
    if (!req.path.startsWith("/webapi/"))
      return { status: 404, body: "<html>404 Not Found</html>", contentType: "text/html" };
    const pathApi = /^\/webapi\/[^/]+\/([^/]+)$/.exec(req.path)?.[1];
    const what = `${req.params.api ?? pathApi ?? "?"} ${req.params.method ?? "?"}`;
    return { ...route(req), what };
  };

  // A revoked credential on DSM is not an HTTP 401: sessions end (119 on the next call) and the
  // login answers HTTP 200 with success:false — handled in auth.ts, not by the generic fault.
  const server = new SimHttpsServer(handler, { ownsUnauthorized: true });
  await server.listen(o.host ?? "127.0.0.1", o.port ?? 0);
  return {
    url: `https://127.0.0.1:${server.port}`,
    hostname: sc.hostname,
    fingerprint: server.fingerprint,
    certPem: server.certPem,
    name: sc.name,
    scenario: sc,
    requests: server.requests,
    control: {
      setFault: (f) => {
        if (f?.kind === "unauthorized") auth.clear();
        server.setFault(f);
      },
      expireSessions: () => auth.expireAll(),
      sessionCount: () => auth.sessionCount(),
      deviceTokens: () => auth.deviceTokens(),
      task: (id) => {
        backup.settle(o.clock.now());
        return backup.tasks.get(id);
      },
      noise: () => ({ ...auth.stats }),
    },
    stop: () => server.close(),
  };
}
