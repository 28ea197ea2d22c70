import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["bridge/src/**/*.test.ts", "test/integration/**/*.test.ts", "test/fuzz/**/*.test.ts", "test/golden/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
