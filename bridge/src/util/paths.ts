import { fileURLToPath } from "node:url";
import path from "node:path";

/**
 * Repository paths that work both from src/ (vitest) and dist/ (compiled): both sit
 * two levels below the repository root (bridge/src/x.ts, bridge/dist/x.js).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
export const bridgeRoot = path.resolve(here, "..", "..");
export const repoRoot = path.resolve(bridgeRoot, "..");
/** The public JSON Schemas: bridge/schemas/, inside the npm package. */
export const schemasDir = path.join(bridgeRoot, "schemas");
