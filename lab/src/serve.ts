/**
 * The simulated lab on its own, for third-party clients (test/fidelity points proxmoxer at it):
 * `node lab/dist/serve.js [--scenario demo] [--task-speed 10]` prints one JSON line
 * {url, host, port, fingerprint, certPem, tokens} and serves until stdin closes or SIGTERM.
 */
import { startLab } from "./index.js";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};

const lab = await startLab({
  scenario: arg("scenario", "demo"),
  taskSpeed: Number(arg("task-speed", "10")),
  authFailDelayMs: Number(arg("auth-fail-delay-ms", "3000")),
});
const u = new URL(lab.url);
process.stdout.write(
  `${JSON.stringify({
    url: lab.url,
    host: u.hostname,
    port: Number(u.port),
    fingerprint: lab.fingerprint,
    certPem: lab.certPem,
    tokens: lab.tokens,
  })}\n`,
);
const stop = () => void lab.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
