/**
 * `backup2mqtt plan --config FILE [--json]` and `backup2mqtt apply --config FILE [--yes] [--json]`:
 * the PVE backup jobs the tiers imply, against /cluster/backup; apply makes PVE match.
 */
import { applyPlan, makePlan, type ApplyStep } from "../plan/apply.js";
import { hasChanges, type Plan } from "../plan/model.js";
import { renderPlan } from "../plan/render.js";
import { withSnapshot, type CommandResult } from "./one-shot.js";
import { count } from "../words/count.js";

export interface PlanCommandOptions {
  config: string;
  json?: boolean;
  apply?: boolean;
  yes?: boolean;
}

export type PlanCommandResult = CommandResult;

export function planCommand(o: PlanCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<PlanCommandResult> {
  return withSnapshot(o.config, env, async (cfg, snap) => {
    const plan = await makePlan(cfg, snap.sources, snap.result, snap.now);
    const cmd = `backup2mqtt apply --config ${o.config} --yes`;
    if (!o.apply) {
      return {
        exitCode: plan.summary.errors ? 1 : 0,
        stdout: o.json
          ? `${JSON.stringify(plan, null, 2)}\n`
          : renderPlan(plan, { applyHint: `Run '${cmd}' to make PVE match.` }),
        stderr: "",
      };
    }
    if (!hasChanges(plan)) {
      return {
        exitCode: plan.summary.errors ? 1 : 0,
        stdout: o.json ? `${JSON.stringify({ plan, steps: [], after: plan }, null, 2)}\n` : renderPlan(plan),
        stderr: "",
      };
    }
    if (!o.yes) {
      return {
        exitCode: 1,
        stdout: o.json ? `${JSON.stringify({ plan, steps: [], after: null }, null, 2)}\n` : renderPlan(plan),
        stderr: `Nothing was changed: re-run with --yes to apply these changes ('${cmd}').\n`,
      };
    }
    const steps = await applyPlan(plan, snap.sources);
    // Read PVE again: the proof that it now matches is an empty plan.
    const after: Plan = await makePlan(cfg, snap.sources, snap.result, Date.now());
    const failed = steps.filter((s) => !s.ok);
    const ok = !failed.length && !hasChanges(after) && !after.summary.errors;
    if (o.json)
      return { exitCode: ok ? 0 : 1, stdout: `${JSON.stringify({ plan, steps, after }, null, 2)}\n`, stderr: "" };
    const lines = [renderPlan(plan).trimEnd(), "", ...steps.map(stepLine), ""];
    lines.push(
      ok
        ? "Applied: PVE's backup jobs now match the tiers."
        : hasChanges(after)
          ? `PVE still differs from the tiers:\n${renderPlan(after)}`
          : `${count(failed.length, "step")} failed.`,
    );
    return { exitCode: ok ? 0 : 1, stdout: `${lines.join("\n")}\n`, stderr: "" };
  });
}

const stepLine = (s: ApplyStep) =>
  `${s.ok ? "ok    " : "FAILED"} ${s.op} ${s.id} on '${s.source}'${s.error ? `: ${s.error}` : ""}`;
