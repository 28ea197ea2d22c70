/**
 * The status page: server-rendered HTML, problems first, readable on a phone, no JavaScript.
 * "Back up now" is a plain form per guest that needs the HTTP token (a form cannot send an
 * Authorization header, so the token travels in the form body; a forged cross-site form cannot
 * know it).
 *
 * Every link and form action is relative to the page, so the page also works under a path prefix:
 * Home Assistant's ingress serves an app's page under /api/hassio_ingress/<token>/ and strips that
 * prefix before the request reaches the bridge (the prefix arrives as X-Ingress-Path; the proxy is
 * homeassistant/components/hassio/ingress.py in home-assistant/core).
 */
import crypto from "node:crypto";
import express, { type Request, type Response } from "express";
import type { HttpContext } from "./context.js";
import type { Config } from "../../config/load.js";
import type { Evidence, SourceHealth } from "../../evidence.js";
import type { GuestState, PolicyResult } from "../../policy/types.js";
import { formatDuration } from "../../util/duration.js";
import { statusWord } from "../../words/render.js";
import { VERSION } from "../../util/version.js";
import { ageMs, copiesOf, problemsFirst, shortTime } from "../../report/facts.js";
import { formatBytes } from "../../report/format.js";
import { secretMatches } from "./auth.js";
import { formBody } from "./limits.js";
import { outcomeStatus } from "./routes.js";

export const esc = (v: unknown): string =>
  String(v ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--muted:#5b6570;--line:#dde1e6;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;--unk:#6e7781}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9aa4ae;--line:#30363d;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--info:#58a6ff;--unk:#8b949e}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header,main,footer{max-width:72rem;margin:0 auto;padding:.75rem 1rem}
h1{font-size:1.35rem;margin:.25rem 0}
h2{font-size:1.1rem;margin:0;overflow-wrap:anywhere}
h2 small{font-weight:normal;color:var(--muted);font-size:.85rem;display:block}
.summary{color:var(--muted);margin:.25rem 0}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0;padding:0;list-style:none}
.banner{border-radius:.5rem;padding:.6rem .8rem;margin:.5rem 0;border:1px solid var(--line);background:var(--card);overflow-wrap:anywhere}
.banner.bad{border-color:var(--bad)}.banner.good{border-color:var(--ok)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.75rem}
.guest{background:var(--card);border:1px solid var(--line);border-left:.35rem solid var(--unk);border-radius:.5rem;padding:.75rem}
.guest.s-ok{border-left-color:var(--ok)}.guest.s-running{border-left-color:var(--info)}
.guest.s-stale{border-left-color:var(--warn)}.guest.s-failed,.guest.s-missing{border-left-color:var(--bad)}
.guest.problem{box-shadow:0 0 0 1px var(--bad) inset}
.head{display:flex;justify-content:space-between;align-items:flex-start;gap:.5rem}
.badge{display:inline-block;border-radius:1rem;padding:.05rem .6rem;font-size:.85rem;font-weight:600;color:#fff;background:var(--unk);white-space:nowrap}
.b-ok{background:var(--ok)}.b-running{background:var(--info)}.b-stale{background:var(--warn)}.b-failed,.b-missing,.b-problem{background:var(--bad)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem;margin:.6rem 0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
ul.reasons{margin:.4rem 0;padding-left:1.1rem;font-size:.92rem}
ul.reasons li{margin:.15rem 0;overflow-wrap:anywhere}
details{margin-top:.5rem}summary{cursor:pointer;color:var(--info);font-weight:600;padding:.3rem 0}
form{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin-top:.3rem}
input[type=password]{flex:1 1 10rem;min-width:0;padding:.5rem;border:1px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg);font-size:1rem}
button{padding:.5rem .9rem;border:0;border-radius:.4rem;background:var(--info);color:#fff;font-weight:600;font-size:1rem}
.note{color:var(--muted);font-size:.9rem}
.fallback{margin:.4rem 0;font-size:.92rem;overflow-wrap:anywhere}.fb-planned,.fb-running{color:var(--info)}.fb-failed{color:var(--bad)}
footer{color:var(--muted);font-size:.85rem}
footer a{color:var(--info)}
`;
const CSS_HASH = `'sha256-${crypto.createHash("sha256").update(CSS).digest("base64")}'`;
/** Only the inline style above, forms back to this origin, nothing else. */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src ${CSS_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
/**
 * Behind Home Assistant's ingress the page is shown in a frame of Home Assistant's own page, on the
 * same origin: frame-ancestors 'self' there, 'none' everywhere else. A browser ignores the
 * X-Frame-Options: DENY the server sends when the CSP has frame-ancestors (HTML Living Standard,
 * "check a navigation response's adherence to X-Frame-Options").
 */
export const STATUS_PAGE_CSP_INGRESS = STATUS_PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'");

export interface StatusPageInput {
  cfg: Pick<Config, "site" | "tiers" | "timeZone">;
  result: PolicyResult | null;
  evidence: Evidence;
  sources: SourceHealth[];
  lastRefreshMs: number | null;
  now: number;
  tokenConfigured: boolean;
  notice?: { ok: boolean; text: string };
  /**
   * The way from the page's own URL back to the status page's root, for relative links: "./" for
   * the page at /, "../../" for the answer to a form posted to /guests/<id>/backup. Default "./".
   */
  root?: string;
}

const rootOf = (input: Pick<StatusPageInput, "root">) => input.root ?? "./";

const ago = (iso: string | null, now: number) => {
  const a = ageMs(iso, now);
  return a === null ? "never" : `${formatDuration(a)} ago`;
};
/** "3 days and 4 hours ago" with the instant as its tooltip (the page is rendered per request, so the age is current). */
const agoHtml = (iso: string | null, now: number, timeZone?: string) =>
  iso && ageMs(iso, now) !== null
    ? `<time datetime="${esc(iso)}" title="${esc(shortTime(iso, timeZone))}">${esc(ago(iso, now))}</time>`
    : "never";

/** Is a fallback of this guest waiting for someone to approve it (as the "Fallback pending" entity)? */
export const fallbackPending = (g: Pick<GuestState, "fallback">): boolean =>
  g.fallback?.action === "ask" && g.fallback.state === "planned" && !g.fallback.approved;

/** The guest's fallback backup as a sentence (its reason after it), and the Approve form while it waits for approval. */
function fallbackHtml(g: GuestState, input: StatusPageInput): string {
  const f = g.fallback;
  if (!f) return "";
  const at = `<time datetime="${esc(f.at)}">${esc(shortTime(f.at, input.cfg.timeZone))}</time>`;
  const sentence = {
    planned: fallbackPending(g)
      ? `A fallback backup waits for approval; once approved it starts ${at} at the earliest.`
      : `A fallback backup is planned for ${at}.`,
    running: `A fallback backup is running since ${at}.`,
    waiting_for_job: `No fallback backup: the scheduled job due ${at} will cover this guest.`,
    done: `A fallback backup finished ${agoHtml(f.at, input.now, input.cfg.timeZone)}.`,
    failed: `The fallback backup failed ${agoHtml(f.at, input.now, input.cfg.timeZone)}.`,
  }[f.state];
  const form = !fallbackPending(g)
    ? ""
    : !input.tokenConfigured
      ? `<p class="note">Approving here is off: set <code>http.token</code> in the config.</p>`
      : `<form method="post" action="${esc(rootOf(input))}guests/${encodeURIComponent(g.id)}/fallback/approve">` +
        `<input type="password" name="token" required autocomplete="current-password" placeholder="HTTP token" aria-label="HTTP token to approve the fallback of ${esc(g.name)}">` +
        `<button type="submit">Approve fallback</button></form>`;
  return `<p class="fallback fb-${esc(f.state)}">${sentence} ${esc(f.reason)}</p>${form}`;
}

function guestCard(g: GuestState, input: StatusPageInput): string {
  const { now, cfg } = input;
  const tier = g.tier ? cfg.tiers[g.tier] : undefined;
  const copies = copiesOf(g, input.evidence);
  const minCopies = tier?.protect ? tier.minCopies : 0;
  const offsite = g.last_offsite
    ? ago(g.last_offsite, now)
    : tier?.protect && tier.offsite
      ? "none (the tier requires one)"
      : "none";
  const verified = g.last_verified
    ? ago(g.last_verified, now)
    : tier?.protect && tier.verifyEveryMs
      ? `never (every ${formatDuration(tier.verifyEveryMs)} wanted)`
      : "never";
  const reasons = g.reasons.length
    ? `<ul class="reasons">${g.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>`
    : "";
  const canRun = !tier || tier.allowManual;
  const form = !canRun
    ? `<p class="note">Tier ${esc(tier!.id)} does not allow manual backups.</p>`
    : !input.tokenConfigured
      ? `<p class="note">Back up now is off: set <code>http.token</code> in the config.</p>`
      : `<details><summary>Back up now</summary><form method="post" action="${esc(rootOf(input))}guests/${encodeURIComponent(g.id)}/backup">` +
        `<input type="password" name="token" required autocomplete="current-password" placeholder="HTTP token" aria-label="HTTP token for ${esc(g.name)}">` +
        `<button type="submit">Start backup</button></form></details>`;
  return `<article class="guest s-${esc(g.status)}${g.problem ? " problem" : ""}" id="${esc(g.id)}">
<div class="head"><h2>${esc(g.name)}<small>${g.type === "qemu" ? "VM" : "CT"} ${g.vmid} · ${esc(g.node)}</small></h2><span class="badge b-${esc(g.status)}">${esc(statusWord(g.status, "en"))}</span></div>
<dl>
<dt>Tier</dt><dd>${g.tier ? `${esc(g.tier)}${tier ? ` · ${esc(tier.label)}` : ""}` : "untiered"}</dd>
<dt>Last backup</dt><dd>${g.last_backup ? `${agoHtml(g.last_backup, now, cfg.timeZone)}${g.last_backup_size !== null ? ` · ${esc(formatBytes(g.last_backup_size))}` : ""}` : "never"}</dd>
<dt>Archives</dt><dd>${g.archive_count}</dd>
<dt>Copies</dt><dd>${copies}${minCopies ? ` of ${minCopies} wanted` : ""}</dd>
<dt>Off-site</dt><dd>${esc(offsite)}</dd>
<dt>Last verified</dt><dd>${esc(verified)}</dd>
<dt>Next backup</dt><dd>${g.next_backup ? esc(shortTime(g.next_backup, cfg.timeZone)) : "none scheduled"}</dd>
</dl>
${reasons}${fallbackHtml(g, input)}${form}
</article>`;
}

export function renderStatusPage(input: StatusPageInput): string {
  const { result, now } = input;
  const root = esc(rootOf(input));
  const guests = problemsFirst(result?.guests ?? []);
  const problems = guests.filter((g) => g.problem).length;
  const counts = result
    ? (["failed", "missing", "stale", "unknown", "running", "ok"] as const)
        .filter((s) => result.counts[s] > 0)
        .map((s) => `<li class="badge b-${s}">${result.counts[s]} ${esc(statusWord(s, "en").toLowerCase())}</li>`)
        .join("")
    : "";
  const down = input.sources.filter((s) => !s.up || s.degraded);
  const banners = [
    input.notice
      ? `<p class="banner ${input.notice.ok ? "good" : "bad"}" role="status">${esc(input.notice.text)}</p>`
      : "",
    ...down.map(
      (s) =>
        `<p class="banner bad">Source <strong>${esc(s.name)}</strong> is ${s.up ? "unreadable" : "unreachable"}: ${esc(s.error ?? "unknown error")}. Its guests show <em>unknown</em>.</p>`,
    ),
    !result ? `<p class="banner">The bridge has not read Proxmox yet. Reload in a few seconds.</p>` : "",
  ].join("");
  const refreshed = input.lastRefreshMs
    ? `last refresh ${formatDuration(Math.max(0, now - input.lastRefreshMs))} ago`
    : "not refreshed yet";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${problems ? `(${problems}) ` : ""}Backups · ${esc(input.cfg.site)} · backup2mqtt</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Backups · ${esc(input.cfg.site)}</h1>
<p class="summary">${guests.length === 1 ? "1 guest" : `${guests.length} guests`} · <strong>${problems} with ${problems === 1 ? "a problem" : "problems"}</strong> · ${esc(refreshed)} · <a href="${root}">reload</a></p>
<ul class="counts">${counts}</ul>
${banners}
</header>
<main>
<div class="grid">
${guests.map((g) => guestCard(g, input)).join("\n")}
</div>
</main>
<footer>
<p>backup2mqtt ${esc(VERSION)} · generated ${esc(shortTime(new Date(now).toISOString(), input.cfg.timeZone))} · <a href="${root}report.md">strategy report</a> · <a href="${root}api/v1/guests">JSON</a> · <a href="${root}metrics">metrics</a></p>
</footer>
</body>
</html>
`;
}

export function statusPageRoutes(
  http: HttpContext,
  token: string | undefined,
  postLimit: express.RequestHandler,
): express.Router {
  const r = express.Router();
  const page = (req: Request, res: Response, status: number, notice?: StatusPageInput["notice"]) => {
    res.status(status);
    res.setHeader("Content-Security-Policy", req.get("x-ingress-path") ? STATUS_PAGE_CSP_INGRESS : STATUS_PAGE_CSP);
    res.setHeader("Cache-Control", "no-store");
    res.type("html").send(
      renderStatusPage({
        cfg: http.view.cfg,
        result: http.view.result,
        evidence: http.view.evidence(),
        sources: [...http.view.proxmox, ...http.view.offsiteSources].map((s) => s.health),
        lastRefreshMs: http.view.lastRefreshMs,
        now: http.clock.now(),
        tokenConfigured: !!token,
        // One "../" per folder of the request's path: / → "./", /guests/<id>/backup → "../../".
        root: "../".repeat(req.path.split("/").length - 2) || "./",
        ...(notice ? { notice } : {}),
      }),
    );
  };
  r.get("/", (req, res) => page(req, res, 200));
  r.post("/guests/:id/backup", postLimit, formBody, async (req: Request, res: Response) => {
    if (!token) return page(req, res, 403, { ok: false, text: "Back up now is off: set http.token in the config." });
    const given = typeof req.body?.token === "string" ? (req.body.token as string) : undefined;
    if (!secretMatches(given, token))
      return page(req, res, 401, { ok: false, text: "Wrong or missing token: nothing was started." });
    const id = String(req.params.id);
    const name = http.view.guest(id)?.name ?? id;
    const outcome = await http.router.handle(
      { kind: "guest", id },
      JSON.stringify({ action: "backup", origin: "status page" }),
      "http",
    );
    if (outcome.ok)
      return page(req, res, 202, {
        ok: true,
        text: `Backup of ${name} started${outcome.upid ? ` (task ${outcome.upid})` : ""}.`,
      });
    page(req, res, outcomeStatus(outcome), { ok: false, text: `Backup of ${name} not started: ${outcome.reason}` });
  });
  // Approve a guest's pending fallback backup (tier fallback: ask), with the token as for Back up now.
  r.post("/guests/:id/fallback/approve", postLimit, formBody, async (req: Request, res: Response) => {
    if (!token)
      return page(req, res, 403, { ok: false, text: "Approving fallbacks is off: set http.token in the config." });
    const given = typeof req.body?.token === "string" ? (req.body.token as string) : undefined;
    if (!secretMatches(given, token))
      return page(req, res, 401, { ok: false, text: "Wrong or missing token: nothing was approved." });
    const id = String(req.params.id);
    const name = http.view.guest(id)?.name ?? id;
    const outcome = await http.router.handle(
      { kind: "guest", id },
      JSON.stringify({ action: "approve_fallback", origin: "status page" }),
      "http",
    );
    if (outcome.ok)
      return page(req, res, 202, {
        ok: true,
        text: `Fallback backup of ${name} approved${outcome.detail ? `: ${outcome.detail}` : "."}`,
      });
    page(req, res, outcomeStatus(outcome), { ok: false, text: `Fallback of ${name} not approved: ${outcome.reason}` });
  });
  return r;
}
