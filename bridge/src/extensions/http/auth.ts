import crypto from "node:crypto";
import type { NextFunction, Request, Response } from "express";

/**
 * Constant-time comparison of a presented secret with the configured one: both sides are
 * hashed to a fixed length first, so neither the length nor a matching prefix leaks through timing.
 */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const a = crypto
    .createHash("sha256")
    .update(given ?? "")
    .digest();
  const b = crypto.createHash("sha256").update(expected).digest();
  return crypto.timingSafeEqual(a, b) && !!given;
}

/** `Authorization: Bearer <token>` against the configured token, in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? "")?.[1];
  return secretMatches(given, token);
}

/** Middleware for mutating JSON routes: 403 when no token is configured, 401 when missing or wrong. */
export function requireBearer(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token)
      return void res
        .status(403)
        .json({ error: "mutating routes are disabled: set http.token (or http.token_file) in the config" });
    if (!bearerMatches(req.header("authorization"), token)) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="backup2mqtt"');
      return void res
        .status(401)
        .json({ error: "missing or wrong bearer token (send Authorization: Bearer <http.token>)" });
    }
    next();
  };
}
