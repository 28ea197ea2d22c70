/**
 * "Verify now" on a PBS datastore: whether the token would verify all of it, starting the verify
 * task (a refusal names the privilege to grant), and reading the task's status.
 */
import { z } from "zod";
import { type PbsClient, PbsError } from "./client.js";
import { type PbsPermissions, pbsGrant } from "./permissions.js";
import { Upid } from "./schemas.js";

/**
 * Why "Verify now" would not verify the whole datastore although PBS would accept it: with
 * Datastore.Backup but no Datastore.Verify, PBS verifies only the groups the token owns. Other
 * refusals come from PBS itself (startVerify).
 */
export function verifyRefusal(perms: PbsPermissions | null, store: string): string | null {
  return perms?.has("Datastore.Backup", `/datastore/${store}`) ? perms.verifyAccess(store) : null;
}

/** Starts a verify of the whole datastore (skipping snapshots already verified); returns the UPID. */
export async function startVerify(client: PbsClient, tokenId: string, store: string): Promise<string> {
  try {
    return await client.post(`/admin/datastore/${encodeURIComponent(store)}/verify`, Upid, {
      "ignore-verified": true,
    });
  } catch (e) {
    if (e instanceof PbsError && e.kind === "permission")
      throw new PbsError(
        "permission",
        `${e.message}: ${pbsGrant(tokenId, "Datastore.Verify", `/datastore/${store}`, "DatastoreReader")}`,
        e.status,
      );
    throw e;
  }
}

/** A task's status (`running`, or `stopped` with its exit status). */
export function taskStatus(client: PbsClient, upid: string) {
  return client.get(
    `/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`,
    z.looseObject({ status: z.string(), exitstatus: z.string().optional() }),
  );
}
