import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/**
 * JSON logs on stdout (pino). Secrets never reach a log: known secret values are scrubbed from
 * every line, and keys that usually carry secrets are redacted wherever they appear.
 */
export function createLogger(level: string, secrets: () => string[] = () => [], destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ["password", "token", "token_secret", "tokenSecret", "authorization", "*.password", "*.token", "*.token_secret", "*.tokenSecret", "*.authorization", "headers.authorization"],
        censor: "[redacted]",
      },
      hooks: {
        streamWrite(line: string) {
          let out = line;
          for (const s of secrets()) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
          return out;
        },
      },
    },
    (destination ?? process.stdout) as any,
  );
}
