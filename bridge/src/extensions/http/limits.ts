import express, { type NextFunction, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import { jsonKind } from "../../util/schemas.js";

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
      if (req.accepts(["json", "html"]) === "html" && !req.path.startsWith("/api/"))
        res.status(429).type("text/plain").send(msg);
      else res.status(429).json({ error: msg });
    },
  });
}

const rawCommandBody = express.raw({ type: () => true, limit: JSON_LIMIT });
const EXAMPLE = '{"storage":"nas"}';

/**
 * The body of a POST that starts something (e.g. POST /api/v1/guests/<id>/backup). An empty body
 * needs no Content-Type and means "no options" (req.body becomes {}); any other body must be a
 * JSON object sent as application/json in UTF-8: 415 for another content type or charset, 400
 * for text that is not JSON or JSON that is not an object. Nothing sent is ever ignored silently.
 */
export function commandBody(req: Request, res: Response, next: NextFunction): void {
  rawCommandBody(req, res, (err?: unknown) => {
    if (err) return next(err);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (raw.length === 0) {
      req.body = {};
      return next();
    }
    const type = req.header("content-type");
    const media = (type ?? "").split(";")[0]!.trim().toLowerCase();
    if (media !== "application/json") {
      const got = type ? `Content-Type ${type.slice(0, 80)}` : "no Content-Type";
      return void res.status(415).json({
        error: `the request body must be JSON sent with Content-Type: application/json (got ${got}); send no body at all for no options`,
      });
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type ?? "")?.[1];
    if (charset && !/^utf-?8$/i.test(charset))
      return void res
        .status(415)
        .json({ error: `the request body must be UTF-8 (got charset ${charset.slice(0, 40)})` });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8").replace(/^\uFEFF/, ""));
    } catch {
      return void res.status(400).json({
        error: `the request body is not valid JSON; send a JSON object such as ${EXAMPLE}, or no body at all`,
      });
    }
    if (body === null || typeof body !== "object" || Array.isArray(body))
      return void res
        .status(400)
        .json({ error: `the request body must be a JSON object such as ${EXAMPLE} (got ${jsonKind(body)})` });
    req.body = body;
    next();
  });
}
export const formBody = express.urlencoded({ limit: FORM_LIMIT, extended: false, parameterLimit: 10 });
