import fs from "node:fs";
import path from "node:path";
import { bridgeRoot } from "./paths.js";

export const VERSION: string = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(bridgeRoot, "package.json"), "utf8")).version as string;
  } catch {
    return "0.0.0";
  }
})();
