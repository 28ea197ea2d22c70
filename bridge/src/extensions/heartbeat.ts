/**
 * Heartbeat out: a dead man's switch for the bridge itself. After every successful refresh (every
 * Proxmox source read) the bridge pings a Healthchecks-style URL with a GET — `<url>/fail` while a
 * guest or an off-site device has a problem and `on_problem` is `fail` (Healthchecks.io then marks
 * the check down at once), else `<url>`. When the bridge stops, hangs or can no longer read Proxmox
 * VE, the pings stop and the outside monitor alerts after its own grace time.
 *
 * The URL is a secret (a Healthchecks.io ping URL holds the check's UUID): logs name only its host.
 * A ping that fails or times out is logged and never fatal; pings never overlap (a refresh that
 * comes while one is on its way is answered by one more ping with the newest state when it ends).
 * node:http/node:https are loaded only when a heartbeat is configured (not undici: it alone costs
 * ~20 MB of RSS).
 */
import type { HeartbeatConfig } from "../config/types.js";
import type { View } from "../core/view.js";
import type { Extension, ExtensionContext } from "./extension.js";

export interface PingResult {
  ok: boolean;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** Why the ping failed, without the URL (a sentence fragment: "connection refused", "HTTP 404"). */
  error?: string;
}

/** Sends one GET to `url`; resolves (never rejects) with how it went. `signal` aborts it (shutdown). */
export type Pinger = (url: string, signal: AbortSignal) => Promise<PingResult>;

/** The URL to ping: `<url>/fail` for a problem (before any query string), else the URL itself. */
export function pingUrl(base: string, fail: boolean): string {
  if (!fail) return base;
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/fail`;
  return u.toString();
}

/** Whether the view holds a problem the heartbeat reports: a guest's, a Hyper Backup task's or a PBS datastore's. */
export function hasProblem(view: View): boolean {
  if (!view.result) return false;
  return (
    view.result.guests.some((g) => g.problem) ||
    view.hyperBackupTasks.some((t) => t.verdict.problem) ||
    view.pbsDatastores.some((d) => d.verdict.problem)
  );
}

/** A refresh succeeded when there is an evaluation and every Proxmox source answered. */
export function refreshSucceeded(view: View): boolean {
  return view.result !== null && view.proxmox.every((s) => s.health.up);
}

const ERROR_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate (give heartbeat.ca_file)",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in the chain (give heartbeat.ca_file)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate not trusted (give heartbeat.ca_file)",
  ERR_TLS_CERT_ALTNAME_INVALID: "the certificate does not name the host",
  CERT_HAS_EXPIRED: "the certificate has expired",
};

/** A failed request in words that never hold the URL. */
function errorText(e: NodeJS.ErrnoException): string {
  const code = e.code ?? "";
  return ERROR_WORDS[code] ?? (code || "request failed");
}

/** GET pings with node:http / node:https (loaded here, on first use); `ca` for a self-hosted monitor's CA. */
export async function httpPinger(o: { timeoutMs: number; ca?: string }): Promise<Pinger> {
  const [http, https] = await Promise.all([import("node:http"), import("node:https")]);
  return (target, signal) =>
    new Promise<PingResult>((resolve) => {
      const u = new URL(target);
      let settled = false;
      const finish = (r: PingResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const options = {
        method: "GET",
        // A ping a minute: one short connection each, nothing kept open between pings.
        agent: false as const,
        headers: { "user-agent": "backup2mqtt", connection: "close" },
        signal,
        ...(o.ca && u.protocol === "https:" ? { ca: o.ca } : {}),
      };
      const onAnswer = (res: import("node:http").IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.on("end", () =>
          finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` }),
        );
        res.on("error", (e) => finish({ ok: false, status, error: errorText(e) }));
      };
      const req = u.protocol === "https:" ? https.request(u, options, onAnswer) : http.request(u, options, onAnswer);
      const timer = setTimeout(() => {
        finish({ ok: false, error: `no answer within ${o.timeoutMs / 1000} s` });
        req.destroy();
      }, o.timeoutMs);
      timer.unref();
      req.on("error", (e: NodeJS.ErrnoException) =>
        finish({ ok: false, error: e.name === "AbortError" ? "stopped" : errorText(e) }),
      );
      req.end();
    });
}

export interface HeartbeatOptions {
  /** Replaces the HTTP pinger (unit tests). */
  pinger?: Pinger;
}

/** The heartbeat extension; does nothing when the config has no `heartbeat:`. */
export function heartbeat(opts: HeartbeatOptions = {}): Extension {
  let off: (() => void) | undefined;
  let inFlight: Promise<void> | null = null;
  const abort = new AbortController();
  return {
    name: "heartbeat",
    async start(ctx: ExtensionContext) {
      const hb: HeartbeatConfig | undefined = ctx.cfg.heartbeat;
      if (!hb) return;
      const host = new URL(hb.url).host;
      const log = ctx.log.child({ part: "heartbeat", host });
      let ca: string | undefined;
      if (hb.caFile) {
        const fs = await import("node:fs");
        ca = fs.readFileSync(hb.caFile, "utf8");
      }
      const ping = opts.pinger ?? (await httpPinger({ timeoutMs: hb.timeoutMs, ...(ca ? { ca } : {}) }));
      let again = false;
      let failing: string | null = null;
      let pinged = 0;
      const sendOnce = async (): Promise<void> => {
        const fail = hb.onProblem === "fail" && hasProblem(ctx.view);
        const r = await ping(pingUrl(hb.url, fail), abort.signal);
        if (abort.signal.aborted) return;
        pinged++;
        const what = fail ? "fail" : "ok";
        if (r.ok) {
          if (failing !== null) log.info({ signal: what }, "heartbeat ping works again");
          else if (pinged === 1) log.info({ signal: what }, "heartbeat ping sent");
          else log.debug({ signal: what, status: r.status }, "heartbeat ping sent");
          failing = null;
        } else {
          failing = r.error ?? "failed";
          log.warn({ signal: what, error: failing }, `heartbeat ping to ${host} failed: ${failing}`);
        }
      };
      const send = (): void => {
        if (inFlight) {
          again = true;
          return;
        }
        inFlight = (async () => {
          do {
            again = false;
            try {
              await sendOnce();
            } catch (e) {
              // A pinger resolves; anything else is a bug here, logged and never fatal.
              log.warn({ error: (e as Error).name }, "heartbeat ping failed");
            }
          } while (again && !abort.signal.aborted);
        })().finally(() => {
          inFlight = null;
        });
      };
      let lastRefresh: number | null = null;
      const onView = (view: View): void => {
        if (view.lastRefreshMs === null || view.lastRefreshMs === lastRefresh) return;
        lastRefresh = view.lastRefreshMs;
        if (!refreshSucceeded(view)) {
          log.debug("heartbeat not sent: a Proxmox source could not be read on this refresh");
          return;
        }
        send();
      };
      off = ctx.bus.on("evaluated", onView);
      // Started after the first reading: that refresh counts too.
      onView(ctx.view);
    },
    async stop() {
      off?.();
      abort.abort();
      await inFlight;
    },
  };
}
