import type { Logger } from "../log.js";
import type { ValidateFunction } from "ajv";
import type { Command } from "../schemas/command.js";
import {
  describeErrors,
  describingValidator,
  jsonKind,
  quoteValue,
  schemaJson,
  schemaValidator,
} from "../util/schemas.js";

export type { Command };

export type Target =
  | { kind: "guest"; id: string }
  | { kind: "bridge" }
  | { kind: "hyperbackup"; id: string }
  | { kind: "pbs"; id: string };

/**
 * What became of a command. `invalid` marks a refusal of the command itself (not JSON, unknown
 * action or field, wrong type): the sender must change it, so HTTP answers 400.
 */
export type Outcome = { ok: true; detail?: string; upid?: string } | { ok: false; reason: string; invalid?: true };

/** What the router needs from the bridge to carry a command out. */
export interface ActionHandlers {
  backup(guestId: string, cmd: Extract<Command, { action: "backup" }>): Promise<Outcome>;
  verify(guestId: string, cmd: Extract<Command, { action: "verify" }>): Promise<Outcome>;
  restoreTest(guestId: string, cmd: Extract<Command, { action: "restore_test" }>): Promise<Outcome>;
  setTier(guestId: string, tier: string): Promise<Outcome>;
  refresh(): Promise<Outcome>;
  /** Hyper Backup task device ({"action":"run"} on <base>/hyperbackup/<task>/command). */
  runHyperBackup?(key: string, cmd: Extract<Command, { action: "run" }>): Promise<Outcome>;
  /** PBS datastore device ({"action":"verify"} on <base>/pbs/<store>/command). */
  verifyDatastore?(key: string, cmd: Extract<Command, { action: "verify" }>): Promise<Outcome>;
  /** Guest ({"action":"approve_fallback"}): approve the planned fallback of a guest whose tier has fallback: ask. */
  approveFallback?(guestId: string, cmd: Extract<Command, { action: "approve_fallback" }>): Promise<Outcome>;
  /** Guest ({"action":"stop_backup"}): stop its running vzdump (tier allow_stop: true). */
  stopBackup?(guestId: string, cmd: Extract<Command, { action: "stop_backup" }>): Promise<Outcome>;
  /** Bridge device ({"action":"forget","guest":"<id>"}): remove a gone device's Home Assistant device now. */
  forget?(deviceId: string): Promise<Outcome>;
  /**
   * A rejected or accepted command is told to Home Assistant as an event. For a command that
   * failed validation, `cmd` holds only its `action` and `request_id` when they are short strings.
   */
  report(target: Target, cmd: { action?: string; request_id?: string } | undefined, outcome: Outcome): void;
}

const MAX_PAYLOAD = 4096;

const ALL_ACTIONS = [
  "backup",
  "verify",
  "restore_test",
  "set_tier",
  "refresh",
  "run",
  "forget",
  "approve_fallback",
  "stop_backup",
] as const;
const TARGET_NAMES: Record<Target["kind"], string> = {
  guest: "a guest",
  bridge: "the bridge",
  hyperbackup: "a Hyper Backup task",
  pbs: "a PBS datastore",
};

/** One validator per action, from the matching branch of bridge/schemas/command.schema.json (generated from schemas/command.ts), and the fields it allows. */
function actionValidators(): Map<string, { validate: ValidateFunction; fields: string[] }> {
  const schema = schemaJson("command") as { oneOf: { properties: Record<string, { const?: string }> }[] };
  const out = new Map<string, { validate: ValidateFunction; fields: string[] }>();
  for (const branch of schema.oneOf) {
    const action = branch.properties.action?.const;
    if (action)
      out.set(action, {
        validate: describingValidator({ type: "object", ...branch }),
        fields: Object.keys(branch.properties).filter((k) => k !== "action"),
      });
  }
  return out;
}

const shortString = (v: unknown): string | undefined =>
  typeof v === "string" && v.length > 0 && v.length <= 64 ? v : undefined;

/**
 * The one path every action takes, whatever brought it (MQTT, HTTP, the status page): parse,
 * validate against the command schema (bridge/schemas/command.schema.json), dispatch, report. A refused command gets a reason
 * written for people, naming what is valid for its target. Never throws.
 */
export class CommandRouter {
  /** Compiled at the first command, so a bridge that is never commanded never loads ajv. */
  private compiled?: { validate: ValidateFunction; byAction: ReturnType<typeof actionValidators> };
  private get validators() {
    this.compiled ??= { validate: schemaValidator("command"), byAction: actionValidators() };
    return this.compiled;
  }
  constructor(
    private readonly handlers: ActionHandlers,
    private readonly log: Logger,
  ) {}

  /** Lets an extension carry out the actions it owns (set_tier, forget…). */
  register(handlers: Partial<ActionHandlers>): void {
    Object.assign(this.handlers, handlers);
  }

  /** The actions a command topic of this kind accepts. */
  validActions(kind: Target["kind"]): string[] {
    switch (kind) {
      case "guest":
        return [
          "backup",
          "verify",
          "restore_test",
          "set_tier",
          "refresh",
          ...(this.handlers.approveFallback ? ["approve_fallback"] : []),
          ...(this.handlers.stopBackup ? ["stop_backup"] : []),
        ];
      case "bridge":
        return ["refresh", ...(this.handlers.forget ? ["forget"] : [])];
      case "hyperbackup":
        return [...(this.handlers.runHyperBackup ? ["run"] : []), "refresh"];
      case "pbs":
        return [...(this.handlers.verifyDatastore ? ["verify"] : []), "refresh"];
    }
  }

  async handle(target: Target, raw: Buffer | string, from: string): Promise<Outcome> {
    const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
    if (size === 0) {
      // An empty message is how a retained command is cleared: nothing was asked.
      this.log.debug({ target, from }, "empty command ignored");
      return { ok: false, reason: "the command is empty: nothing to do" };
    }
    let cmd: Command | undefined;
    let seen: { action?: string; request_id?: string } | undefined;
    let outcome: Outcome;
    try {
      if (size > MAX_PAYLOAD)
        outcome = {
          ok: false,
          invalid: true,
          reason: `the command is too large (${size.toLocaleString("en")} bytes; at most ${MAX_PAYLOAD.toLocaleString("en")})`,
        };
      else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
        } catch {
          parsed = undefined;
        }
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
          const o = parsed as Record<string, unknown>;
          const action = shortString(o.action);
          const requestId = shortString(o.request_id);
          if (action || requestId)
            seen = { ...(action ? { action } : {}), ...(requestId ? { request_id: requestId } : {}) };
        }
        const problem =
          parsed === undefined
            ? `the command is not JSON; send an object such as {"action":"backup"}`
            : this.problem(target, parsed);
        if (problem) outcome = { ok: false, invalid: true, reason: problem };
        else {
          cmd = parsed as Command;
          outcome = await this.dispatch(target, cmd);
        }
      }
    } catch (e) {
      outcome = { ok: false, reason: `command failed: ${(e as Error).message}` };
    }
    const action = cmd?.action ?? seen?.action;
    if (outcome.ok) this.log.info({ target, action, from }, "command accepted");
    else this.log.warn({ target, action, from, reason: outcome.reason }, "command rejected");
    try {
      this.handlers.report(target, cmd ?? seen, outcome);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "could not report command outcome");
    }
    return outcome;
  }

  /** Why a parsed command cannot be carried out on this target, as a sentence; undefined when it is valid. */
  private problem(target: Target, parsed: unknown): string | undefined {
    const valid = this.validActions(target.kind);
    const where = TARGET_NAMES[target.kind];
    const listing = `valid actions for ${where}: ${valid.join(", ")}`;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      return `a command must be a JSON object such as {"action":"${valid[0]}"} (got ${jsonKind(parsed)})`;
    const action = (parsed as Record<string, unknown>).action;
    if (action === undefined) return `'action' is missing; ${listing}`;
    if (typeof action !== "string")
      return `'action' must be a string such as "${valid[0]}" (got ${quoteValue(action)}); ${listing}`;
    if (!(ALL_ACTIONS as readonly string[]).includes(action)) return `unknown action ${quoteValue(action)}; ${listing}`;
    if (!valid.includes(action)) return `action '${action}' is not available for ${where}; ${listing}`;
    const branch = this.validators.byAction.get(action)!;
    if (!branch.validate(parsed)) return describeErrors(branch.validate, { allowed: branch.fields });
    // The branches above are the schema's oneOf; the whole schema must agree.
    if (!this.validators.validate(parsed)) return `the command does not match the command schema`;
    return undefined;
  }

  private dispatch(target: Target, cmd: Command): Promise<Outcome> {
    if (cmd.action === "refresh") return this.handlers.refresh();
    if (target.kind === "bridge" && cmd.action === "forget" && this.handlers.forget)
      return this.handlers.forget(cmd.guest);
    if (target.kind === "hyperbackup" && cmd.action === "run" && this.handlers.runHyperBackup)
      return this.handlers.runHyperBackup(target.id, cmd);
    if (target.kind === "pbs" && cmd.action === "verify" && this.handlers.verifyDatastore)
      return this.handlers.verifyDatastore(target.id, cmd);
    if (target.kind === "guest")
      switch (cmd.action) {
        case "backup":
          return this.handlers.backup(target.id, cmd);
        case "verify":
          return this.handlers.verify(target.id, cmd);
        case "restore_test":
          return this.handlers.restoreTest(target.id, cmd);
        case "set_tier":
          return this.handlers.setTier(target.id, cmd.tier);
        case "approve_fallback":
          if (this.handlers.approveFallback) return this.handlers.approveFallback(target.id, cmd);
          break;
        case "stop_backup":
          if (this.handlers.stopBackup) return this.handlers.stopBackup(target.id, cmd);
          break;
      }
    // problem() refuses every other pair before dispatch.
    return Promise.resolve({
      ok: false,
      invalid: true,
      reason: `action '${cmd.action}' is not available for ${TARGET_NAMES[target.kind]}`,
    });
  }
}
