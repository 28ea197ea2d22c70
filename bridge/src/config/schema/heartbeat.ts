/**
 * `heartbeat:` — a dead man's switch for the bridge itself: after every successful refresh it pings
 * a Healthchecks-style URL, so an outside monitor alerts when the bridge stops. The URL is a secret
 * (a Healthchecks.io ping URL holds the check's UUID): give it as `url`, `${ENV}` or `url_file`; it is
 * never logged, only its host is.
 */
import { z } from "zod";
import { durationProblem, type DurationBounds } from "../value-checks.js";
import { duration, secret } from "./common.js";

const TIMEOUT_BOUNDS: DurationBounds = { what: "the heartbeat timeout", min: "1s", max: "60s" };

/**
 * What is wrong with a ping URL, in words that never repeat it (it is a secret): it must parse,
 * be http(s) and have a host. Also used for the content of url_file.
 */
export function heartbeatUrlProblem(text: string): string | undefined {
  const example = "write e.g. https://hc-ping.com/<uuid>";
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return `the ping URL is not a valid URL; ${example}`;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    return `the ping URL must start with https:// or http:// (it starts with ${u.protocol}//); ${example}`;
  if (!u.hostname) return `the ping URL has no host; ${example}`;
  return undefined;
}

const URL_TEXT =
  "Ping URL (secret: a Healthchecks.io URL holds the check's UUID), http:// or https://, e.g. https://hc-ping.com/<uuid>. Or give url_file.";
const ON_PROBLEM =
  "When a guest or an off-site device has a problem: fail = ping <url>/fail (Healthchecks marks the check down at once), ok = ping <url> as usual.";

export const heartbeatSchema = z
  .strictObject({
    url: secret(URL_TEXT).optional(),
    url_file: z
      .string()
      .meta({
        description:
          "A file whose content is the ping URL (relative paths start at the config file's folder); instead of url.",
      })
      .optional(),
    on_problem: z.enum(["fail", "ok"]).meta({ description: ON_PROBLEM }).default("fail"),
    timeout: duration("How long one ping may take, 1s to 60s.").default("10s"),
    ca_file: z
      .string()
      .meta({
        description:
          "PEM file of the CA that signed a self-hosted monitor's certificate (relative paths start at the config file's folder). Default: the system's CAs.",
      })
      .optional(),
  })
  .superRefine((h, ctx) => {
    if (h.url === undefined && h.url_file === undefined)
      ctx.addIssue({ code: "custom", path: [], message: "give url (or url_file): the URL to ping" });
    if (h.url !== undefined && h.url_file !== undefined)
      ctx.addIssue({ code: "custom", path: ["url_file"], message: "give either url or url_file, not both" });
    if (typeof h.url === "string") {
      const problem = heartbeatUrlProblem(h.url);
      if (problem) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
    }
    const t = typeof h.timeout === "string" ? durationProblem(h.timeout, TIMEOUT_BOUNDS) : undefined;
    if (t) ctx.addIssue({ code: "custom", path: ["timeout"], message: t });
  })
  .meta({
    description:
      "Dead man's switch: after every successful refresh, ping a Healthchecks-style URL (GET; <url>/fail while a problem exists, unless on_problem is ok). Failed pings are logged, never fatal.",
  });
