import { describe, expect, it } from "vitest";
import { ClusterTaskWatch, storageOfTaskId, type FollowedState } from "./cluster-tasks.js";
import { ListingPlan, USAGE_COOLDOWN_POLLS, UsageWatch } from "./listing-plan.js";
import type { Task } from "./schemas.js";

const task = (node: string, n: number, type: string, status?: string, id = ""): Task => ({
  upid: `UPID:${node}:${n}:${type}`,
  node,
  starttime: 1000 + n,
  type,
  id,
  ...(status ? { status, endtime: 1001 + n } : {}),
});
const none = (): FollowedState => "unknown";

describe("ClusterTaskWatch", () => {
  it("the first answer is a baseline: only a running vzdump nobody follows is news", () => {
    const w = new ClusterTaskWatch();
    const news = w.read([task("a", 1, "vzdump", "OK"), task("b", 2, "vzdump"), task("c", 3, "imgdel", "OK")], none);
    expect([...news.taskNodes]).toEqual(["b"]);
    expect([...news.listingNodes]).toEqual([]);
    expect(news.listingStorages).toEqual([]);
  });

  it("the same answer again is no news; a start, an end and a content task are", () => {
    const w = new ClusterTaskWatch();
    const base = [task("a", 1, "vzdump", "OK"), task("b", 2, "vzdump")];
    w.read(base, none);
    const followed = (upid: string): FollowedState => (upid.includes(":2:") ? "running" : "done");
    const same = w.read(base, followed);
    expect([same.taskNodes.size, same.listingNodes.size, same.listingStorages.length]).toEqual([0, 0, 0]);
    const news = w.read(
      [
        task("a", 1, "vzdump", "OK"),
        task("b", 2, "vzdump", "OK"),
        task("c", 4, "prunebackups", "OK", "300@nas"),
        task("c", 5, "imgdel", "OK", "local"),
        task("c", 6, "qmstart", "OK", "300"),
      ],
      followed,
    );
    expect([...news.taskNodes]).toEqual(["b"]);
    expect([...news.listingNodes]).toEqual(["b"]);
    expect(news.listingStorages).toEqual([
      { node: "c", storage: "nas" },
      { node: "c", storage: "local" },
    ]);
  });

  it("a vzdump whose end the follower saw while following it is no news; one it found ended is", () => {
    const w = new ClusterTaskWatch();
    w.read([task("a", 1, "vzdump"), task("b", 2, "vzdump")], () => "running");
    const news = w.read([task("a", 1, "vzdump", "OK"), task("b", 2, "vzdump", "OK")], (upid) =>
      upid.includes(":1:") ? "done" : "history",
    );
    expect([...news.taskNodes]).toEqual(["b"]);
    expect([...news.listingNodes]).toEqual(["b"]);
  });

  it("a node whose previous entries were all pushed out by unseen ones has a gap: its task list is read", () => {
    const w = new ClusterTaskWatch();
    w.read([task("a", 1, "vzdump", "OK"), task("a", 2, "qmstart", "OK")], none);
    const full = Array.from({ length: 25 }, (_, i) => task("a", 100 - i, "qmstart", "OK"));
    const news = w.read(full, () => "done");
    expect([...news.taskNodes]).toEqual(["a"]);
    expect([...news.listingNodes]).toEqual(["a"]);
    // One previous entry still listed: nothing unseen was dropped.
    const w2 = new ClusterTaskWatch();
    w2.read([task("a", 1, "qmstart", "OK")], none);
    const kept = w2.read([...full.slice(0, 24), task("a", 1, "qmstart", "OK")], () => "done");
    expect(kept.taskNodes.size).toBe(0);
  });

  it("names the storage of an imgdel/prunebackups id", () => {
    expect(storageOfTaskId("100@nas")).toBe("nas");
    expect(storageOfTaskId("local")).toBe("local");
    expect(storageOfTaskId("local:backup_vzdump-qemu-100.vma.zst")).toBe("local");
    expect(storageOfTaskId(undefined)).toBeUndefined();
  });
});

describe("UsageWatch and ListingPlan", () => {
  const GB = 1e9;
  const nas = (disk: number) => ({
    storage: "nas",
    node: "a",
    shared: true,
    available: true,
    disk,
    maxdisk: 1000 * GB,
  });

  it("usage moved by at least max(smallest archive, 1 %) lists the storage, at most once per cooldown", () => {
    const u = new UsageWatch();
    u.listed(nas(500 * GB));
    const smallest = () => 2 * GB;
    expect(u.moved([nas(509 * GB)], smallest)).toEqual([]); // 9 GB < 1 % of 1 TB
    expect(u.moved([nas(510 * GB)], smallest)).toEqual(["nas"]);
    for (let i = 1; i < USAGE_COOLDOWN_POLLS; i++) expect(u.moved([nas(520 * GB)], smallest)).toEqual([]);
    expect(u.moved([nas(520 * GB)], smallest)).toEqual(["nas"]);
    u.listed(nas(520 * GB));
    for (let i = 0; i < 10; i++) expect(u.moved([nas(521 * GB)], () => 50 * GB)).toEqual([]);
  });

  it("a node's plan covers its local storages and the shared ones", () => {
    const p = new ListingPlan();
    const all = [
      { storage: "local", node: "a", shared: false, available: true },
      { storage: "local", node: "b", shared: false, available: true },
      nas(0),
    ];
    expect(p.take(all)).toHaveLength(3); // a new plan reads everything once
    expect(p.due).toBe(false);
    p.node("b");
    expect(p.take(all).map((s) => `${s.node}/${s.storage}`)).toEqual(["b/local", "a/nas"]);
    p.storage("a/local");
    expect(p.take(all).map((s) => `${s.node}/${s.storage}`)).toEqual(["a/local"]);
  });
});
