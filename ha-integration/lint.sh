#!/usr/bin/env bash
# lint.sh — ruff lint + format check of the backup2mqtt custom integration and its tests.
#
# Usage:  bash ha-integration/lint.sh          # check only (exit 1 on any finding or unformatted file)
#         bash ha-integration/lint.sh --fix    # apply ruff's fixes and formatting, then check
#
# Settings: ha-integration/ruff.toml. Ruff is pinned (RUFF_VERSION below). A `ruff` on PATH of that
# exact version is used; otherwise it is installed with pip into its own venv, kept in
# ${B2M_RUFF_DIR} (default: <HA test cache>/ruff-<version> when that cache folder is writable, else
# ${TMPDIR:-/tmp}/backup2mqtt-ruff-<version>), and reused by later runs. Needs python3 (any 3.8+)
# and access to the Python package index for the first install only.
set -Eeuo pipefail

RUFF_VERSION=0.17.6
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[ha-integration/lint] %s\n' "$*" >&2; }

default_dir() {
  local cache="${B2M_HA_CACHE:-/var/cache/backup2mqtt-ha}"
  if mkdir -p "$cache" 2>/dev/null && [[ -w $cache ]]; then
    printf '%s/ruff-%s\n' "$cache" "$RUFF_VERSION"
  else
    printf '%s/backup2mqtt-ruff-%s\n' "${TMPDIR:-/tmp}" "$RUFF_VERSION"
  fi
}

find_ruff() {
  if command -v ruff >/dev/null && [[ $(ruff --version 2>/dev/null) == "ruff $RUFF_VERSION" ]]; then
    command -v ruff
    return
  fi
  local dir="${B2M_RUFF_DIR:-$(default_dir)}"
  if [[ ! -x $dir/bin/ruff ]]; then
    log "installing ruff $RUFF_VERSION into $dir"
    local tmp
    tmp=$(mktemp -d "$(dirname "$dir")/.tmp-ruff-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    if python3 -m venv "$tmp" >/dev/null 2>&1; then
      "$tmp/bin/pip" install -q --disable-pip-version-check "ruff==$RUFF_VERSION" >&2
    else
      # No venv module (e.g. Debian without python3-venv): a plain --target install has bin/ruff too.
      python3 -m pip install -q --disable-pip-version-check --target "$tmp" "ruff==$RUFF_VERSION" >&2
    fi
    [[ -x $tmp/bin/ruff ]] || { log "ERROR: no bin/ruff after installing ruff $RUFF_VERSION"; exit 2; }
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
  fi
  printf '%s\n' "$dir/bin/ruff"
}

RUFF=$(find_ruff)
cd "$HERE"
if [[ ${1:-} == --fix ]]; then
  "$RUFF" check --fix . || true # what is left is reported by the check below
  "$RUFF" format .
fi
status=0
"$RUFF" check . || status=1
"$RUFF" format --check . || status=1
exit "$status"
