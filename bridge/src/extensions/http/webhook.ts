/**
 * PVE push: the receiver for a PVE 8.3+ notification webhook target. PVE calls it when a vzdump
 * task ends (one notification per task and node). The notification is only a trigger: the
 * details (which guests, which archives, which errors) are read from the API by a refresh.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { HttpContext } from "./context.js";
import type { Logger } from "../../log.js";
import { secretMatches } from "./auth.js";
import { WEBHOOK_LIMIT } from "./limits.js";

export const WEBHOOK_PATH = "/api/v1/webhook/pve";
export const WEBHOOK_HEADER = "x-backup2mqtt-secret";

/** Coalesces triggers: one refresh at a time, and one more after it when triggers arrived meanwhile. */
export class RefreshTrigger {
  private running: Promise<void> | null = null;
  private again = false;
  /** Refreshes started by this trigger (for tests and logs). */
  count = 0;
  constructor(
    private readonly http: Pick<HttpContext, "refresh">,
    private readonly log: Logger,
  ) {}

  fire(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        this.count++;
        await this.http.refresh({ content: true });
      } while (this.again);
    })()
      .catch((e) => this.log.error({ err: (e as Error).message }, "refresh after a PVE notification failed"))
      .finally(() => (this.running = null));
    return this.running;
  }
}

export function webhookRoutes(
  http: HttpContext,
  secret: string | undefined,
  limiter: express.RequestHandler,
  log: Logger,
): { router: express.Router; trigger: RefreshTrigger } {
  const router = express.Router();
  const trigger = new RefreshTrigger(http, log);
  const auth = (req: Request, res: Response, next: NextFunction) => {
    if (!secret)
      return void res.status(403).json({
        error: "the PVE webhook is disabled: set http.webhook_secret (or http.webhook_secret_file) in the config",
      });
    if (!secretMatches(req.header(WEBHOOK_HEADER), secret))
      return void res.status(401).json({ error: `missing or wrong ${WEBHOOK_HEADER} header` });
    // Authenticated: refresh at once, before the body is even read (the body is only for the log).
    void trigger.fire();
    next();
  };
  router.post(WEBHOOK_PATH, limiter, auth, express.text({ type: () => true, limit: WEBHOOK_LIMIT }), (req, res) => {
    let info: Record<string, unknown> = {};
    try {
      const body = typeof req.body === "string" && req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {};
      const fields = (body.fields ?? {}) as Record<string, unknown>;
      info = {
        severity: body.severity ?? body.sev,
        type: fields.type,
        hostname: fields.hostname,
        job: fields["job-id"],
        title: typeof body.title === "string" ? body.title.slice(0, 200) : undefined,
      };
    } catch {
      info = { body: "not JSON (fine: the notification is only a trigger)" };
    }
    log.info(info, "PVE notification received: refreshing");
    res.status(202).json({ ok: true, detail: "refresh started" });
  });
  return { router, trigger };
}
