/**
 * What `docker build` does with the Dockerfile, done without Docker (there is no engine where the
 * tests run): the build stage's COPY instructions fill an empty folder from the build context as
 * .dockerignore filters it, its RUN commands run there (npm ci, npm pack), and the runtime stage's
 * npm install of the tarball goes into a prefix standing in for the image's /usr/local. The
 * image's absolute paths (WORKDIR /src, /pkg, /tmp/pkg) are mapped into one temporary root.
 * It runs the Node and npm of the machine, not the image's: what it proves is that the context
 * holds every file the build needs and that the commands make an installable package.
 */
import { execFileSync } from "node:child_process";
import { userEnv } from "../support/user-env.js";
import fs from "node:fs";
import path from "node:path";
import { dockerignore, filesUnder, ignored, parseDockerfile } from "./dockerfile.js";

export interface BuiltImage {
  /** The stand-in for the image's root: <root>/usr/local/bin/backup2mqtt is the installed command. */
  root: string;
  /** The packed tarball the runtime stage installed. */
  tarball: string;
  log: string;
}

export function buildImage(repo: string, root: string): BuiltImage {
  const df = parseDockerfile(fs.readFileSync(path.join(repo, "Dockerfile"), "utf8"));
  const patterns = dockerignore(fs.readFileSync(path.join(repo, ".dockerignore"), "utf8"));
  const inRoot = (p: string) => path.join(root, p);
  // Absolute paths of the image in a shell command, mapped into the root.
  const mapPaths = (cmd: string) =>
    cmd.replace(/(^|[\s=])\/(src|pkg|tmp\/pkg)\b/g, (_m, pre, p) => `${pre}${inRoot(p)}`);
  const env = userEnv();
  let log = "";
  const sh = (cmd: string, cwd: string) => {
    log += `$ ${cmd}\n`;
    log += execFileSync("sh", ["-c", cmd], {
      cwd,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
  };

  const [build, runtime] = df.stages;
  if (!build || !runtime) throw new Error("the Dockerfile has no build and runtime stage");
  let workdir = "/";
  for (const ins of build.instructions) {
    if (ins.keyword === "WORKDIR") {
      workdir = path.posix.resolve(workdir, ins.args[0]!);
      fs.mkdirSync(inRoot(workdir), { recursive: true });
    } else if (ins.keyword === "COPY") {
      const dest = ins.args.at(-1)!;
      const target = path.posix.resolve(workdir, dest);
      for (const src of ins.args.slice(0, -1)) {
        const rel = path.posix.normalize(src).replace(/\/$/, "");
        const isDir = fs.statSync(path.join(repo, rel)).isDirectory();
        for (const f of filesUnder(repo, rel).filter((x) => !ignored(patterns, x))) {
          // A folder's content goes into the destination; a file keeps its name when the destination ends in "/".
          const to = isDir
            ? path.join(inRoot(target), path.relative(rel, f))
            : dest.endsWith("/")
              ? path.join(inRoot(target), path.basename(f))
              : inRoot(target);
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.copyFileSync(path.join(repo, f), to);
        }
      }
    } else if (ins.keyword === "RUN") sh(mapPaths(ins.raw), inRoot(workdir));
  }

  const copied = runtime.instructions.find((i) => i.keyword === "COPY" && i.flags.from === build.name);
  const install = runtime.instructions.find((i) => i.keyword === "RUN" && /npm install/.test(i.raw));
  if (!copied || !install) throw new Error("the runtime stage does not copy from the build stage and npm install");
  fs.cpSync(inRoot(copied.args[0]!), inRoot(copied.args[1]!), { recursive: true });
  const [tarball] = fs.readdirSync(inRoot(copied.args[1]!)).filter((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`no tarball in ${copied.args[0]}:\n${log}`);
  const tarballPath = path.join(root, "image-tarball.tgz");
  fs.copyFileSync(path.join(inRoot(copied.args[1]!), tarball), tarballPath);
  // Only the npm install of the RUN (the rest prepares directories for a user the machine may not
  // have); --prefix stands for the official image's global prefix, /usr/local.
  const npmInstall = install.raw.split("&&")[0]!.trim();
  sh(`${mapPaths(npmInstall)} --prefix ${inRoot("usr/local")}`, root);
  return { root, tarball: tarballPath, log };
}
