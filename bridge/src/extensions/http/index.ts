/**
 * The HTTP extension: JSON API, status page, Prometheus metrics, Markdown report and the PVE
 * webhook on one server (http.host:http.port), reading only the view.
 */
import type http from "node:http";
import type { Logger } from "../../log.js";
import type { Extension, ExtensionContext } from "../extension.js";
import { createHttpApp, startHttpServer } from "./server.js";

export class HttpExtension implements Extension {
  readonly name = "http";
  url?: string;
  private server?: http.Server;

  constructor(private readonly log: Logger) {}

  async start(ctx: ExtensionContext): Promise<void> {
    const { host, port, token } = ctx.cfg.http;
    const started = await startHttpServer(createHttpApp(ctx, token, this.log), host, port);
    this.server = started.server;
    this.url = started.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
