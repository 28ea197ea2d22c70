/**
 * Minimal router and error type shaped after pve-http-server: handlers return data (plus an
 * optional `total`), throw ApiError for HTTP errors; 400 parameter errors carry `errors`.
 */
import type { Token } from "./acl.js";
import { hasAnyPriv, hasPriv } from "./acl.js";
import type { LabState, NodeState } from "./state.js";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

export function paramError(errors: Record<string, string>): ApiError {
  return new ApiError(400, "Parameter verification failed.", errors);
}

export function permError(path: string, priv: string): ApiError {
  return new ApiError(403, `Permission check failed (${path}, ${priv})`);
}

export interface Ctx {
  state: LabState;
  token: Token;
  params: Record<string, string>;
  /** Query string merged with the request body (PVE treats them alike). */
  args: Record<string, string>;
  now: number;
}

export interface Paged {
  data: unknown;
  total: number;
}

export type Handler = (ctx: Ctx) => unknown;

export interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** `/nodes/{node}/storage/{storage}/content/{volume*}` → regex; `*` takes the rest of the path. */
export function route(method: string, path: string, handler: Handler): Route {
  const keys: string[] = [];
  const re = path.replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => {
    keys.push(name);
    return star ? "(.+)" : "([^/]+)";
  });
  return { method, pattern: new RegExp(`^${re}/?$`), keys, handler };
}

export function isPaged(v: unknown): v is Paged {
  return typeof v === "object" && v !== null && "total" in v && "data" in v && Object.keys(v).length === 2;
}

// ---- parameter helpers ---------------------------------------------------------------

export function intArg(ctx: Ctx, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const raw = ctx.args[name];
  if (raw === undefined || raw === "") return undefined;
  if (!/^-?\d+$/.test(raw)) throw paramError({ [name]: `type check ('integer') failed - got '${raw}'` });
  const n = Number(raw);
  if (opts.min !== undefined && n < opts.min)
    throw paramError({ [name]: `value must have a minimum value of ${opts.min}` });
  if (opts.max !== undefined && n > opts.max)
    throw paramError({ [name]: `value must have a maximum value of ${opts.max}` });
  return n;
}

export function boolArg(ctx: Ctx, name: string): boolean | undefined {
  const raw = ctx.args[name];
  if (raw === undefined || raw === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw paramError({ [name]: `type check ('boolean') failed - got '${raw}'` });
}

export function enumArg<T extends string>(ctx: Ctx, name: string, values: readonly T[]): T | undefined {
  const raw = ctx.args[name];
  if (raw === undefined || raw === "") return undefined;
  if (!values.includes(raw as T))
    throw paramError({ [name]: `value '${raw}' does not have a value in the enumeration '${values.join(", ")}'` });
  return raw as T;
}

export function vmidListArg(ctx: Ctx, name: string): number[] | undefined {
  const raw = ctx.args[name];
  if (raw === undefined || raw === "") return undefined;
  const parts = raw.split(/[,;\s]+/).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p) || Number(p) < 100)
      throw paramError({ [name]: `value does not look like a valid VM ID list` });
    out.push(Number(p));
  }
  return out;
}

// ---- lookups and permission checks ----------------------------------------------------

/** The `{node}` of the path; PVE proxies to it, so unknown/offline nodes fail like a proxy. */
export function nodeOf(ctx: Ctx): NodeState {
  const name = ctx.params.node ?? "";
  const node = ctx.state.nodes.get(name);
  if (!node)
    throw new ApiError(
      500,
      `hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`,
    );
  if (node.status !== "online") throw new ApiError(595, `Connection timed out`);
  return node;
}

export function requirePriv(ctx: Ctx, path: string, priv: string): void {
  if (!hasPriv(ctx.token, path, priv)) throw permError(path, priv);
}

export function requireAnyPriv(ctx: Ctx, path: string, privs: string[]): void {
  if (!hasAnyPriv(ctx.token, path, privs)) throw permError(path, privs.join("|"));
}
