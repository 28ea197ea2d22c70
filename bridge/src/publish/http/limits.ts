import express, { type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";

export interface RateLimitOptions {
  /** Window length (ms). */
  windowMs: number;
  /** Requests per client address per window. */
  limit: number;
}

/** POSTs that start work: 10 a minute per client address is plenty for people and automations. */
export const DEFAULT_POST_LIMIT: RateLimitOptions = { windowMs: 60_000, limit: 10 };
/** PVE sends one notification per vzdump task and node; a big cluster may send bursts. */
export const DEFAULT_WEBHOOK_LIMIT: RateLimitOptions = { windowMs: 60_000, limit: 60 };

/** Request size limits: commands are tiny; a PVE notification may carry a task log (PVE caps it at 1 MiB). */
export const JSON_LIMIT = "16kb";
export const FORM_LIMIT = "4kb";
export const WEBHOOK_LIMIT = "2mb";

/** A rate limiter answering 429 with a JSON (or plain) reason and standard RateLimit headers. */
export function postLimiter(o: RateLimitOptions, what: string) {
  return rateLimit({
    windowMs: o.windowMs,
    limit: o.limit,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    // Each app gets its own in-memory store (the default), so tests and restarts start afresh.
    handler: (req: Request, res: Response) => {
      const msg = `too many ${what} requests: at most ${o.limit} per ${Math.round(o.windowMs / 1000)} s from one address`;
      if (req.accepts(["json", "html"]) === "html" && !req.path.startsWith("/api/")) res.status(429).type("text/plain").send(msg);
      else res.status(429).json({ error: msg });
    },
  });
}

export const jsonBody = express.json({ limit: JSON_LIMIT });
export const formBody = express.urlencoded({ limit: FORM_LIMIT, extended: false, parameterLimit: 10 });
