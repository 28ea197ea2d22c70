import { defineConfig } from "vitest/config";

// Real Home Assistant tests: slow (hass takes tens of seconds to start), one process at a time.
// Run: npx vitest run --config test/ha/vitest.config.ts   (build the root first: bash test/ha/build-env.sh)
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/ha/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 420_000,
    teardownTimeout: 60_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
