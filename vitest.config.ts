import { defineConfig } from "vitest/config";

/**
 * `backup2mqtt-source` is the export condition under which the lab package (lab/package.json)
 * points at its TypeScript sources: tests run the lab's current code, not its last build.
 */
const sourceConditions = ["backup2mqtt-source", "module", "node", "development|production"];

export default defineConfig({
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    include: [
      "lab/src/**/*.test.ts",
      "bridge/src/**/*.test.ts",
      "test/integration/**/*.test.ts",
      "test/fuzz/**/*.test.ts",
      "test/golden/**/*.test.ts",
      "test/dist/**/*.test.ts",
      "test/packaging/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
