import type { Logger } from "../log.js";
import { describeErrors, schemaValidator } from "../util/schemas.js";

export type Command =
  | { action: "backup"; storage?: string; mode?: "snapshot" | "suspend" | "stop"; request_id?: string; origin?: string }
  | { action: "verify"; request_id?: string; origin?: string }
  | { action: "restore_test"; request_id?: string; origin?: string }
  | { action: "set_tier"; tier: string; request_id?: string; origin?: string }
  | { action: "refresh"; request_id?: string; origin?: string }
  | { action: "run"; request_id?: string; origin?: string };

export type Target = { kind: "guest"; id: string } | { kind: "bridge" } | { kind: "hyperbackup"; id: string } | { kind: "pbs"; id: string };

export type Outcome = { ok: true; detail?: string; upid?: string } | { ok: false; reason: string };

/** What the router needs from the bridge to carry a command out. */
export interface ActionHandlers {
  backup(guestId: string, cmd: Extract<Command, { action: "backup" }>): Promise<Outcome>;
  verify(guestId: string, cmd: Extract<Command, { action: "verify" }>): Promise<Outcome>;
  restoreTest(guestId: string, cmd: Extract<Command, { action: "restore_test" }>): Promise<Outcome>;
  setTier(guestId: string, tier: string): Promise<Outcome>;
  refresh(): Promise<Outcome>;
  /** Hyper Backup task device ({"action":"run"} on <base>/hyperbackup/<task>/command). */
  runHyperBackup?(key: string): Promise<Outcome>;
  /** PBS datastore device ({"action":"verify"} on <base>/pbs/<store>/command). */
  verifyDatastore?(key: string): Promise<Outcome>;
  /** A rejected or accepted command is told to Home Assistant as an event. */
  report(target: Target, cmd: Partial<Command> | undefined, outcome: Outcome): void;
}

const MAX_PAYLOAD = 4096;

/**
 * The one path every action takes, whatever brought it (MQTT now; HTTP and the custom
 * integration later): parse, validate against schemas/command.schema.json, dispatch, report.
 * Never throws.
 */
export class CommandRouter {
  private readonly validate = schemaValidator("command");
  constructor(
    private readonly handlers: ActionHandlers,
    private readonly log: Logger,
  ) {}

  async handle(target: Target, raw: Buffer | string, from: string): Promise<Outcome> {
    const text = typeof raw === "string" ? raw : raw.toString("utf8");
    let cmd: Command | undefined;
    let outcome: Outcome;
    try {
      if (text.length > MAX_PAYLOAD) outcome = { ok: false, reason: `command too large (${text.length} bytes, at most ${MAX_PAYLOAD})` };
      else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (parsed === undefined) outcome = { ok: false, reason: "malformed command: not JSON (expected e.g. {\"action\":\"backup\"})" };
        else if (!this.validate(parsed)) outcome = { ok: false, reason: `malformed command: ${describeErrors(this.validate)}` };
        else {
          cmd = parsed as Command;
          outcome = await this.dispatch(target, cmd);
        }
      }
    } catch (e) {
      outcome = { ok: false, reason: `command failed: ${(e as Error).message}` };
    }
    if (outcome.ok) this.log.info({ target, action: cmd?.action, from }, "command accepted");
    else this.log.warn({ target, action: cmd?.action, from, reason: outcome.reason }, "command rejected");
    try {
      this.handlers.report(target, cmd, outcome);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "could not report command outcome");
    }
    return outcome;
  }

  private dispatch(target: Target, cmd: Command): Promise<Outcome> {
    if (cmd.action === "refresh") return this.handlers.refresh();
    if (target.kind === "hyperbackup")
      return cmd.action === "run" && this.handlers.runHyperBackup ? this.handlers.runHyperBackup(target.id) : Promise.resolve({ ok: false, reason: `action '${cmd.action}' is not available for a Hyper Backup task (send {"action":"run"})` });
    if (target.kind === "pbs")
      return cmd.action === "verify" && this.handlers.verifyDatastore ? this.handlers.verifyDatastore(target.id) : Promise.resolve({ ok: false, reason: `action '${cmd.action}' is not available for a PBS datastore (send {"action":"verify"})` });
    if (target.kind !== "guest") return Promise.resolve({ ok: false, reason: `action '${cmd.action}' needs a guest command topic` });
    switch (cmd.action) {
      case "backup":
        return this.handlers.backup(target.id, cmd);
      case "verify":
        return this.handlers.verify(target.id, cmd);
      case "restore_test":
        return this.handlers.restoreTest(target.id, cmd);
      case "set_tier":
        return this.handlers.setTier(target.id, cmd.tier);
      case "run":
        return Promise.resolve({ ok: false, reason: "action 'run' is for Hyper Backup task devices (use 'backup' for a guest)" });
    }
  }
}
