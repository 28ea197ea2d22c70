/**
 * The version lives in one place, bridge/package.json: `npm run dist` stamps it into the generated
 * HACS manifest, the app's config.yaml and Dockerfile, and the CLI reads it at run time. The source
 * copies that Home Assistant and the Supervisor also read straight from this repository (a custom
 * integration needs a manifest version to load at all) must not drift from it.
 */
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { VERSION } from "../../bridge/src/util/version.js";

const repo = path.resolve(import.meta.dirname, "../..");
const read = (f: string) => fs.readFileSync(path.join(repo, f), "utf8");
const version = (JSON.parse(read("bridge/package.json")) as { version: string }).version;

describe("one version", () => {
  it("the CLI reports bridge/package.json's version", () => {
    expect(VERSION).toBe(version);
  });
  it("the integration's source manifest and the app's source config carry the same version", () => {
    expect(
      (JSON.parse(read("ha-integration/custom_components/backup2mqtt/manifest.json")) as { version: string }).version,
    ).toBe(version);
    expect((parse(read("ha-integration/app/backup2mqtt/config.yaml")) as { version: string }).version).toBe(version);
  });
  it("the app's changelog has an entry for it", () => {
    expect(read("ha-integration/app/backup2mqtt/CHANGELOG.md")).toMatch(
      new RegExp(`^## ${version.replaceAll(".", "\\.")}\\b`, "m"),
    );
  });
});
