import { describe, expect, it } from "vitest";
import { isSuccessStatus, parseTaskLog } from "./tasklog.js";

describe("vzdump task log", () => {
  it("a job task with one failing guest: per-guest outcomes, not 'all failed'", () => {
    const log = [
      "INFO: starting new backup job: vzdump 100 102 --storage local --mode snapshot --compress zstd",
      "INFO: Starting Backup of VM 100 (qemu)",
      "INFO: Backup started at 2026-11-26 02:00:03",
      "INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-100-2026_11_26-02_00_03.vma.zst'",
      "INFO: Finished Backup of VM 100 (00:01:23)",
      "INFO: Starting Backup of VM 102 (qemu)",
      "ERROR: Backup of VM 102 failed - VM 102 qmp command 'backup' failed - got timeout",
      "INFO: Failed at 2026-11-26 02:03:00",
      "INFO: Backup job finished with errors",
      "TASK ERROR: job errors",
    ];
    expect(parseTaskLog(log, "", "job errors")).toEqual([
      { vmid: 100, result: "ok", warnings: 0 },
      { vmid: 102, result: "failed", error: "VM 102 qmp command 'backup' failed - got timeout", warnings: 0 },
    ]);
  });

  it("WARN lines make a success with warnings", () => {
    const log = [
      "INFO: Starting Backup of VM 105 (lxc)",
      "WARN: some file vanished",
      "INFO: Finished Backup of VM 105 (00:00:10)",
      "TASK WARNINGS: 1",
    ];
    expect(parseTaskLog(log, "105", "WARNINGS: 1")).toEqual([{ vmid: 105, result: "warnings", warnings: 1 }]);
  });

  it("a single-guest task failing before it started takes the exit status as its error", () => {
    const log = [
      "ERROR: Backup job failed - There is a max backup limit of 1 enforced by the target storage",
      "TASK ERROR: ...",
    ];
    expect(parseTaskLog(log, "101", "There is a max backup limit of 1 enforced by the target storage")).toEqual([
      {
        vmid: 101,
        result: "failed",
        error: "There is a max backup limit of 1 enforced by the target storage",
        warnings: 0,
      },
    ]);
  });

  it("a running task: started guests are running, finished ones are done", () => {
    const log = [
      "INFO: Starting Backup of VM 100 (qemu)",
      "INFO: Finished Backup of VM 100 (00:01:00)",
      "INFO: Starting Backup of VM 101 (qemu)",
    ];
    expect(parseTaskLog(log, "", undefined).map((g) => [g.vmid, g.result])).toEqual([
      [100, "ok"],
      [101, "running"],
    ]);
  });

  it("reads the progress of the running guest from its percentage lines", () => {
    const log = [
      "INFO: Starting Backup of VM 100 (qemu)",
      "INFO:   0% (0.0 B of 32.0 GiB) in 0s, read: 0 B/s, write: 0 B/s",
      "INFO:  45% (14.5 GiB of 32.0 GiB) in 30s, read: 495.1 MiB/s, write: 180.2 MiB/s",
    ];
    expect(parseTaskLog(log, "100", undefined)).toEqual([{ vmid: 100, result: "running", warnings: 0, progress: 45 }]);
    expect(
      parseTaskLog(
        [...log, "INFO: 100% (32.0 GiB of 32.0 GiB) in 1m 5s", "INFO: Finished Backup of VM 100 (00:01:06)"],
        "100",
        "OK",
      ),
    ).toEqual([{ vmid: 100, result: "ok", warnings: 0 }]);
  });

  it("a single-guest task that is running before its first line", () => {
    expect(parseTaskLog([], "103", undefined)).toEqual([{ vmid: 103, result: "running", warnings: 0 }]);
  });

  it("a task interrupted by signal fails the guest that was running", () => {
    const log = ["INFO: Starting Backup of VM 100 (qemu)", "ERROR: Backup job failed - interrupted by signal"];
    expect(parseTaskLog(log, "100", "interrupted by signal")).toEqual([
      { vmid: 100, result: "failed", error: "interrupted by signal", warnings: 0 },
    ]);
  });

  it("a whole-job failure fails guests that never started", () => {
    const log = [
      "INFO: starting new backup job: vzdump 100 101 --storage nfs",
      "ERROR: Backup job failed - storage 'nfs' is not online",
    ];
    expect(parseTaskLog(log, "", "storage 'nfs' is not online").map((g) => [g.vmid, g.result, g.error])).toEqual([
      [100, "failed", "storage 'nfs' is not online"],
      [101, "failed", "storage 'nfs' is not online"],
    ]);
  });

  it.each([
    ["OK", true],
    ["ok", true],
    ["WARNINGS: 3", true],
    ["warnings: 1", true],
    ["job errors", false],
    ["unexpected status", false],
    ["interrupted by signal", false],
  ])("exit status %s is success: %s", (s, ok) => expect(isSuccessStatus(s)).toBe(ok));
});
