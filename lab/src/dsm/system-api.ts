/**
 * What synology-api's SysInfo class asks besides Hyper Backup: SYNO.DSM.Info getinfo (dsm_info),
 * SYNO.Core.System info (get_system_info) and SYNO.Storage.CGI.Storage load_info (storage). Field
 * sets are the real answers kept as fixtures in mib1185/py-synologydsm-api @ 7dee928:
 * tests/api_data/dsm_7/dsm/const_7_dsm_info.py, tests/api_data/dsm_6/core/const_6_core_system.py and
 * tests/api_data/dsm_6/storage/const_6_storage_storage.py (trimmed to one pool, one volume, 2 disks).
 */
import type { SimResponse } from "../https-base.js";
import { type DsmCtx, type DsmRequest, fail, ok } from "./common.js";

export function createSystemApi(ctx: DsmCtx) {
  const { sc, start } = ctx;
  const firmware = sc.firmware ?? (sc.dsm === 7 ? "DSM 7.2.2-72806 Update 3" : "DSM 6.2.4-25556 Update 7");
  const build = /-(\d+)/.exec(firmware)?.[1] ?? "72806";
  const upSeconds = (now: number) => Math.floor((now - start) / 1000) + 3_258_607;
  const local = (now: number) => new Date(now).toLocaleString("sv-SE", { timeZone: sc.timezone }); // "YYYY-MM-DD HH:MM:SS"

  const dsmInfo = (now: number) => ({
    codepage: "enu",
    model: sc.model,
    ram: 4096,
    serial: sc.serial,
    temperature: 40,
    temperature_warn: false,
    // ctime-like, as "Sun Mar 29 19:33:41 2020" in the fixture
    time: new Date(now)
      .toLocaleString("en-US", {
        timeZone: sc.timezone,
        weekday: "short",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        year: "numeric",
        hourCycle: "h23",
      })
      .replace(/^(\w+), (\w+) (\d+), (\d+), (.+)$/, "$1 $2 $3 $5 $4"),
    uptime: upSeconds(now),
    version: build,
    version_string: firmware,
  });

  const systemInfo = (now: number) => {
    const up = upSeconds(now);
    return {
      cpu_clock_speed: 2000,
      cpu_cores: "4",
      cpu_family: "Celeron",
      cpu_series: "J4125",
      cpu_vendor: "INTEL",
      enabled_ntp: true,
      firmware_date: "2024/11/12",
      firmware_ver: firmware,
      model: sc.model,
      ntp_server: "time.google.com",
      ram_size: 4096,
      sata_dev: [],
      serial: sc.serial,
      support_esata: "no",
      sys_temp: 40,
      sys_tempwarn: false,
      systempwarn: false,
      temperature_warning: false,
      time: local(now),
      time_zone: sc.timezone.split("/").pop() ?? sc.timezone,
      time_zone_desc: sc.timezone,
      up_time: `${Math.floor(up / 3600)}:${Math.floor((up % 3600) / 60)}:${up % 60}`,
      usb_dev: [],
    };
  };

  const disk = (n: number) => ({
    device: `/dev/sd${"ab"[n - 1]}`,
    diskType: "SATA",
    exceed_bad_sector_thr: false,
    below_remain_life_thr: false,
    id: `sd${"ab"[n - 1]}`,
    isSsd: false,
    longName: `Drive ${n}`,
    model: "ST4000VN008-2DR166      ",
    name: `Drive ${n}`,
    num_id: n,
    order: n,
    overview_status: "normal",
    size_total: "4000787030016",
    smart_status: "normal",
    status: "normal",
    temp: 24,
    used_by: "reuse_1",
    vendor: "Seagate",
  });

  const storage = () => ({
    disks: [disk(1), disk(2)],
    env: { bay_number: "4", model_name: sc.model, status: { system_crashed: false, system_need_repair: false } },
    hotSpares: [],
    iscsiLuns: [],
    iscsiTargets: [],
    ports: [],
    ssdCaches: [],
    storagePools: [
      {
        deploy_path: "volume_1",
        device_type: "shr_without_disk_protect",
        disks: ["sda", "sdb"],
        id: "reuse_1",
        num_id: 1,
        pool_path: "reuse_1",
        size: { total: String(sc.volume.total), used: String(sc.volume.total) },
        status: "normal",
      },
    ],
    volumes: [
      {
        deploy_path: "volume_1",
        device_type: "shr_without_disk_protect",
        fs_type: "btrfs",
        id: "volume_1",
        num_id: 1,
        pool_path: "reuse_1",
        size: {
          free_inode: "0",
          total: String(sc.volume.total),
          total_device: String(sc.volume.total),
          total_inode: "0",
          used: String(sc.volume.used),
        },
        status: "normal",
        vol_path: "/volume1",
      },
    ],
  });

  const handle = (req: DsmRequest, now: number): SimResponse => {
    if (req.api === "SYNO.DSM.Info") return req.method === "getinfo" ? ok(dsmInfo(now)) : fail(103);
    if (req.api === "SYNO.Core.System") {
      if (req.method !== "info") return fail(103);
      // `type=network` / `type=storage_v2` ask other reports, not simulated here.
      return req.params.type ? fail(101) : ok(systemInfo(now));
    }
    if (req.api === "SYNO.Storage.CGI.Storage") return req.method === "load_info" ? ok(storage()) : fail(103);
    return fail(102);
  };

  return { handle };
}
