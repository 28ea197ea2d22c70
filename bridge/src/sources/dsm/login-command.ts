/**
 * `backup2mqtt dsm-login --config FILE --source NAME --otp CODE`: the first login of a DSM
 * account with 2-step verification. Logs in once with the code, asks DSM for a trusted-device
 * token and stores it in state_dir (file mode 0600); the bridge then logs in with the token and
 * never needs a code again. Prints neither the password nor the token.
 */
import { ConfigError, loadConfig } from "../../config/load.js";
import { DsmClient } from "./client.js";
import { DsmError } from "./errors.js";
import { deviceTokenFile } from "./source.js";
import path from "node:path";

export async function dsmLoginCommand(o: {
  config: string;
  source?: string;
  otp: string;
}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let cfg: ReturnType<typeof loadConfig>;
  try {
    cfg = loadConfig(o.config);
  } catch (e) {
    if (e instanceof ConfigError) return { exitCode: 2, stdout: "", stderr: `${e.message}\n` };
    throw e;
  }
  const nas = cfg.synology ?? [];
  const src = o.source ? nas.find((n) => n.name === o.source) : nas.length === 1 ? nas[0] : undefined;
  if (!src) {
    const names = nas.map((n) => n.name).join(", ") || "(none configured)";
    return {
      exitCode: 2,
      stdout: "",
      stderr: o.source
        ? `no synology source named '${o.source}' (configured: ${names})\n`
        : `give --source (configured: ${names})\n`,
    };
  }
  if (!/^\d{6}$/.test(o.otp))
    return { exitCode: 2, stdout: "", stderr: "--otp must be the 6-digit code from the authenticator app\n" };
  const file = deviceTokenFile(cfg.stateDir, src.name);
  let stored = false;
  let writeErr: string | undefined;
  const client = new DsmClient({
    url: src.url,
    username: src.username,
    password: src.password,
    session: src.session,
    deviceName: src.deviceName,
    fingerprint: src.fingerprint,
    caFile: src.caFile,
    timeoutMs: src.timeoutMs,
    onDeviceToken: (token) => {
      writeErr = file.write({ device_token: token });
      stored = !writeErr;
    },
  });
  try {
    await client.login(o.otp);
  } catch (e) {
    await client.close();
    const msg = e instanceof DsmError ? e.message : (e as Error).message;
    return { exitCode: 1, stdout: "", stderr: `${src.name}: ${msg}\n` };
  }
  await client.close();
  const where = path.join(cfg.stateDir, `dsm-${src.name}.json`);
  if (writeErr)
    return {
      exitCode: 1,
      stdout: "",
      stderr: `${src.name}: logged in, but the device token could not be stored in ${where}: ${writeErr}\n`,
    };
  if (!stored)
    return {
      exitCode: 1,
      stdout: "",
      stderr: `${src.name}: logged in, but DSM returned no trusted-device token (some DSM 7.0.1 builds answer an empty device_id); 2-step verification will ask again — update DSM, or use an account without 2FA restricted as the README describes\n`,
    };
  return {
    exitCode: 0,
    stdout: `${src.name}: trusted-device token stored in ${where} (as device '${src.deviceName}'); the bridge logs in without a code from now on\n`,
    stderr: "",
  };
}
