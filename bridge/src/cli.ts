#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { ConfigError, loadConfig } from "./config/load.js";
import { createLogger, LOG_FORMATS, setDefaultLogFormat, type LogFormat } from "./log.js";
import { VERSION } from "./util/version.js";
import { startService, stopOnSignals } from "./commands/run.js";
import { TopicOwnerError } from "./extensions/mqtt/connection.js";

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("not a port number");
  return n;
};
const logFormat = (v: string): LogFormat => {
  if (!(LOG_FORMATS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`use ${LOG_FORMATS.join(" or ")}`);
  return v as LogFormat;
};
const LOG_FORMAT_HELP =
  "json (one object a line: for services and log collectors) or pretty (for a person at a terminal)";
const positive = (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError("must be a positive number");
  return n;
};

// Last line of defence: log and exit instead of dying silently or limping on.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`backup2mqtt: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
  process.exitCode = 70;
});

const program = new Command()
  .name("backup2mqtt")
  .description("Every Proxmox VE guest's backup state as a Home Assistant device over MQTT")
  .version(VERSION);

program.addHelpText(
  "after",
  "\nLogs are JSON lines by default; add --log-format pretty to run, demo, plan, apply or report for lines a person reads.",
);

// --log-format of the command being run sets the format of every logger it makes.
/** The config, or exit 2 with its problems (key path and line each). */
function loadConfigOrExit(file: string) {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

program.hook("preAction", (_program, command) => {
  const f = command.opts().logFormat as LogFormat | undefined;
  if (f) setDefaultLogFormat(f);
});

program
  .command("run")
  .description("run the bridge (the service)")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .option("--log-format <format>", LOG_FORMAT_HELP, logFormat, "json")
  .action(async (o: { config: string }) => {
    const cfg = loadConfigOrExit(o.config);
    const log = createLogger(cfg.logLevel, () => cfg.secrets);
    log.info({ version: VERSION }, "backup2mqtt starting");
    for (const w of cfg.warnings ?? [])
      log.warn({ config: o.config, key: w.key, line: w.line }, `config: ${w.message}`);
    const fatal = (e: Error) => {
      process.stderr.write(`backup2mqtt: ${e.message}\n`);
      process.exit(1);
    };
    let running: Awaited<ReturnType<typeof startService>>;
    try {
      running = await startService(cfg, { log, onFatal: fatal });
    } catch (e) {
      if (e instanceof TopicOwnerError) fatal(e);
      throw e;
    }
    stopOnSignals(running.stop, log);
  });

program
  .command("forget")
  .description(
    "remove a device from Home Assistant now (a guest that is gone), instead of waiting for mqtt.removal_grace",
  )
  .argument("<id>", "the device's id, e.g. home_103 (as in its MQTT topics)")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .option("--force", "with the bridge stopped: forget a device even though the bridge last saw its guest in Proxmox")
  .action(async (id: string, o: { config: string; force?: boolean }) => {
    const cfg = loadConfigOrExit(o.config);
    const { forgetCommand } = await import("./commands/forget.js");
    emit(await forgetCommand(cfg, id, { force: o.force }));
  });

program
  .command("check")
  .description("validate the configuration and reach every source once; exits non-zero on any problem")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .action(async (o: { config: string }) => {
    // Loaded only here: check reaches every kind of source once, which `run` needs only when configured.
    const { checkConfig } = await import("./commands/check.js");
    const lines = await checkConfig(o.config);
    for (const l of lines)
      (l.ok ? process.stdout : process.stderr).write(`${l.ok ? (l.warn ? "WARN " : "ok   ") : "FAIL "} ${l.text}\n`);
    process.exit(lines.every((l) => l.ok) ? 0 : 1);
  });

program
  .command("demo")
  .description("simulated Proxmox lab + embedded MQTT broker + the bridge, for a first look")
  .option("--scenario <name>", "lab scenario: demo, seed, or a path to a scenario file", "demo")
  .option("--mqtt-port <port>", "port of the embedded MQTT broker (default 1883, or a free one if taken)", port)
  .option("--http-port <port>", "port of the HTTP API (default 8080, or a free one if taken)", port)
  .option("--task-speed <factor>", "how much faster than real time simulated backups run", positive, 10)
  .option("--poll <seconds>", "seconds between polls of the simulated lab", positive, 5)
  .option("--log-level <level>", "log level", "info")
  .option("--log-format <format>", LOG_FORMAT_HELP, logFormat, "json")
  .action(
    async (o: {
      scenario: string;
      mqttPort?: number;
      httpPort?: number;
      taskSpeed: number;
      poll: number;
      logLevel: string;
    }) => {
      // The lab is loaded only here: production paths never import it.
      const { runDemo, printDemoBanner, demoStopOnSignals } = await import("./commands/demo.js");
      const d = await runDemo({
        scenario: o.scenario,
        mqttPort: o.mqttPort,
        httpPort: o.httpPort,
        taskSpeed: o.taskSpeed,
        logLevel: o.logLevel,
        pollSeconds: o.poll,
      });
      printDemoBanner(d, o.scenario);
      demoStopOnSignals(d);
    },
  );

const emit = (r: { exitCode: number; stdout: string; stderr: string }) => {
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.exitCode;
};

program
  .command("plan")
  .description("show the PVE backup jobs the tiers imply against /cluster/backup (dry run; changes nothing)")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .option("--json", "print the plan as JSON")
  .option("--log-format <format>", `${LOG_FORMAT_HELP}; logs go to stderr`, logFormat, "json")
  .action(async (o: { config: string; json?: boolean }) => {
    const { planCommand } = await import("./commands/plan.js");
    emit(await planCommand({ config: o.config, json: o.json }));
  });

program
  .command("apply")
  .description("make PVE's backup jobs match the tiers (only jobs backup2mqtt created, or adopted ones)")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .option("-y, --yes", "really change PVE (without it, apply only shows what it would do)")
  .option("--json", "print the plan, the steps and the plan after applying as JSON")
  .option("--log-format <format>", `${LOG_FORMAT_HELP}; logs go to stderr`, logFormat, "json")
  .action(async (o: { config: string; yes?: boolean; json?: boolean }) => {
    const { planCommand } = await import("./commands/plan.js");
    emit(await planCommand({ config: o.config, json: o.json, apply: true, yes: o.yes }));
  });

program
  .command("report")
  .description("print the backup strategy document (Markdown) generated from config + live state")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .option(
    "--update <page>",
    "write it into this Markdown page instead, between the lines <!-- backup2mqtt:begin --> and <!-- backup2mqtt:end -->; the rest of the page is left as it is",
  )
  .option("--log-format <format>", `${LOG_FORMAT_HELP}; logs go to stderr`, logFormat, "json")
  .action(async (o: { config: string; update?: string }) => {
    const { reportCommand } = await import("./commands/report.js");
    emit(await reportCommand(o.config, process.env, { update: o.update }));
  });

program
  .command("dsm-login")
  .description("first login to a Synology NAS with 2-step verification: stores a trusted-device token in state_dir")
  .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
  .option("--source <name>", "the synology source (needed when several are configured)")
  .requiredOption("--otp <code>", "the 6-digit code from the authenticator app")
  .action(async (o: { config: string; source?: string; otp: string }) => {
    const { dsmLoginCommand } = await import("./sources/dsm/login-command.js");
    const r = await dsmLoginCommand(o);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exitCode = r.exitCode;
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`backup2mqtt: ${e.message}\n`);
  process.exit(1);
});
