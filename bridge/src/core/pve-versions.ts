/** The PVE version of each Proxmox source, for the report (read on demand, cached for ten minutes). */
import type { PveSource } from "../sources/pve/source.js";
import { versionSchema } from "../sources/pve/schemas.js";
import type { Clock } from "../util/clock.js";

const CACHE_MS = 600_000;
const versionCache = new WeakMap<PveSource, { at: number; version: string }>();

/** PVE version per source ("9.1.6"), null when it cannot be read. */
export async function pveVersions(sources: PveSource[], clock: Clock): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  await Promise.all(
    sources.map(async (s) => {
      const cached = versionCache.get(s);
      if (cached && clock.now() - cached.at < CACHE_MS) {
        out[s.name] = cached.version;
        return;
      }
      try {
        const v = await s.http.get("/version", versionSchema);
        versionCache.set(s, { at: clock.now(), version: v.version });
        out[s.name] = v.version;
      } catch {
        out[s.name] = null;
      }
    }),
  );
  return out;
}
