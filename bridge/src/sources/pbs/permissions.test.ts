import { describe, expect, it } from "vitest";
import { PbsPermissions } from "./permissions.js";

const TOKEN = "backup2mqtt@pbs!bridge";

describe("PBS token privileges from GET /access/permissions", () => {
  it("listed paths are exact; unlisted ones inherit the nearest listed ancestor's propagating privileges", () => {
    const p = new PbsPermissions(
      {
        "/datastore": { "Datastore.Audit": true, "Datastore.Read": false },
        "/datastore/store2": { "Datastore.Backup": true },
      },
      TOKEN,
    );
    expect(p.has("Datastore.Audit", "/datastore")).toBe(true);
    expect(p.has("Datastore.Read", "/datastore")).toBe(true);
    expect(p.has("Datastore.Audit", "/datastore/store1/ns")).toBe(true);
    expect(p.has("Datastore.Read", "/datastore/store1")).toBe(false); // not propagated
    expect(p.has("Datastore.Audit", "/datastore/store2")).toBe(false); // a deeper entry replaced it
    expect(p.has("Remote.Audit", "/remote/x")).toBe(false);
  });

  it("names the privilege to grant, to the user and to the token (PBS intersects them)", () => {
    const none = new PbsPermissions({}, TOKEN);
    expect(none.listingAccess("store1")).toBe(
      "the API token may not list the backups of PBS datastore 'store1' (PBS then leaves it out or answers 403): grant Datastore.Audit on /datastore/store1 (role DatastoreAudit) to backup2mqtt@pbs and to backup2mqtt@pbs!bridge",
    );
    const backupOnly = new PbsPermissions({ "/datastore/store1": { "Datastore.Backup": true } }, TOKEN);
    expect(backupOnly.listingAccess("store1")).toMatch(
      /with Datastore\.Backup alone PBS lists only the backup groups the token owns\): grant Datastore\.Audit on \/datastore\/store1/,
    );
    expect(backupOnly.listingAccess("store1", "pve-home")).toMatch(
      /namespace 'pve-home' of PBS datastore 'store1'.*grant Datastore\.Audit on \/datastore\/store1\/pve-home/,
    );
    expect(
      new PbsPermissions({ "/datastore/store1": { "Datastore.Audit": true } }, TOKEN).listingAccess(
        "store1",
        "pve-home",
      ),
    ).toBeNull();
  });

  it("verify needs Datastore.Verify; Datastore.Backup alone would verify only the token's own groups", () => {
    expect(
      new PbsPermissions(
        { "/datastore/store1": { "Datastore.Audit": true, "Datastore.Verify": true, "Datastore.Read": true } },
        TOKEN,
      ).verifyAccess("store1"),
    ).toBeNull();
    expect(
      new PbsPermissions(
        { "/datastore/store1": { "Datastore.Audit": true, "Datastore.Backup": true, "Datastore.Prune": true } },
        TOKEN,
      ).verifyAccess("store1"),
    ).toMatch(
      /has Datastore\.Backup, with which PBS verifies only the backup groups the token owns\): grant Datastore\.Verify on \/datastore\/store1 \(role DatastoreReader\)/,
    );
  });

  it("sync jobs to a remote need Remote.Audit somewhere under /remote", () => {
    expect(new PbsPermissions({ "/datastore": { "Datastore.Audit": true } }, TOKEN).syncAccess()).toMatch(
      /grant Remote\.Audit on \/remote\/<remote> \(role RemoteAudit\).*or set sync_offsite: false/,
    );
    expect(new PbsPermissions({ "/remote/offsite-pbs": { "Remote.Audit": true } }, TOKEN).syncAccess()).toBeNull();
    expect(new PbsPermissions({ "/remote": { "Remote.Audit": true } }, TOKEN).syncAccess()).toBeNull();
  });
});
