/**
 * The end of a guest's backup as one step in the evidence. Three facts say a backup runs or ended,
 * and the bridge reads them at different moments: the task (its status and log, polled every
 * fast-loop tick), the guest's `lock: backup` (from /cluster/resources, every full poll) and the
 * new archive (from the storage listing, read again once a task ended). Published as they come,
 * a guest's state showed the new last backup while the lock of an older inventory read still said
 * running, or stopped running one message before the archive was listed.
 *
 * So, per guest whose backup the bridge saw end well (the task log's "Finished Backup of VM n",
 * or the task's OK/WARNINGS end):
 *
 * - its attempt is still told as running until a listing read after that moment shows the new
 *   archive. Bounded: when neither that listing nor the next one shows it (a storage the token
 *   cannot list, an archive pruned at once), the attempt is told as it ended, and a line is logged;
 * - a `lock: backup` from an inventory read that began before that moment is the ended backup's
 *   own lock (vzdump unlocks a guest before it logs "Finished Backup of VM n", and the lock in
 *   /cluster/resources is read from the guest's config, so a read begun later no longer shows it):
 *   it is not taken as running. The next full poll reads the lock again as usual; a new backup of
 *   the guest started meanwhile shows in the task list read in that same poll. Dropping that lock
 *   rather than asking /cluster/resources again when a task ends costs no request, and it also
 *   holds when two reads overlap (a full poll that began before the end and applies its
 *   inventory after the fast loop saw it).
 *
 * Moments are steps of one counter (not clock times): a read begins at a step, an end is seen at
 * a step, and only their order matters.
 */
import type { Archive, BackupAttempt, GuestInfo } from "../../evidence.js";

/** Listings read after the end was seen (that refresh's and one more) before a missing archive is given up on. */
export const LISTINGS_BEFORE_GIVING_UP = 2;

/** A guest's archive of a backup begun at `startMs` (archive times are whole seconds of the node's clock, like task times). */
const isArchiveOf = (a: Archive, startMs: number) => a.ctimeMs >= startMs - 1000;

interface PendingEnd {
  vmid: number;
  upid: string;
  /** The task's start (the guest's archive is not older). */
  startMs: number;
  /** The step at which the end was seen. */
  seenAt: number;
  /** Listings begun after seenAt that may still be read before the archive is given up on. */
  listingsLeft: number;
}

export class BackupEnds {
  private steps = 0;
  /** Ended backups whose archive no listing read since showed yet, by `${upid} ${vmid}`. */
  private readonly pending = new Map<string, PendingEnd>();
  /** The step at which each guest's latest backup end was seen. */
  private readonly endSeenAt = new Map<number, number>();
  /** The step at which the inventory read now applied began. */
  private inventoryAt = 0;

  /** The next step: taken when a read begins. */
  step(): number {
    return ++this.steps;
  }

  /** A followed task's guest ended well (see TaskFollowerDeps.guestEnded). */
  ended(vmid: number, upid: string, startMs: number): void {
    const seenAt = this.step();
    this.pending.set(`${upid} ${vmid}`, { vmid, upid, startMs, seenAt, listingsLeft: LISTINGS_BEFORE_GIVING_UP });
    this.endSeenAt.set(vmid, seenAt);
  }

  /** The inventory read begun at `readAt` is now the source's; ends of guests that are gone are forgotten. */
  inventoryApplied(readAt: number, guests: ReadonlyMap<number, GuestInfo>): void {
    this.inventoryAt = readAt;
    for (const vmid of this.endSeenAt.keys()) if (!guests.has(vmid)) this.endSeenAt.delete(vmid);
  }

  /** Is there an ended backup whose archive a listing has yet to show (the listings should be read again)? */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /**
   * A listing begun at step `readAt` was applied: ended backups seen before it whose archive it
   * shows are done; those it does not show use up one of their listings. Returns the ones given
   * up on now, for the log.
   */
  listingApplied(readAt: number, archivesOf: (vmid: number) => Archive[]): PendingEnd[] {
    const givenUp: PendingEnd[] = [];
    for (const [key, p] of this.pending) {
      if (p.seenAt > readAt) continue; // the listing began before the end: it says nothing about it
      if (archivesOf(p.vmid).some((a) => isArchiveOf(a, p.startMs))) this.pending.delete(key);
      else if (--p.listingsLeft <= 0) {
        this.pending.delete(key);
        givenUp.push(p);
      }
    }
    return givenUp;
  }

  /** The guests as evidence: a lock the ended backup held, read before its end was seen, is left out. */
  guests(guests: Iterable<GuestInfo>): GuestInfo[] {
    const out: GuestInfo[] = [];
    for (const g of guests) {
      const endAt = g.lock === "backup" ? this.endSeenAt.get(g.vmid) : undefined;
      if (endAt !== undefined && this.inventoryAt < endAt) {
        const { lock: _ended, ...rest } = g;
        out.push(rest);
      } else out.push(g);
    }
    return out;
  }

  /** The attempts as evidence: one that ended well but whose archive is not listed yet is still running. */
  attempts(attempts: BackupAttempt[], archivesOf: (vmid: number) => Archive[]): BackupAttempt[] {
    if (!this.pending.size) return attempts;
    return attempts.map((a) => {
      const p = this.pending.get(`${a.upid} ${a.vmid}`);
      if (!p || a.result === "running" || a.result === "failed") return a;
      if (archivesOf(a.vmid).some((x) => isArchiveOf(x, p.startMs))) return a;
      const { endMs: _notYet, ...rest } = a;
      return { ...rest, result: "running" };
    });
  }
}
