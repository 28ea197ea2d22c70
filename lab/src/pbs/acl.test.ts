import { describe, expect, it } from "vitest";
import {
  aclTreePaths,
  anyPrivsBelow,
  isBackupOwner,
  lookupPrivs,
  lookupPrivsDetails,
  NS_PRIVS_OK,
  PRIV,
  privNames,
  type PbsAcl,
  type PbsAclEntry,
} from "./acl.js";

const e = (path: string, role: PbsAclEntry["role"], propagate = true): PbsAclEntry => ({ path, role, propagate });
const names = (acl: PbsAcl, id: string, path: string) => privNames(lookupPrivs(acl, id, path), ",");

describe("PBS ACL model (proxmox-backup 3.2.4)", () => {
  it("roles are PBS's fixed privilege sets; errors name privileges in PBS's bit order", () => {
    const acl: PbsAcl = new Map([["u@pbs", [e("/datastore/store1", "DatastoreReader"), e("/remote", "RemoteAudit")]]]);
    expect(names(acl, "u@pbs", "/datastore/store1")).toBe("Datastore.Audit,Datastore.Read,Datastore.Verify");
    expect(names(acl, "u@pbs", "/remote/offsite")).toBe("Remote.Audit");
    expect(privNames(PRIV["Datastore.Backup"] | PRIV["Datastore.Audit"])).toBe("Datastore.Audit|Datastore.Backup");
    expect(privNames(PRIV["Datastore.Backup"] | PRIV["Datastore.Verify"])).toBe("Datastore.Verify|Datastore.Backup");
  });

  it("propagates down unless told not to; a non-propagating entry applies to its own path only", () => {
    const acl: PbsAcl = new Map([
      ["u@pbs", [e("/datastore", "DatastoreAudit"), e("/remote/r1", "RemoteAudit", false)]],
    ]);
    expect(names(acl, "u@pbs", "/datastore/store1/ns/deep")).toBe("Datastore.Audit");
    expect(names(acl, "u@pbs", "/remote/r1")).toBe("Remote.Audit");
    expect(names(acl, "u@pbs", "/remote/r1/store")).toBe("");
    expect(lookupPrivsDetails(acl, "u@pbs", "/remote/r1")).toEqual([PRIV["Remote.Audit"], 0]);
  });

  it("a deeper entry replaces what was inherited; NoAccess takes everything", () => {
    const acl: PbsAcl = new Map([
      [
        "u@pbs",
        [
          e("/datastore", "DatastoreReader"),
          e("/datastore/store1", "DatastoreBackup"),
          e("/datastore/store2/secret", "NoAccess"),
        ],
      ],
    ]);
    expect(names(acl, "u@pbs", "/datastore/store1")).toBe("Datastore.Backup"); // Audit not kept from above
    expect(names(acl, "u@pbs", "/datastore/store2")).toBe("Datastore.Audit,Datastore.Read,Datastore.Verify");
    expect(names(acl, "u@pbs", "/datastore/store2/secret/x")).toBe("");
  });

  it("a token gets what its own entries AND its user's give — neither alone", () => {
    const userOnly: PbsAcl = new Map([["u@pbs", [e("/datastore/store1", "DatastoreAudit")]]]);
    expect(names(userOnly, "u@pbs", "/datastore/store1")).toBe("Datastore.Audit");
    expect(names(userOnly, "u@pbs!t", "/datastore/store1")).toBe("");
    const tokenOnly: PbsAcl = new Map([["u@pbs!t", [e("/datastore/store1", "DatastoreAudit")]]]);
    expect(names(tokenOnly, "u@pbs!t", "/datastore/store1")).toBe("");
    const both: PbsAcl = new Map([
      ["u@pbs", [e("/datastore", "DatastoreAdmin")]],
      ["u@pbs!t", [e("/datastore/store1", "DatastoreReader")]],
    ]);
    expect(names(both, "u@pbs!t", "/datastore/store1")).toBe("Datastore.Audit,Datastore.Read,Datastore.Verify");
  });

  it("root@pam is the superuser, its tokens are not", () => {
    const acl: PbsAcl = new Map([["root@pam!t", [e("/datastore/store1", "DatastoreAudit")]]]);
    expect(lookupPrivs(acl, "root@pam", "/anything") & PRIV["Sys.Modify"]).toBeTruthy();
    expect(names(acl, "root@pam!t", "/datastore/store1")).toBe("Datastore.Audit");
    expect(names(acl, "root@pam!t", "/system")).toBe("");
  });

  it("any_privs_below: propagated at the path, or any entry of this auth id below it", () => {
    const acl: PbsAcl = new Map([
      ["u@pbs", [e("/datastore/store1/ns1", "DatastoreBackup")]],
      ["u@pbs!t", [e("/datastore/store1/ns1", "DatastoreBackup")]],
    ]);
    expect(anyPrivsBelow(acl, "u@pbs!t", "/datastore/store1", NS_PRIVS_OK)).toBe(true);
    expect(anyPrivsBelow(acl, "u@pbs!t", "/datastore/store2", NS_PRIVS_OK)).toBe(false);
    expect(aclTreePaths(acl).sort()).toEqual(["/datastore", "/datastore/store1", "/datastore/store1/ns1"]);
  });

  it("backup ownership: the owner, or the user of an owning token", () => {
    expect(isBackupOwner("u@pbs!t", "u@pbs!t")).toBe(true);
    expect(isBackupOwner("u@pbs!t", "u@pbs")).toBe(true);
    expect(isBackupOwner("u@pbs", "u@pbs!t")).toBe(false);
    expect(isBackupOwner("root@pam", "u@pbs!t")).toBe(false);
  });
});
