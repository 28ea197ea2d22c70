/**
 * Tier overrides: Home Assistant's tier select (`{"action":"set_tier"}`) changes a guest's tier
 * without editing the config. Kept in state_dir so they survive restarts; the policy applies them.
 */
import type { Outcome } from "../actions/router.js";
import type { Extension, ExtensionContext } from "./extension.js";

export function tierOverrides(): Extension {
  return {
    name: "tier overrides",
    start(ctx: ExtensionContext) {
      const file = ctx.engine.store.tierOverridesFile;
      let overrides = file.read();
      ctx.engine.setOverrides(overrides);
      ctx.router.register({
        setTier: async (id: string, tier: string): Promise<Outcome> => {
          if (!ctx.view.guest(id)) return { ok: false, reason: `unknown guest '${id}'` };
          const tiers = ctx.cfg.tiers;
          if (!tiers[tier])
            return { ok: false, reason: `unknown tier '${tier}' (known: ${Object.keys(tiers).join(", ")})` };
          overrides = { ...overrides, [id]: tier };
          const err = file.write(overrides);
          if (err) ctx.log.error({ err }, "could not save the tier override; it holds until restart");
          ctx.engine.setOverrides(overrides);
          ctx.reevaluate();
          return { ok: true, detail: `tier ${tier}` };
        },
      });
    },
  };
}
