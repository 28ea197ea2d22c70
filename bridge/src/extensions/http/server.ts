import http from "node:http";
import express, { type Request, type Response, type NextFunction } from "express";
import type { HttpContext } from "./context.js";
import type { Logger } from "../../log.js";
import { DEFAULT_POST_LIMIT, DEFAULT_WEBHOOK_LIMIT, postLimiter, type RateLimitOptions } from "./limits.js";
import type { Registry } from "prom-client";
import { apiRoutes } from "./routes.js";
import { statusPageRoutes } from "./status-page.js";
import { webhookRoutes, type RefreshTrigger } from "./webhook.js";

export { bearerMatches, secretMatches } from "./auth.js";

export interface HttpAppOptions {
  /** Shared secret of the PVE notification webhook; default http.webhook_secret of the config. */
  webhookSecret?: string;
  rateLimit?: RateLimitOptions;
  webhookRateLimit?: RateLimitOptions;
}

export type HttpApp = express.Express & { locals: { refreshTrigger: RefreshTrigger } };

/**
 * The HTTP surface: JSON API, status page, Prometheus metrics, Markdown report and the
 * PVE webhook. Read routes are open on the bind address (default 127.0.0.1); every mutating route
 * needs the bearer token (the webhook its own shared secret) and is rate limited. No CORS headers
 * are ever sent, so browsers keep other sites from reading or driving it.
 */
export function createHttpApp(
  http: HttpContext,
  token: string | undefined,
  log: Logger,
  opts: HttpAppOptions = {},
): HttpApp {
  const app = express() as HttpApp;
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("X-Frame-Options", "DENY");
    next();
  });
  const limit = postLimiter(opts.rateLimit ?? DEFAULT_POST_LIMIT, "POST");
  const webhookLimit = postLimiter(opts.webhookRateLimit ?? DEFAULT_WEBHOOK_LIMIT, "webhook");
  const webhook = webhookRoutes(http, opts.webhookSecret ?? http.view.cfg.http.webhookSecret, webhookLimit, log);
  app.locals.refreshTrigger = webhook.trigger;

  app.use(apiRoutes(http, token, limit));
  app.use(webhook.router);
  app.use(statusPageRoutes(http, token, limit));

  // prom-client and the metrics are loaded at the first scrape: a bridge nobody scrapes never pays for them.
  let metrics: Promise<Registry> | undefined;
  app.get("/metrics", async (_req, res) => {
    metrics ??= import("./metrics.js").then((m) => m.createMetrics(http.view));
    const registry = await metrics;
    res.setHeader("Content-Type", registry.contentType);
    res.send(await registry.metrics());
  });

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}` });
  });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) log.error({ err: err.message }, "HTTP request failed");
    else log.debug({ err: err.message, status }, "HTTP request refused");
    const message = bodyError(err) ?? (status < 500 ? err.message : "internal error");
    if (!res.headersSent) res.status(status).json({ error: message });
  });
  return app;
}

/** body-parser's refusals as sentences (its own messages are terse: "request entity too large"). */
function bodyError(
  err: Error & { type?: string; limit?: number; charset?: string; encoding?: string },
): string | undefined {
  switch (err.type) {
    case "entity.too.large":
      return `the request body is too large (at most ${(err.limit ?? 0) >= 1048576 ? `${Math.round((err.limit ?? 0) / 1048576)} MiB` : `${Math.round((err.limit ?? 0) / 1024)} KiB`})`;
    case "entity.parse.failed":
      return "the request body could not be parsed";
    case "charset.unsupported":
      return `the request body must be UTF-8 (got charset ${String(err.charset).slice(0, 40)})`;
    case "encoding.unsupported":
      return `the request body's Content-Encoding ${String(err.encoding).slice(0, 40)} is not supported (send it uncompressed, or gzip, deflate or br)`;
    case "request.aborted":
      return "the request was aborted before its body arrived";
    default:
      return undefined;
  }
}

export async function startHttpServer(
  app: express.Express,
  host: string,
  port: number,
): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as import("node:net").AddressInfo;
  return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}` };
}
