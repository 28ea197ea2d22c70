/**
 * How the simulated PBS answers, shared by its routes: `{ data }` JSON, errors as an HTTP status
 * with a plain-text body under a JSON content type, the router's refusal of unknown parameters,
 * and what a route knows about the authenticated request it answers (PbsCall).
 */
import type { SimResponse } from "../https-base.js";

export const json = (data: unknown, extra: Record<string, unknown> = {}): SimResponse => ({
  status: 200,
  body: JSON.stringify({ data, ...extra }),
});

// PBS: the status code plus a plain-text message, while the Content-Type still says JSON.
export const err = (status: number, text: string): SimResponse => ({
  status,
  body: text,
  contentType: "application/json;charset=UTF-8",
});

/** The router's refusal of parameters a method's schema does not know (proxmox-schema ParameterError's Display). */
export function pbsParameterError(errors: [name: string, message: string][]): string {
  return errors.length === 1
    ? `parameter verification failed - '${errors[0]![0]}': ${errors[0]![1]}`
    : `parameter verification failed:\n${errors.map(([k, m]) => `- '${k}': ${m}`).join("\n")}`;
}

/** An authenticated request, as the routes see it. */
export interface PbsCall {
  method: string;
  /** The path below /api2/json (e.g. `/admin/datastore`). */
  path: string;
  /** Query and form parameters. */
  q: Record<string, string>;
  /** The lab clock when the request came in (ms). */
  now: number;
  /** The caller's auth id (the token). */
  me: string;
  /** The caller's privilege bits on an ACL path. */
  privs(path: string[]): number;
  /** Whether GET /admin/datastore lists the datastore to the caller. */
  storeVisible(store: string): boolean;
  /** `next-run` of daily jobs: 03:00 UTC of the next day (epoch seconds). */
  nextDay: number;
}
