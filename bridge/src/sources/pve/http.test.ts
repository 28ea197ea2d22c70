/**
 * Big listings against the real lab over HTTPS: an unchanged listing costs one request and is
 * not parsed; a changed one bigger than what is kept while hashing is asked for once more and
 * parsed; a small changed one is parsed from the first answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../../lab/index.js";
import { PveHttp, type Rows } from "./http.js";

let lab: Lab;
let http: PveHttp;
beforeAll(async () => {
  lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
  // ~10,000 rows of ~150 bytes: over the 1 MiB kept while hashing.
  for (let i = 0; i < 10_000; i++) lab.control.addArchive({ vmid: 100 + (i % 4), storage: "synology", ageSeconds: 3600 + i * 60 });
  http = new PveHttp({ url: lab.url, tokenId: lab.tokens[0]!.id, tokenSecret: lab.tokens[0]!.secret, fingerprint: lab.fingerprint, timeoutMs: 10_000 }, 0);
});
afterAll(async () => {
  await http.close();
  await lab.stop();
});

const node = "proxmox-home";
const list = (storage: string, digest: string | undefined) => http.getRowsIfChanged(`/nodes/${node}/storage/${storage}/content`, { content: "backup" }, digest);
const volids = (rows: Rows) => {
  const out: string[] = [];
  rows.forEach((r, i) => (out[i] = (r as { volid: string }).volid));
  return out;
};
const counted = async <T>(fn: () => Promise<T>) => {
  const before = http.requestCount;
  const value = await fn();
  return { value, requests: http.requestCount - before };
};

describe("PveHttp.getRowsIfChanged", () => {
  it("big listing: first read parses (1 request), unchanged is skipped (1), changed is fetched again and parsed (2)", async () => {
    const first = await counted(() => list("synology", undefined));
    expect(first.requests).toBe(1);
    if (first.value.unchanged) throw new Error("first read cannot be unchanged");
    const all = volids(first.value.value);
    expect(all.length).toBeGreaterThan(10_000);

    const same = await counted(() => list("synology", first.value.digest));
    expect(same).toEqual({ value: { unchanged: true, digest: first.value.digest }, requests: 1 });

    const added = lab.control.addArchive({ vmid: 102, storage: "synology", ageSeconds: 10 });
    const changed = await counted(() => list("synology", first.value.digest));
    expect(changed.requests).toBe(2);
    if (changed.value.unchanged) throw new Error("the listing changed");
    const now = volids(changed.value.value);
    expect(now.length).toBe(all.length + 1);
    expect(now).toContain(added);
    expect(changed.value.digest).not.toBe(first.value.digest);
  });

  it("small listing: a change is parsed from the one answer", async () => {
    const first = await list("local", undefined);
    lab.control.addArchive({ vmid: 103, storage: "local", node, ageSeconds: 5 });
    const changed = await counted(() => list("local", first.digest));
    expect(changed.requests).toBe(1);
    expect(changed.value.unchanged).toBe(false);
  });
});
