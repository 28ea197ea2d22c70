/**
 * The SYNO.API.Info table: where each API lives and which versions it speaks, as DSM 6 and 7 list
 * them. Paths, versions and requestFormat are from real SYNO.API.Info answers kept as test fixtures
 * in mib1185/py-synologydsm-api (tests/api_data/dsm_6/const_6_api_info.py and
 * tests/api_data/dsm_7/const_7_api_info.py @ 7dee928): on DSM 7 SYNO.API.Info itself sits at
 * entry.cgi with requestFormat JSON (DSM still answers it at query.cgi, where clients start),
 * SYNO.API.Auth at entry.cgi v1–7 without requestFormat, all SYNO.Backup.* at entry.cgi v1–2 JSON.
 */
import type { ResolvedDsm } from "./scenario.js";

export interface ApiInfo {
  path: string;
  minVersion: number;
  maxVersion: number;
  requestFormat?: "JSON";
}

const entry = (minVersion: number, maxVersion: number, json = true): ApiInfo => ({
  path: "entry.cgi",
  minVersion,
  maxVersion,
  ...(json ? { requestFormat: "JSON" as const } : {}),
});

export function apiTable(sc: ResolvedDsm): Record<string, ApiInfo> {
  const dsm7 = sc.dsm === 7;
  return {
    "SYNO.API.Info": dsm7 ? entry(1, 1) : { path: "query.cgi", minVersion: 1, maxVersion: 1 },
    "SYNO.API.Auth": dsm7 ? entry(1, 7, false) : { path: "auth.cgi", minVersion: 1, maxVersion: 6 },
    // The DSM 7 login page's first call; its `_SSID` cookie carries the NAS's Noise static key.
    ...(dsm7 ? { "SYNO.API.Auth.UIConfig": entry(1, 1) } : {}),
    "SYNO.DSM.Info": entry(2, 2),
    "SYNO.Core.System": entry(1, 3),
    "SYNO.Storage.CGI.Storage": entry(1, 1),
    "SYNO.Backup.Task": entry(1, 2),
    "SYNO.Backup.Target": entry(1, 2),
    "SYNO.Backup.Repository": entry(1, 2),
    ...(sc.vaultTargets ? { "SYNO.Backup.Service.VersionBackup.Target": entry(1, 2) } : {}),
    "SYNO.SDS.Backup.Client.Common.Log": entry(1, 1),
  };
}

/** Which CGI files answer an API besides its listed path (DSM keeps the old entry points). */
export function answersAt(api: string, info: ApiInfo, file: string, sc: ResolvedDsm): boolean {
  if (file === info.path) return true;
  if (api === "SYNO.API.Info") return file === "query.cgi";
  // DSM 7 still logs in at auth.cgi (synology-api 0.9.4 does); DSM 6 only there.
  if (api === "SYNO.API.Auth") return file === "auth.cgi" || (sc.dsm === 7 && file === "entry.cgi");
  return false;
}
