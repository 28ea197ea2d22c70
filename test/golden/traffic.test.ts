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
    if (process.env.GOLDEN_UPDATE) fs.writeFileSync(file, `${JSON.stringify(now, null, 1)}\n`);
    const committed = JSON.parse(fs.readFileSync(file, "utf8"));
    const actual = file.replace(/\.json$/, ".actual.json");
    // On a difference, the fresh recording is left beside the committed one: `diff` the two.
    if (JSON.stringify(now) !== JSON.stringify(committed))
      fs.writeFileSync(actual, `${JSON.stringify(now, null, 1)}\n`);
    else fs.rmSync(actual, { force: true });
    expect({ mqtt: now.mqtt, http: now.http }).toEqual({ mqtt: committed.mqtt, http: committed.http });
  }, 60_000);
});
