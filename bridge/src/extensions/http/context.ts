/** What the HTTP surface uses: the view to read, the command router to act, and a refresh to trigger. */
import type { ExtensionContext } from "../extension.js";

export type HttpContext = Pick<ExtensionContext, "view" | "router" | "refresh" | "clock">;
