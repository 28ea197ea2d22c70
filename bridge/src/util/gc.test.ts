import { describe, expect, it } from "vitest";
import { collectGarbageIfGrown } from "./gc.js";

describe("collectGarbageIfGrown", () => {
  it("collects only when the process grew by more than the slack since its last collection", () => {
    // The first call measures against 0 bytes: any process has grown by more than 1 MiB.
    expect(collectGarbageIfGrown(1024 * 1024)).toBe(true);
    // Right after a collection the process has not grown by 1 TiB.
    expect(collectGarbageIfGrown(1024 ** 4)).toBe(false);
    // A negative slack means "always": it collects again and takes a new reference.
    expect(collectGarbageIfGrown(-1)).toBe(true);
  });
});
