#!/usr/bin/env bash
# run.sh — pytest suite of the backup2mqtt custom integration, inside the Home Assistant root.
#
# Usage (root):  bash ha-integration/tests/run.sh [pytest args…]
#
# The Home Assistant root (Debian testing + Python 3.14 + /opt/venv with the pinned homeassistant)
# comes from test/ha/build-env.sh (built if missing, reused when cached). Next to it, in the same
# cache folder, this script keeps a small *layered* venv: its site-packages sees the root's
# /opt/venv site-packages (a .pth file), so it tests against exactly the Home Assistant the real-HA
# suite runs, and adds pytest-homeassistant-custom-component (PHACC) and PHACC's test
# requirements on top. The root itself is never modified: the venv lives in
# <cache>/phacc-<key>/venv and is bind-mounted at /mnt inside the root only in a private mount
# namespace, together with this repo's ha-integration/ at /srv.
#
# Environment:
#   B2M_HA_CACHE         cache folder (default /var/cache/backup2mqtt-ha), as build-env.sh
#   B2M_PHACC_VERSION    override the PHACC version (default below)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INTEGRATION_DIR=$(cd "$HERE/.." && pwd)
REPO=$(cd "$INTEGRATION_DIR/.." && pwd)
CACHE="${B2M_HA_CACHE:-/var/cache/backup2mqtt-ha}"
SCRIPT_VERSION=2
# PHACC releases track Home Assistant releases (patch bump = new HA). Newest on the index when this
# was written: 0.13.375, generated from HA 2026.10.4; there is no PHACC for 2026.11.0 yet, so its
# helpers run on the root's 2026.11.0 (installed --no-deps; the homeassistant pin is not taken).
PHACC_VERSION="${B2M_PHACC_VERSION:-0.13.375}"

log() { printf '[ha-integration/tests] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (chroot, mount namespaces)"

ROOT=$(bash "$REPO/test/ha/build-env.sh" | tail -n1)
[[ -x $ROOT/opt/venv/bin/hass ]] || die "no Home Assistant root at '$ROOT'"
KEY="phacc-${PHACC_VERSION}-s${SCRIPT_VERSION}-$(printf '%s\n' "$(basename "$ROOT")" | sha256sum | cut -c1-12)"
LAYER="$CACHE/$KEY"

# Runs "$@" chrooted into the HA root with $1 bind-mounted at /mnt and ha-integration/ at /srv.
in_root() {
  local layer=$1
  shift
  local -a envv=(PATH=/mnt/venv/bin:/opt/venv/bin:/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
    PYTHONDONTWRITEBYTECODE=1)
  local v
  while IFS='=' read -r v _; do [[ $v == PIP_* ]] && envv+=("$v=${!v}"); done < <(env)
  unshare --mount --propagation private -- sh -c '
    set -e; r="$1"; layer="$2"; src="$3"; shift 3
    mount -t proc proc "$r/proc"; mount --rbind /dev "$r/dev"; mount -t sysfs sysfs "$r/sys"
    mount --bind "$layer" "$r/mnt"; mount --bind "$src" "$r/srv"
    exec chroot "$r" /usr/bin/env -i "$@"' b2m-pytest "$ROOT" "$layer" "$INTEGRATION_DIR" "${envv[@]}" "$@"
}

build_layer() {
  mkdir -p "$CACHE"
  local tmp
  tmp=$(mktemp -d "$CACHE/.tmp-phacc-XXXXXX")
  trap 'rm -rf --one-file-system "$tmp"' EXIT
  log "building layered venv $KEY (PHACC $PHACC_VERSION on $(cat "$ROOT/opt/b2m-ha-version"))"
  local start=$SECONDS
  in_root "$tmp" /bin/sh -euc "
    python3 -m venv /mnt/venv
    echo /opt/venv/lib/python3.14/site-packages > /mnt/venv/lib/python3.14/site-packages/b2m-ha-root.pth
    # Home Assistant 2026.x makes \`import httpx\` resolve to httpx2 when it is imported; PHACC's test
    # requirements bring the real httpx, which a pytest plugin may import first. Alias at start-up,
    # as Home Assistant itself would (a no-op when homeassistant calls it again).
    echo 'import httpx2; httpx2.alias_httpx()' > /mnt/venv/lib/python3.14/site-packages/b2m-ha-zz-httpx-alias.pth
    cd /mnt
    /mnt/venv/bin/pip download --no-deps -q -d /mnt/dl pytest-homeassistant-custom-component==$PHACC_VERSION
    whl=\$(ls /mnt/dl/*.whl)
    /mnt/venv/bin/python - \"\$whl\" <<'PY'
import re, sys, zipfile
whl = sys.argv[1]
z = zipfile.ZipFile(whl)
meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
reqs = [l.split(':', 1)[1].strip() for l in z.read(meta).decode().splitlines() if l.startswith('Requires-Dist:')]
norm = lambda s: re.split(r'[<>=!~ @\\[]', s.strip(), maxsplit=1)[0].lower().replace('_', '-')
root = [l.strip() for l in open('/opt/b2m-pip-freeze.txt') if '==' in l]
root_names = {norm(l) for l in root}
# What the root already has (homeassistant included) stays exactly as the real-HA suite runs it.
reqs = [r for r in reqs if ';' not in r and norm(r) not in root_names and norm(r) != 'homeassistant']
open('/mnt/reqs.txt', 'w').write('\n'.join(reqs) + '\n')
open('/mnt/constraints.txt', 'w').write('\n'.join(root) + '\n')
PY
    /mnt/venv/bin/pip install -q --no-deps \"\$whl\"
    /mnt/venv/bin/pip install -q -r /mnt/reqs.txt -c /mnt/constraints.txt
    /mnt/venv/bin/python -c 'import homeassistant.const as c, pytest_homeassistant_custom_component; print(\"HA\", c.__version__)'
    rm -rf /mnt/dl /root/.cache/pip
  "
  touch "$tmp/.b2m-complete"
  rm -rf --one-file-system "$LAYER"
  mv "$tmp" "$LAYER"
  trap - EXIT
  log "layered venv ready in $((SECONDS - start)) s: $LAYER"
}

(
  flock 9
  [[ -f $LAYER/.b2m-complete ]] || build_layer
) 9>"$CACHE/.lock-phacc"

cd "$INTEGRATION_DIR"
in_root "$LAYER" /bin/sh -c 'cd /srv && exec python -m pytest -p no:cacheprovider tests "$@"' pytest "$@"
