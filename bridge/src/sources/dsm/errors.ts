/**
 * DSM Web API error codes (the common codes 100–160 and SYNO.API.Auth's login codes 400–411, from
 * Synology's DSM Login Web API Guide as maintained clients transcribe them) mapped to messages a
 * user can act on.
 */
export type DsmErrorKind =
  | "network"
  | "timeout"
  | "tls"
  | "http"
  | "auth" // wrong account/password, disabled, locked … — never retried in a loop (lockout risk)
  | "otp_required" // 403: needs `backup2mqtt dsm-login --otp`
  | "otp_invalid" // 404
  | "permission" // 105, 160, 402
  | "session" // 106, 107, 119: re-login
  | "blocked" // 407: stop polling
  | "api" // any other code
  | "parse"
  | "schema";

export const COMMON_ERRORS: Record<number, string> = {
  100: "unknown error",
  101: "no parameter of API, method or version (invalid parameter)",
  102: "the requested API does not exist (is Hyper Backup installed?)",
  103: "the requested method does not exist (or this API version is not supported)",
  104: "the requested version does not support the functionality",
  105: "the logged-in session does not have permission (the DSM account must be in the administrators group)",
  106: "session timeout",
  107: "session interrupted by duplicated login",
  108: "failed to upload the file",
  109: "the network connection is unstable or the system is busy",
  110: "the network connection is unstable or the system is busy",
  111: "the network connection is unstable or the system is busy",
  112: "preserve for other purpose",
  113: "preserve for other purpose",
  114: "lost parameters for this API",
  115: "not allowed to upload a file",
  116: "not allowed to perform for a demo site",
  117: "the network connection is unstable or the system is busy",
  118: "the network connection is unstable or the system is busy",
  119: "invalid session (SID not found)",
  120: "invalid parameter value",
  150: "request source IP does not match the login IP",
  160: "insufficient application privilege (allow the DSM account the Hyper Backup application)",
};

export const AUTH_ERRORS: Record<number, string> = {
  400: "no such account or incorrect password (a correct password of an account outside 'administrators' may also get 400)",
  401: "the account is disabled (or a guest account)",
  402: "permission denied (check the account's group, or the 'session' setting)",
  403: "2-step verification code required: run `backup2mqtt dsm-login --config FILE --source NAME --otp CODE` once to register this bridge as a trusted device",
  404: "the 2-step verification code was wrong or expired",
  405: "incorrect app portal",
  406: "2-step verification is enforced for this account but not set up: set it up in DSM, then run `backup2mqtt dsm-login`",
  407: "this IP is blocked by DSM's auto-block: polling stopped until the block is lifted",
  408: "the password has expired and cannot be changed",
  409: "the password has expired",
  410: "the password must be changed",
  411: "the account is locked (too many failed logins)",
};

export const SESSION_CODES = new Set([106, 107, 119]);

export class DsmError extends Error {
  constructor(
    readonly kind: DsmErrorKind,
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = "DsmError";
  }
  /** Malformed answers mean "reachable but unreadable". */
  get degraded(): boolean {
    return this.kind === "parse" || this.kind === "schema";
  }
}

/** Turns a DSM error code into a DsmError with a clear message. */
export function dsmError(code: number, context: { api: string; method: string; login?: boolean }): DsmError {
  const what = `${context.api} ${context.method}`;
  if (context.login && AUTH_ERRORS[code]) {
    const kind: DsmErrorKind =
      code === 403 || code === 406
        ? "otp_required"
        : code === 404
          ? "otp_invalid"
          : code === 402
            ? "permission"
            : code === 407
              ? "blocked"
              : "auth";
    return new DsmError(kind, `DSM login failed (${code}): ${AUTH_ERRORS[code]}`, code);
  }
  if (SESSION_CODES.has(code)) return new DsmError("session", `${what}: ${COMMON_ERRORS[code]} (${code})`, code);
  if (code === 105 || code === 160)
    return new DsmError("permission", `${what}: ${COMMON_ERRORS[code]} (${code})`, code);
  const text =
    COMMON_ERRORS[code] ??
    (code >= 4400 && code < 4500
      ? "Hyper Backup refused (task not in a state that allows this)"
      : "undocumented error code");
  return new DsmError("api", `${what}: ${text} (${code})`, code);
}
