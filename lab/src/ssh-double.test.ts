import ssh2 from "ssh2";
import { describe, expect, it } from "vitest";
import { ed25519KeyPair } from "./ssh-double.js";

describe("ed25519KeyPair", () => {
  it("every pair parses, where ssh2's generator fails about 1 in 256 (mscdex/ssh2#1390)", () => {
    // 3,000 pairs: with ssh2's generator alone the chance that none is malformed is 0.996^3000 ≈ 1e-5.
    const bad: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const pair = ed25519KeyPair();
      for (const half of [pair.private, pair.public]) {
        const parsed = ssh2.utils.parseKey(half);
        if (parsed instanceof Error) bad.push(parsed.message);
      }
    }
    expect(bad).toEqual([]);
  });
});
