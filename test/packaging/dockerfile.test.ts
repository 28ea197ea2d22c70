/**
 * The container image, without a Docker engine: the Dockerfile and .dockerignore at the repository
 * root read statically (./dockerfile.ts), against the files the build context holds and the example
 * config the image is documented with. Each rule is also shown to catch a broken variant.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  dockerfileProblems,
  dockerignore,
  filesUnder,
  ignored,
  parseDockerfile,
  type ImageRules,
} from "./dockerfile.js";
import { loadWithSecrets, repo } from "./examples.js";

const dockerfile = fs.readFileSync(path.join(repo, "Dockerfile"), "utf8");
const ignoreText = fs.readFileSync(path.join(repo, ".dockerignore"), "utf8");
const example = loadWithSecrets(path.join(repo, "packaging/docker/backup2mqtt.example.yaml"), "/run/secrets");
const rules: ImageRules = { listenPort: example.config.http.port, stateDir: example.config.stateDir };
const problemsOf = (text: string, ignore = ignoreText) => dockerfileProblems(text, ignore, repo, rules);

describe("Dockerfile", () => {
  it("keeps every rule (pinned bases, non-root, /livez healthcheck, volumes, COPY sources, no tests)", () => {
    expect(problemsOf(dockerfile)).toEqual([]);
  });

  it("builds in a stage of its own and installs the packed tarball in a runtime stage on the same pinned Node LTS", () => {
    const df = parseDockerfile(dockerfile);
    expect(df.stages.map((s) => s.name ?? "(final)")).toEqual(["build", "(final)"]);
    const [build, final] = df.stages;
    expect(final!.image).toBe(build!.image);
    // Even-numbered Node releases become LTS (https://nodejs.org/en/about/previous-releases).
    expect(build!.image).toMatch(/^node:(\d*[02468])\.\d+\.\d+-(bookworm|trixie)-slim$/);
  });

  it("the example config the image is documented with: listens on all interfaces of the container, keeps state in /data", () => {
    expect(example.config.http.host).toMatch(/^(0\.0\.0\.0|::)$/);
    expect(example.config.stateDir).toBe("/data");
    expect(example.secrets.sort()).toEqual(["http_token", "mqtt_password", "pve_token_secret"]);
  });

  it("the build context leaves out tests, local builds, node_modules and compose's config/ and secrets/", () => {
    const patterns = dockerignore(ignoreText);
    for (const f of [
      "test/packaging/dockerfile.test.ts",
      "bridge/src/config/load.test.ts",
      "bridge/src/actions/actions-kit.fixtures.ts",
      "lab/src/testing.ts",
      "bridge/dist/cli.js",
      "node_modules/yaml/package.json",
      "bridge/node_modules/x/index.js",
      "secrets/pve_token_secret",
      "config/backup2mqtt.yaml",
      ".git/config",
      "compose.yaml",
    ])
      expect(ignored(patterns, f), f).toBe(true);
    for (const f of [
      "README.md",
      "LICENSE",
      "bridge/src/cli.ts",
      "lab/scenarios/demo.yaml",
      "package-lock.json",
      "bridge/bin/backup2mqtt.js",
    ])
      expect(ignored(patterns, f), f).toBe(false);
    // The files a build sends: the real tree, filtered as Docker filters it.
    const sent = ["bridge", "lab"].flatMap((d) => filesUnder(repo, d)).filter((f) => !/node_modules/.test(f));
    expect(sent.filter((f) => !ignored(patterns, f) && /\.test\.ts$/.test(f))).toEqual([]);
  });
});

describe("the Dockerfile rules catch", () => {
  const variants: [string, (t: string) => string, RegExp][] = [
    [
      "a single stage",
      (t) => t.replace(/FROM \$\{NODE_IMAGE\} AS build[\s\S]*?(?=FROM \$\{NODE_IMAGE\}\n)/, ""),
      /multi-stage|packs the bridge/,
    ],
    [
      "an unpinned base (latest)",
      (t) => t.replace(/ARG NODE_IMAGE=.*/, "ARG NODE_IMAGE=node:latest"),
      /not a pinned version/,
    ],
    ["a base without a tag", (t) => t.replace(/ARG NODE_IMAGE=.*/, "ARG NODE_IMAGE=node"), /no tag/],
    [
      "a major-only tag",
      (t) => t.replace(/ARG NODE_IMAGE=.*/, "ARG NODE_IMAGE=node:24-bookworm-slim"),
      /not a pinned version/,
    ],
    ["root in the final stage", (t) => t.replace(/^USER .*/m, "USER root"), /runs as root/],
    ["no USER", (t) => t.replace(/^USER .*\n/m, ""), /runs as root/],
    ["a healthcheck on /healthz", (t) => t.replace("8080/livez", "8080/healthz"), /does not ask \/livez/],
    [
      "a healthcheck on another port",
      (t) => t.replace("127.0.0.1:8080/livez", "127.0.0.1:9090/livez"),
      /asks port 9090/,
    ],
    [
      "a healthcheck with curl",
      (t) => t.replace(/CMD \["node".*/, 'CMD ["curl", "-f", "http://127.0.0.1:8080/livez"]'),
      /curl/,
    ],
    ["no EXPOSE of the port", (t) => t.replace(/^EXPOSE .*/m, "EXPOSE 9090"), /EXPOSE does not name port 8080/],
    [
      "no volume for the state",
      (t) => t.replace('VOLUME ["/config", "/data"]', 'VOLUME ["/config"]'),
      /state_dir \/data/,
    ],
    [
      "a config outside the volumes",
      (t) => t.replace('"/config/backup2mqtt.yaml"', '"/etc/backup2mqtt.yaml"'),
      /not in a VOLUME/,
    ],
    [
      "a COPY of a file that is not there",
      (t) => t.replace("COPY lab/scenarios", "COPY lab/no-such-folder"),
      /not in the build context/,
    ],
    [
      "a COPY of the tests",
      (t) => t.replace("COPY lab/scenarios lab/scenarios/", "COPY test test/"),
      /\.dockerignore leaves it out|copies tests/,
    ],
    [
      "a runtime stage that copies sources",
      (t) => t.replace("COPY --from=build /pkg/ /tmp/pkg/", "COPY bridge/src /src/"),
      /runtime stage takes files from the build stage only/,
    ],
    ["a COPY --from of an unknown stage", (t) => t.replace("--from=build", "--from=builder"), /no such stage/],
    ["dev dependencies in the image", (t) => t.replace("--global --omit=dev", "--global"), /--omit=dev/],
    ["install scripts in the build", (t) => t.replace("npm ci --ignore-scripts", "npm ci"), /npm ci --ignore-scripts/],
    ["another command", (t) => t.replace('CMD ["run"', 'CMD ["demo"'), /backup2mqtt run/],
    ["missing OCI labels", (t) => t.replace(/org\.opencontainers\.image\.licenses="MIT"/, ""), /licenses/],
  ];
  for (const [what, mutate, problem] of variants)
    it(what, () => {
      const broken = mutate(dockerfile);
      expect(broken, "the variant must change the Dockerfile").not.toBe(dockerfile);
      expect(problemsOf(broken).join("\n")).toMatch(problem);
    });

  it("tests let back into the context by .dockerignore", () => {
    const leaky = ignoreText.replace("**/*.test.ts\n", "");
    expect(leaky).not.toBe(ignoreText);
    expect(problemsOf(dockerfile, leaky).join("\n")).toMatch(
      /COPY bridge\/src .* copies tests: bridge\/src\/.*\.test\.ts/,
    );
  });

  it("a .dockerignore that leaves a copied folder out", () => {
    expect(problemsOf(dockerfile, `${ignoreText}\nlab/scenarios\n`).join("\n")).toMatch(
      /COPY lab\/scenarios .*leaves it out/,
    );
  });
});
