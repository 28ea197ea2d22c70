import { defineConfig } from "vitest/config";

// The packed npm tarball, installed into an empty folder the way a user installs it (`npm run
// test:package`). Separate from the default suite: packing rebuilds bridge/dist from scratch, which
// must not happen while other tests run the compiled CLI.
export default defineConfig({
  ssr: { resolve: { conditions: ["backup2mqtt-source", "module", "node", "development|production"] } },
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/package/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: "forks",
    fileParallelism: false,
  },
});
