// The generated Home Assistant app repository (dist/app-repository/): what a user adds to the app
// store. The Supervisor reads repository.yaml at the repository's root (supervisor/store/data.py,
// schema SCHEMA_REPOSITORY_CONFIG in supervisor/store/validate.py of home-assistant/supervisor),
// takes every **/config.{yaml,yml,json} outside dot folders and rootfs/ as an app (_find_app_configs
// in supervisor/store/data.py), and builds an app with the app's own folder as the Docker build
// context (get_docker_args in supervisor/apps/build.py). So the tree holds repository.yaml, a
// README and one folder, backup2mqtt/, copied from ha-integration/app/backup2mqtt with the version
// stamped: config.yaml's version and the Dockerfile's BUILD_VERSION default, which is the npm
// version of backup2mqtt the image installs from the registry.
import fs from "node:fs";
import path from "node:path";
import { assertReleaseVersion } from "./version.mjs";

/** What the app folder holds; anything else in the source folder is an error, so nothing slips in unseen. */
const APP_FILES = [
  "config.yaml",
  "Dockerfile",
  "DOCS.md",
  "README.md",
  "CHANGELOG.md",
  "icon.png",
  "logo.png",
  "translations",
  "rootfs",
];

/** Replaces exactly one match of `re` in `text`, or throws naming the file: a stamp that finds nothing must not pass silently. */
function stampOnce(text, re, replacement, file) {
  const matches = text.match(new RegExp(re.source, `${re.flags.replace("g", "")}g`));
  if (matches?.length !== 1)
    throw new Error(`${file}: expected one line matching ${re}, found ${matches?.length ?? 0}`);
  return text.replace(re, replacement);
}

function repositoryYaml(source) {
  const text = fs.readFileSync(source, "utf8");
  for (const key of ["name", "url", "maintainer"])
    if (!new RegExp(`^${key}: \\S`, "m").test(text)) throw new Error(`${source}: ${key} is missing`);
  return text;
}

/**
 * Where the release workflow publishes this tree: the address a user adds to the app store
 * (repository.yaml's url is the project's home page, which the store links to).
 */
const PUBLISHED_AT = process.env.B2M_APP_REPOSITORY_URL ?? "https://github.com/backup2mqtt/backup2mqtt-app";

const rootReadme = (version) => {
  const url = PUBLISHED_AT;
  return `# backup2mqtt app for Home Assistant

This repository holds the Home Assistant app (formerly called add-on) that runs
[backup2mqtt](https://github.com/backup2mqtt/backup2mqtt): it reads your Proxmox VE clusters, checks
every guest against its backup tier and shows each guest as a device in Home Assistant over MQTT.
Current version: ${version}.

## Installing

1. In Home Assistant, open **Settings → Apps → App store**.
2. Open the menu (⋮) at the top right, choose **Repositories**, add
   \`${url}\` and close the dialog.
3. Find **backup2mqtt** in the store, install it, fill in its configuration and start it.

The app needs an MQTT broker that the Supervisor knows about: install and start the **Mosquitto
broker** app first. Its documentation tab explains every option.

This repository is generated from the backup2mqtt source repository for each release; change the
source there, not here.
`;
};

export async function buildAppRepository({ repo, out, version }) {
  assertReleaseVersion(version);
  const srcRoot = path.join(repo, "ha-integration", "app");
  const src = path.join(srcRoot, "backup2mqtt");
  const app = path.join(out, "backup2mqtt");

  const extra = fs.readdirSync(src).filter((f) => !APP_FILES.includes(f));
  if (extra.length)
    throw new Error(`${src}: unexpected ${extra.join(", ")} (the app folder holds ${APP_FILES.join(", ")})`);
  const changelog = fs.readFileSync(path.join(src, "CHANGELOG.md"), "utf8");
  if (!new RegExp(`^## ${version.replace(/\./g, "\\.")}\\s*$`, "m").test(changelog))
    throw new Error(`${src}/CHANGELOG.md has no "## ${version}" section: write what this version changes first`);

  fs.mkdirSync(app, { recursive: true });
  for (const f of APP_FILES) {
    const from = path.join(src, f);
    if (!fs.existsSync(from)) continue;
    fs.cpSync(from, path.join(app, f), { recursive: true, preserveTimestamps: true });
  }

  const configFile = path.join(app, "config.yaml");
  fs.writeFileSync(
    configFile,
    stampOnce(fs.readFileSync(configFile, "utf8"), /^version: .*$/m, `version: "${version}"`, "config.yaml"),
  );
  const dockerfile = path.join(app, "Dockerfile");
  fs.writeFileSync(
    dockerfile,
    stampOnce(
      fs.readFileSync(dockerfile, "utf8"),
      /^ARG BUILD_VERSION=.*$/m,
      `ARG BUILD_VERSION=${version}`,
      "Dockerfile",
    ),
  );

  const repoYaml = repositoryYaml(path.join(srcRoot, "repository.yaml"));
  fs.writeFileSync(path.join(out, "repository.yaml"), repoYaml);
  fs.writeFileSync(path.join(out, "README.md"), rootReadme(version));
}
