import { describe, expect, it } from "vitest";
import { Permissions } from "./permissions.js";

describe("token permissions from /access/permissions", () => {
  const p = new Permissions({
    "/": { "Sys.Audit": 1, "VM.Audit": 1, "Datastore.Audit": 1 },
    "/storage": { "Datastore.AllocateSpace": 1, "Datastore.Audit": 1 },
    "/vms": { "VM.Backup": 1, "VM.Audit": 1 },
    "/vms/105": { "VM.Audit": 1 },
    "/storage/nas": { "Datastore.Audit": 0 },
  });
  it("inherits propagating privileges from the nearest ancestor with an ACL", () => {
    expect(p.has("VM.Backup", "/vms/100")).toBe(true);
    expect(p.has("Datastore.AllocateSpace", "/storage/local")).toBe(true);
    expect(p.has("Sys.Audit", "/")).toBe(true);
  });
  it("lets a deeper ACL replace what it would inherit", () => {
    expect(p.has("VM.Backup", "/vms/105")).toBe(false);
    expect(p.has("Datastore.AllocateSpace", "/storage/nas")).toBe(false);
  });
  it("says which privilege is missing for hidden backups", () => {
    expect(p.backupVisibility("local", 100)).toBeNull();
    expect(p.backupVisibility("local", 105)).toMatch(
      /grant VM\.Backup on \/vms\/105 \(or Datastore\.Allocate on \/storage\/local\)/,
    );
    expect(new Permissions({ "/": { "VM.Audit": 1 } }).backupVisibility("local", 100)).toMatch(
      /Datastore\.AllocateSpace on \/storage\/local and VM\.Backup on \/vms\/100/,
    );
  });
});
