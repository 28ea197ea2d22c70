import { pino, symbols, type Logger as PinoLogger, type LogFn } from "pino";
import { createRequire } from "node:module";
import type { prettyFactory as PrettyFactory } from "pino-pretty";

export type Logger = PinoLogger;

/** `json` (one object a line, for services and log collectors) or `pretty` (for a person at a terminal). */
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

let defaultFormat: LogFormat = "json";

/** The format of loggers made without an explicit one: the CLI sets it from `--log-format`. */
export function setDefaultLogFormat(format: LogFormat): void {
  defaultFormat = format;
}

export interface LoggerOptions {
  /** Defaults to the one set by setDefaultLogFormat (json unless the CLI says otherwise). */
  format?: LogFormat;
  /**
   * The same warning or error (same message, same fields, same logger) repeated within this
   * window is written once; when the window ends, one line says how often it repeated.
   * 0 turns this off. Default 60 s.
   */
  repeatWindowMs?: number;
}

const WARN = 40;
const INFO = 30;
/** Distinct messages followed at once; past this a new one is simply written (memory stays bounded). */
const MAX_FOLLOWED = 500;

/**
 * JSON logs on stdout (pino), or pretty lines for a person. Secrets never reach a log: known
 * secret values are scrubbed from every line (before it is made pretty), and keys that usually
 * carry secrets are redacted wherever they appear. Repeated identical warnings are rate-limited.
 */
export function createLogger(
  level: string,
  secrets: () => string[] = () => [],
  destination?: NodeJS.WritableStream,
  options: LoggerOptions = {},
): Logger {
  const out = destination ?? process.stdout;
  const format = options.format ?? defaultFormat;
  const repeats = new RepeatLimiter(options.repeatWindowMs ?? 60_000);
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          "password",
          "token",
          "token_secret",
          "tokenSecret",
          "authorization",
          "*.password",
          "*.token",
          "*.token_secret",
          "*.tokenSecret",
          "*.authorization",
          "headers.authorization",
        ],
        censor: "[redacted]",
      },
      hooks: {
        logMethod(args, method, lvl) {
          repeats.log(this, args, method, lvl);
        },
        streamWrite(line: string) {
          let s = line;
          for (const secret of secrets()) if (secret && secret.length >= 4) s = s.split(secret).join("[redacted]");
          return s;
        },
      },
    },
    (format === "pretty" ? prettyStream(out) : out) as pino.DestinationStream,
  );
}

/** Each (already scrubbed) JSON line turned into a readable one, synchronously: nothing is lost at exit. */
function prettyStream(out: NodeJS.WritableStream): { write(line: string): boolean } {
  const colorize = (out as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  // pino-pretty is CommonJS: loaded synchronously, and only when a logger is pretty (not in a json service).
  const { prettyFactory } = createRequire(import.meta.url)("pino-pretty") as { prettyFactory: typeof PrettyFactory };
  const prettify = prettyFactory({
    colorize,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "pid,hostname",
    singleLine: true,
  });
  return { write: (line: string) => out.write(prettify(line)) };
}

interface Followed {
  start: number;
  suppressed: number;
  logger: Logger;
  args: unknown[];
  method: LogFn;
  bindings: string;
  timer?: NodeJS.Timeout;
}

/**
 * Rate limit for repeated warnings and errors. The first one is written at once; identical ones in
 * the next `windowMs` are counted, and when the window ends (or, if the timer could not run, when
 * the next one comes) one line "<message> (repeated N times in 60 s)" stands for them. A different
 * message is never held back, and a later info line of the same logger (e.g. "MQTT reconnected")
 * first writes the pending summaries, so the order on the page stays true.
 */
class RepeatLimiter {
  private readonly followed = new Map<string, Followed>();

  constructor(private readonly windowMs: number) {}

  log(logger: Logger, args: unknown[], method: LogFn, level: number): void {
    if (this.windowMs <= 0) return void (method as (...a: unknown[]) => void).apply(logger, args);
    const bindings = String((logger as unknown as Record<symbol, unknown>)[symbols.chindingsSym] ?? "");
    if (level < WARN) {
      if (level >= INFO && this.followed.size) this.flushBindings(bindings);
      return void (method as (...a: unknown[]) => void).apply(logger, args);
    }
    const key = repeatKey(level, bindings, args);
    const now = Date.now();
    const seen = key === undefined ? undefined : this.followed.get(key);
    if (seen && now - seen.start < this.windowMs) {
      seen.suppressed++;
      return;
    }
    if (seen) this.flush(key!, seen);
    (method as (...a: unknown[]) => void).apply(logger, args);
    if (key === undefined || this.followed.size >= MAX_FOLLOWED) return;
    const f: Followed = { start: now, suppressed: 0, logger, args, method, bindings };
    f.timer = setTimeout(() => this.flush(key, f), this.windowMs);
    f.timer.unref?.();
    this.followed.set(key, f);
  }

  private flushBindings(bindings: string): void {
    for (const [key, f] of this.followed) if (f.bindings === bindings && f.suppressed > 0) this.flush(key, f);
  }

  private flush(key: string, f: Followed): void {
    if (this.followed.get(key) === f) this.followed.delete(key);
    if (f.timer) clearTimeout(f.timer);
    if (f.suppressed === 0) return;
    const n = f.suppressed;
    f.suppressed = 0;
    (f.method as (...a: unknown[]) => void).apply(f.logger, summaryArgs(f.args, n, this.windowMs));
  }
}

/** Same level, same logger (its bindings), same fields and message; undefined when not comparable. */
function repeatKey(level: number, bindings: string, args: unknown[]): string | undefined {
  try {
    return `${level}\u0000${bindings}\u0000${JSON.stringify(args, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : typeof v === "bigint" ? String(v) : v))}`;
  } catch {
    return undefined; // circular or otherwise odd: written every time, never held back
  }
}

function summaryArgs(args: unknown[], n: number, windowMs: number): unknown[] {
  const note = `(repeated ${n === 1 ? "once" : `${n} times`} in ${formatWindow(windowMs)})`;
  const [first, ...rest] = args;
  if (typeof first === "string") return [{ repeated: n }, `${first} ${note}`, ...rest];
  const fields: Record<string, unknown> =
    first instanceof Error ? { err: first } : { ...(first as Record<string, unknown>) };
  const msg =
    typeof rest[0] === "string"
      ? (rest.shift() as string)
      : typeof fields.msg === "string"
        ? (fields.msg as string)
        : "";
  delete fields.msg;
  return [{ ...fields, repeated: n }, msg ? `${msg} ${note}` : note, ...rest];
}

function formatWindow(ms: number): string {
  return ms % 60_000 === 0 && ms > 60_000 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
