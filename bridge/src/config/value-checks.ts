/**
 * Checks of single values that a schema cannot express: duration bounds, usable URLs, readable
 * PEM files, HOST:PORT, guest keys. Each returns a sentence for people, or undefined when fine.
 */
import fs from "node:fs";
import { parseDuration } from "../util/duration.js";

export interface DurationBounds {
  what: string;
  min: string;
  max: string;
}
/**
 * Every duration key has bounds: a poll of 0s busy-loops, and Node's setTimeout fires at once for
 * anything over 2^31-1 ms (24.8 days). Durations used as timers (poll intervals, timeouts) stay below
 * that; the longer ones (max_age, verify_every, removal_grace) are deadlines the bridge compares
 * against the clock, and its one timer for them is re-armed in steps of at most 2^31-1 ms.
 */
export const BOUNDS = {
  poll: { what: "a poll interval", min: "1s", max: "24h" },
  content: { what: "the storage listing interval", min: "1s", max: "7d" },
  timeout: { what: "a request timeout", min: "1s", max: "1h" },
  sshTimeout: { what: "the SSH timeout", min: "1s", max: "24h" },
  restoreTimeout: { what: "the restore test timeout", min: "1m", max: "7d" },
  maxAge: { what: "a maximum age", min: "1m", max: "3650d" },
  verifyEvery: { what: "the verification interval", min: "1h", max: "3650d" },
  removalGrace: { what: "the removal grace period", min: "0s", max: "365d" },
  fallbackGrace: { what: "the fallback's grace", min: "0s", max: "30d" },
} satisfies Record<string, DurationBounds>;

export function durationProblem(text: string, b: DurationBounds): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    return undefined; // the schema's pattern has said so
  }
  if (ms < parseDuration(b.min)) return `${text} is too short: ${b.what} must be between ${b.min} and ${b.max}`;
  if (ms > parseDuration(b.max)) return `${text} is too long: ${b.what} must be between ${b.min} and ${b.max}`;
  return undefined;
}

export const SOURCE_URL_EXAMPLE = {
  proxmox: "https://pve.lan:8006",
  synology: "https://nas.lan:5001",
  pbs: "https://pbs.lan:8007",
} as const;

/** A URL the clients can use: it parses, has a host, no credentials; source URLs have no path, query or fragment (a lone "/" is fine). */
export function urlProblem(
  text: string,
  o: { example: string; allowPath: boolean; allowCredentials?: boolean },
): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `"${text}" is not a valid URL (is the host missing, or the port above 65535?); write e.g. ${o.example}`;
  }
  if (!u.hostname) return `"${text}" has no host; write e.g. ${o.example}`;
  if ((u.username || u.password) && !o.allowCredentials)
    return `the URL must not hold a user name or password; write e.g. ${o.example}`;
  if (!o.allowPath && ((u.pathname && u.pathname !== "/") || u.search || u.hash))
    return `the URL must not have a path (${u.pathname}${u.search}${u.hash}): the API paths are added by backup2mqtt; write only the scheme, host and port, e.g. ${o.example}`;
  return undefined;
}

export function pemFileProblem(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "the file does not exist"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (code ?? (e as Error).message);
    return `cannot read ${file}: ${why}`;
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    return `${file} holds no PEM certificate (a block starting with -----BEGIN CERTIFICATE-----)`;
  return undefined;
}

/** http.listen: HOST:PORT or [IPv6]:PORT; port 0 = any free port. Returns [host, port] or a problem. */
export function parseListen(listen: string): [string, number] | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):([0-9]+)$/.exec(listen);
  if (!m) return `"${listen}" is not HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080)`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${m[3]} is out of range: a port is 0-65535 (0 = any free port)`;
  return [m[1] ?? (m[2] || "127.0.0.1"), port];
}

/** PVE's rules: a VMID is 100-999999999; a guest name is a DNS name (letters, digits, hyphens; labels joined by dots). */
const GUEST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
export function guestKeyProblem(key: string): string | undefined {
  const hint = "write a VMID (100-999999999) or a guest name as PVE shows it";
  if (key === "") return `a guest key is empty; ${hint}`;
  if (/^[0-9]+$/.test(key)) {
    if (key.length > 1 && key.startsWith("0")) return `VMID ${key} has a leading zero; write ${String(Number(key))}`;
    const n = Number(key);
    if (n < 100 || n > 999_999_999) return `${key} is not a VMID: VMIDs are 100-999999999 (PVE's rule)`;
    return undefined;
  }
  if (!GUEST_NAME.test(key))
    return `"${key}" is neither a VMID nor a guest name (names hold letters, digits and hyphens, with dots between parts); ${hint}`;
  return undefined;
}
