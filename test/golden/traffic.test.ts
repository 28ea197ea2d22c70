import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { record } from "./record.js";

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "demo-traffic.json");

describe("recorded demo traffic", () => {
  // GOLDEN_UPDATE=1 npx vitest run test/golden rewrites the recording; its git diff is the review.
  it("every MQTT message and HTTP answer of the demo with a fixed clock equals the committed recording", async () => {
    const now = await record();
    if (process.env.GOLDEN_UPDATE) fs.writeFileSync(file, JSON.stringify(now, null, 1) + "\n");
    const committed = JSON.parse(fs.readFileSync(file, "utf8"));
    expect(now.mqtt).toEqual(committed.mqtt);
    expect(now.http).toEqual(committed.http);
  }, 60_000);
});
