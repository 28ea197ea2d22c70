import { describe, expect, it } from "vitest";
import type { GuestInfo } from "../../evidence.js";
import { onlineNodes, readInventory, storageKey } from "./inventory.js";
import type { Resource } from "./schemas.js";

const node = (name: string, status = "online"): Resource => ({ id: `node/${name}`, type: "node", node: name, status });
const vm = (vmid: number, n: string, extra: Partial<Resource> = {}): Resource => ({
  id: `qemu/${vmid}`,
  type: "qemu",
  vmid,
  node: n,
  name: `vm${vmid}`,
  template: 0,
  tags: "prod;web",
  ...extra,
});
const storage = (id: string, n: string, extra: Partial<Resource> = {}): Resource => ({
  id: `storage/${n}/${id}`,
  type: "storage",
  storage: id,
  node: n,
  content: "backup,images",
  status: "available",
  shared: 0,
  ...extra,
});

describe("readInventory", () => {
  it("reads guests with their tags and template flag, and says whether the set of guests changed", () => {
    const first = readInventory(
      "pve",
      [node("a"), vm(100, "a"), vm(101, "a", { type: "lxc", template: 1, tags: undefined })],
      new Map(),
    );
    expect([...first.guests.values()]).toEqual([
      { source: "pve", vmid: 100, name: "vm100", type: "qemu", node: "a", tags: ["prod", "web"], template: false },
      { source: "pve", vmid: 101, name: "vm101", type: "lxc", node: "a", tags: [], template: true },
    ]);
    expect(first.membershipChanged).toBe(true);
    expect(readInventory("pve", [vm(100, "a"), vm(101, "a", { type: "lxc" })], first.guests).membershipChanged).toBe(
      false,
    );
    expect(readInventory("pve", [vm(100, "a"), vm(102, "a")], first.guests).membershipChanged).toBe(true);
  });

  it("keeps what it knew of a guest on an offline node (reported without name, tags or template)", () => {
    const before = new Map<number, GuestInfo>([
      [100, { source: "pve", vmid: 100, name: "db", type: "qemu", node: "a", tags: ["prod"], template: true }],
    ]);
    const { guests } = readInventory(
      "pve",
      [{ id: "qemu/100", type: "qemu", vmid: 100, node: "a", status: "unknown" }],
      before,
    );
    expect(guests.get(100)).toMatchObject({ name: "db", tags: ["prod"], template: true });
    expect(
      readInventory("pve", [{ id: "lxc/7", type: "lxc", vmid: 7, node: "a" }], new Map()).guests.get(7)!.name,
    ).toBe("CT 7");
  });

  it("lists backup storages: a shared one once (from a node where it is available), a local one per node", () => {
    const { storages } = readInventory(
      "pve",
      [
        storage("nas", "a", { shared: 1, status: "unknown" }),
        storage("nas", "b", { shared: 1 }),
        storage("local", "a"),
        storage("local", "b"),
        storage("images-only", "a", { content: "images" }),
      ],
      new Map(),
    );
    expect(storages.map(storageKey)).toEqual(["nas", "a/local", "b/local"]);
    expect(storages[0]).toEqual({ storage: "nas", node: "b", shared: true, available: true });
  });
});

describe("onlineNodes", () => {
  it("names the nodes that are online", () => {
    expect(onlineNodes([node("a"), node("b", "offline"), vm(100, "a")])).toEqual(["a"]);
  });
});
