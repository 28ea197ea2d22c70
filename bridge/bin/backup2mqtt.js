#!/usr/bin/env node
// The command `backup2mqtt`. npm links a package's bin when it installs it; in the repository that
// happens at `npm ci`, before anything is compiled, and npm skips a bin whose file does not exist
// yet. This file always exists, so the link is made, and it starts the compiled CLI once there is one.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("backup2mqtt is not built yet: run `npm run build` (or `npm start`) in the repository first.\n");
  process.exit(1);
}
await import(cli.href);
