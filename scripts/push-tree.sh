#!/usr/bin/env bash
# Publishes a generated distribution tree (dist/hacs-repository or dist/app-repository) as the next
# commit of its own repository, tagged v<version>:
#   scripts/push-tree.sh <tree> <remote-url> <version>
# The remote's history is kept (HACS offers its releases and the app store follows its default
# branch); the commit replaces the whole tree, so files dropped here disappear there too. Run by the
# release workflow, and by test/dist/push-tree.test.ts against a local bare repository.
set -euo pipefail
tree=$(cd "$1" && pwd)
remote=$2
version=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git -C "$work" init -q
git -C "$work" remote add origin "$remote"
branch=main
if git -C "$work" fetch -q --depth 1 origin "$branch" 2>/dev/null; then
  git -C "$work" checkout -q -B "$branch" FETCH_HEAD
else
  git -C "$work" checkout -q -b "$branch"
fi
if git -C "$work" ls-remote --exit-code --tags origin "refs/tags/v$version" >/dev/null 2>&1; then
  echo "push-tree: $remote already has v$version; nothing pushed" >&2
  exit 1
fi
git -C "$work" rm -rq --ignore-unmatch .
cp -a "$tree/." "$work/"
git -C "$work" add -A
git -C "$work" -c user.name="${GIT_AUTHOR_NAME:-backup2mqtt release}" -c user.email="${GIT_AUTHOR_EMAIL:-release@backup2mqtt.invalid}" \
  commit -q --allow-empty -m "backup2mqtt $version"
git -C "$work" tag "v$version"
git -C "$work" push -q origin "$branch" "v$version"
echo "pushed $(basename "$tree") as v$version to $remote"
