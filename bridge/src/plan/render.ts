/** The plan as a person reads it: one block per job, + create, ~ update, - delete, = unchanged. */
import { MANAGED_FIELDS, hasChanges, type Action, type Plan } from "./model.js";
import { count } from "../words/count.js";

const show = (field: string, v: string | null): string => {
  if (v === null) return "(absent)";
  if (field === "enabled") return v === "1" ? "1 (scheduled)" : "0 (manual-only: PVE never runs it by itself)";
  return v;
};

function guestsText(a: Extract<Action, { guests: unknown }>): string {
  return a.guests.map((g) => `${g.name} (${g.vmid})`).join(", ");
}

export function renderPlan(plan: Plan, opts: { applyHint?: string } = {}): string {
  const out: string[] = [];
  for (const s of plan.sources) {
    const n = (op: Action["op"]) => s.actions.filter((a) => a.op === op).length;
    out.push(
      `Proxmox '${s.source}' (${s.url}): ${n("create")} to create, ${n("update")} to update, ${n("delete")} to delete, ${n("unchanged")} unchanged`,
    );
    for (const e of s.errors) out.push(`  ERROR: ${e}`);
    for (const a of s.actions) {
      out.push("");
      if (a.op === "delete") {
        out.push(`- ${a.id}   delete: ${a.reason}`);
        continue;
      }
      const head = `${a.id}   tier ${a.tier} (${a.tierLabel})${a.adopted ? ", adopted" : ""}: ${guestsText(a)}`;
      if (a.op === "create") {
        out.push(`+ ${head}`);
        for (const f of MANAGED_FIELDS)
          if (a.fields[f] !== undefined) out.push(`    ${f.padEnd(15)} ${show(f, a.fields[f]!)}`);
      } else if (a.op === "update") {
        out.push(`~ ${head}`);
        for (const c of a.changes)
          out.push(`    ${c.field.padEnd(15)} ${show(c.field, c.from)}  →  ${show(c.field, c.to)}`);
      } else {
        out.push(`= ${head}   unchanged`);
      }
    }
    if (s.unmanaged.length) {
      out.push("", "  Jobs backup2mqtt did not create (never touched):");
      for (const u of s.unmanaged) {
        out.push(
          `    ${u.id}  ${u.enabled ? "enabled" : "disabled"}  ${u.schedule ?? "(no schedule)"}  ${u.selection}${u.storage ? `  → ${u.storage}` : ""}` +
            (u.selects.length
              ? `  [${u.selects.map((g) => `${g.name}${g.tier ? ` ${g.tier}` : ""}`).join(", ")}]`
              : ""),
        );
        out.push(`      ${u.hint}`);
      }
    }
    for (const w of s.warnings) out.push(`  note: ${w}`);
    out.push("");
  }
  const { create, update, delete: del, errors } = plan.summary;
  if (hasChanges(plan))
    out.push(
      `Plan: ${create} to create, ${update} to update, ${del} to delete.${opts.applyHint ? ` ${opts.applyHint}` : ""}`,
    );
  else if (!errors) out.push("No changes: PVE's backup jobs match the tiers.");
  else out.push("No changes where PVE could be read and the tiers could be turned into jobs.");
  if (errors) out.push(`${count(errors, "error")}: see above; apply leaves the affected tiers alone.`);
  return `${out.join("\n")}\n`;
}
