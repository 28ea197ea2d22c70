/**
 * Fault switches: the failure modes a client of a real PVE node meets (node down, proxy 500,
 * truncated body, schema drift, slowness, revoked token).
 */

export type LabFault =
  | { kind: "down" }
  | { kind: "http500"; pathPrefix?: string }
  | { kind: "garbage"; pathPrefix?: string }
  | { kind: "wrongTypes"; pathPrefix?: string }
  | { kind: "slow"; ms: number; pathPrefix?: string }
  | { kind: "unauthorized" }
  /** The connection drops in the middle of the answer (headers and half the body sent, then closed). */
  | { kind: "reset"; pathPrefix?: string };

/** Does a fault with an optional pathPrefix apply to this API path (with or without /api2/json)? */
export function faultApplies(fault: LabFault, apiPath: string): boolean {
  const prefix = "pathPrefix" in fault ? fault.pathPrefix : undefined;
  if (!prefix) return true;
  const p = prefix.replace(/^\/api2\/json/, "");
  return apiPath.startsWith(p);
}

/** A body that starts like JSON and stops mid-object. */
export const GARBAGE_BODY = '{"data": [ {"vmid": 10';

/**
 * Valid JSON with every field's type wrong: numbers become objects, strings become numbers
 * or arrays, so a strict parser must reject it (e.g. `vmid: {"value": 100}`).
 */
export function wrongTypes(v: unknown): unknown {
  if (typeof v === "number") return { value: v };
  if (typeof v === "string") return /^\d+$/.test(v) ? Number(v) + 0.5 : [v];
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map(wrongTypes);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wrongTypes(x)]));
  return v;
}
