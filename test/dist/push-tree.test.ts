/** scripts/push-tree.sh, as the release workflow runs it, against a local bare repository. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const script = path.resolve(import.meta.dirname, "../../scripts/push-tree.sh");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "b2m-push-tree-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};
const push = (tree: string, version: string) =>
  spawnSync("bash", [script, tree, remote, version], { encoding: "utf8" });
const tree = (name: string, files: Record<string, string>) => {
  const t = path.join(dir, name);
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(t, f)), { recursive: true });
    fs.writeFileSync(path.join(t, f), text);
  }
  return t;
};
const remote = path.join(dir, "remote.git");
git(dir, "init", "-q", "--bare", "-b", "main", remote);

describe("push-tree.sh", () => {
  it("makes each release one commit and tag that holds exactly the tree, keeping the history", () => {
    const first = push(tree("t1", { "hacs.json": "{}", "custom_components/x/a.py": "a" }), "0.1.0");
    expect(first.status, first.stderr).toBe(0);
    const second = push(tree("t2", { "hacs.json": '{"name":"x"}', "custom_components/x/b.py": "b" }), "0.2.0");
    expect(second.status, second.stderr).toBe(0);

    const clone = path.join(dir, "clone");
    git(dir, "clone", "-q", remote, clone);
    expect(git(clone, "ls-files").split("\n").sort()).toEqual(["custom_components/x/b.py", "hacs.json"]);
    expect(git(clone, "log", "--format=%s")).toBe("backup2mqtt 0.2.0\nbackup2mqtt 0.1.0");
    expect(git(clone, "tag", "--list").split("\n")).toEqual(["v0.1.0", "v0.2.0"]);
    expect(git(clone, "show", "v0.1.0:custom_components/x/a.py")).toBe("a");
  });

  it("refuses a version the repository already has and pushes nothing", () => {
    const again = push(tree("t3", { "hacs.json": "{}" }), "0.2.0");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("already has v0.2.0");
    expect(git(remote, "log", "--format=%s", "main").split("\n")).toHaveLength(2);
  });
});
