/** Shared by the http-*.test.ts suites: a second HTTP app on a running stack's bridge, schema checks. */
import fs from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { createHttpApp, startHttpServer, type HttpAppOptions } from "../../bridge/src/extensions/http/server.js";
import { extensionContext } from "../../bridge/src/service.js";
import { createLogger } from "../../bridge/src/log.js";
import { schemasDir } from "../../bridge/src/util/paths.js";
import { startStack, type Stack, type StackOptions } from "../support/stack.js";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv,
) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
for (const f of fs.readdirSync(schemasDir).filter((f) => f.endsWith(".schema.json")))
  ajv.addSchema(JSON.parse(fs.readFileSync(path.join(schemasDir, f), "utf8")));

/** Throws with the errors when `data` does not match bridge/schemas/<name>.schema.json. */
export function expectSchema(name: string, data: unknown): void {
  const v = ajv.getSchema(`https://backup2mqtt.dev/schemas/${name}.schema.json`);
  if (!v) throw new Error(`no schema ${name}`);
  if (!v(data)) throw new Error(`${name}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(data).slice(0, 500)}`);
}

export interface TestHttp {
  url: string;
  logs: string[];
  app: ReturnType<typeof createHttpApp>;
  close(): Promise<void>;
}

/** A stack whose bridge has evaluated all five demo/seed guests, with the HTTP app on it. */
export async function startHttpStack(
  stackOpts: StackOptions,
  token: string | undefined,
  opts: HttpAppOptions = {},
): Promise<{ stack: Stack; http: TestHttp }> {
  const stack = await startStack(stackOpts);
  await until("first evaluation", () => stack.service.engine.result?.guests.length === 5);
  return { stack, http: await startHttp(stack, token, opts) };
}

/** The real express app over real HTTP on 127.0.0.1, on the stack's bridge, with the given token and options. */
export async function startHttp(stack: Stack, token: string | undefined, opts: HttpAppOptions = {}): Promise<TestHttp> {
  const logs: string[] = [];
  const sink = {
    write: (line: string) => {
      logs.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const secrets = [...stack.cfg.secrets, token ?? "", opts.webhookSecret ?? ""].filter(Boolean);
  const log = createLogger("debug", () => secrets, sink);
  const app = createHttpApp(extensionContext(stack.service.engine, log), token, log, opts);
  const { server, url } = await startHttpServer(app, "127.0.0.1", 0);
  return {
    url,
    logs,
    app,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function until<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
