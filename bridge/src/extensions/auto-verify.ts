/**
 * Automatic verification: every tick, verify the archives the policy says are due (per source,
 * inside its allowed window). The work itself is the guest actions' (actions/verifier.ts).
 */
import type { Extension, ExtensionContext } from "./extension.js";

export function autoVerify(tickMs = 60_000): Extension {
  return {
    name: "automatic verification",
    start(ctx: ExtensionContext) {
      ctx.scheduler.every(tickMs, async () => {
        const result = ctx.view.result;
        if (result) await ctx.engine.actions.autoVerifyTick(result.guests);
      });
    },
  };
}
