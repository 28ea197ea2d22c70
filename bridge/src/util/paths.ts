import { fileURLToPath } from "node:url";
import path from "node:path";

/**
 * Paths inside the npm package that work both from src/ (vitest) and dist/ (compiled): both sit
 * one level below the package root (src/util/x.ts, dist/util/x.js).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
export const bridgeRoot = path.resolve(here, "..", "..");
/** The public JSON Schemas: bridge/schemas/, inside the npm package. */
export const schemasDir = path.join(bridgeRoot, "schemas");
