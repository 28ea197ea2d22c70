/**
 * Big listings against the real lab over HTTPS: an unchanged listing costs one request and is
 * not parsed; a changed one bigger than what is kept while hashing is asked for once more and
 * parsed; a small changed one is parsed from the first answer.
 */
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labCertificate, startLab, type Lab } from "backup2mqtt-lab";
import { PveHttp } from "./http.js";

let lab: Lab;
let http: PveHttp;
beforeAll(async () => {
  lab = await startLab({ scenario: "demo", authFailDelayMs: 0 });
  // ~10,000 rows of ~150 bytes: over the 1 MiB kept while hashing.
  for (let i = 0; i < 10_000; i++)
    lab.control.addArchive({ vmid: 100 + (i % 4), storage: "synology", ageSeconds: 3600 + i * 60 });
  http = new PveHttp(
    {
      url: lab.url,
      tokenId: lab.tokens[0]!.id,
      tokenSecret: lab.tokens[0]!.secret,
      fingerprint: lab.fingerprint,
      timeoutMs: 10_000,
    },
    0,
  );
});
afterAll(async () => {
  await http.close();
  await lab.stop();
});

const node = "proxmox-home";
/** The listing's volids as they were handed over row by row (empty when unchanged). */
let seen: string[] = [];
const list = (storage: string, digest: string | undefined) => {
  seen = [];
  return http.getRowsIfChanged(`/nodes/${node}/storage/${storage}/content`, { content: "backup" }, digest, (r, i) => {
    if (i === 0) seen = [];
    seen[i] = (r as { volid: string }).volid;
  });
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
    const all = seen;
    expect(all.length).toBeGreaterThan(10_000);
    expect(first.value.count).toBe(all.length);

    const same = await counted(() => list("synology", first.value.digest));
    expect(same).toEqual({ value: { unchanged: true, digest: first.value.digest }, requests: 1 });
    expect(seen).toEqual([]);

    const added = lab.control.addArchive({ vmid: 102, storage: "synology", ageSeconds: 10 });
    const changed = await counted(() => list("synology", first.value.digest));
    expect(changed.requests).toBe(2);
    if (changed.value.unchanged) throw new Error("the listing changed");
    const now = seen;
    expect(now.length).toBe(all.length + 1);
    expect(changed.value.count).toBe(now.length);
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

  it("a listing that is not a plain row frame is parsed whole (one more request), with the same rows", async () => {
    // A real HTTPS server answering with an extra top-level key, as a gateway might add.
    const rows = [
      { volid: "nas:backup/a", ctime: 1 },
      { volid: "nas:backup/b", ctime: 2 },
    ];
    let served = 0;
    const cert = await labCertificate();
    const server = createServer({ key: cert.key, cert: cert.cert }, (_req, res) => {
      served++;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ total: rows.length, data: rows }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const plain = new PveHttp(
      {
        url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
        fingerprint: cert.fingerprint,
        tokenId: "t@pve!x",
        tokenSecret: "s",
        timeoutMs: 5000,
      },
      0,
    );
    try {
      const got: unknown[] = [];
      const r = await plain.getRowsIfChanged(
        "/nodes/n/storage/nas/content",
        undefined,
        undefined,
        (row, i) => (got[i] = row),
      );
      expect(r).toMatchObject({ unchanged: false, count: 2 });
      expect(got).toEqual(rows);
      expect(served).toBe(2);
    } finally {
      await plain.close();
      server.close();
    }
  });
});
