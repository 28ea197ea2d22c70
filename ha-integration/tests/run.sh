#!/usr/bin/env bash
# run.sh — pytest suite of the backup2mqtt custom integration, inside the Home Assistant root.
#
# Usage (root):  bash ha-integration/tests/run.sh [pytest args…]
#
# It runs inside the Home Assistant root that test/ha/build-env.sh builds and caches (Debian testing,
# Python 3.14), with its own venv kept next to that root in the same cache folder
# (<cache>/phacc-<key>/venv, bind-mounted at /mnt inside the root only in a private mount
# namespace, with this repo's ha-integration/ at /srv). The root itself is never modified.
#
# That venv holds pytest-homeassistant-custom-component (PHACC) with exactly the homeassistant it
# pins, plus the requirements of the integrations ours depends on (mqtt, http, frontend,
# conversation, recursively, under Home Assistant's package_constraints.txt). PHACC's helpers are
# generated from one Home Assistant release and break on another (0.13.375 on 2026.11.0 fails at
# import), so the unit tests run on PHACC's release while test/ha runs the pinned 2026.11.0:
# PHACC 0.13.375 (the newest on the index when this was written) = homeassistant 2026.10.4.
# Bump PHACC_VERSION when a PHACC for the pinned release appears.
#
# Environment:
#   B2M_HA_CACHE         cache folder (default /var/cache/backup2mqtt-ha), as build-env.sh
#   B2M_PHACC_VERSION    override the PHACC version (default below)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INTEGRATION_DIR=$(cd "$HERE/.." && pwd)
REPO=$(cd "$INTEGRATION_DIR/.." && pwd)
CACHE="${B2M_HA_CACHE:-/var/cache/backup2mqtt-ha}"
SCRIPT_VERSION=3
# PHACC releases track Home Assistant releases (patch bump = new HA); see above.
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
  log "building the pytest venv $KEY (PHACC $PHACC_VERSION, with the homeassistant it pins)"
  local start=$SECONDS
  in_root "$tmp" /bin/sh -euc "
    python3 -m venv /mnt/venv
    # Home Assistant 2026.x aliases httpx to httpx2 when imported; PHACC's test requirements bring
    # the real httpx, which another pytest plugin may import first. Alias at interpreter start-up,
    # as Home Assistant itself would (a no-op when homeassistant calls it again).
    printf '%s\\n' 'import sys; exec(\"try:\\n import httpx2; httpx2.alias_httpx()\\nexcept ImportError:\\n pass\")' \\
      > /mnt/venv/lib/python3.14/site-packages/b2m-httpx-alias.pth
    /mnt/venv/bin/pip install -q pytest-homeassistant-custom-component==$PHACC_VERSION
    # Requirements of the integrations the custom integration depends on (recursively), pinned by
    # Home Assistant's own package_constraints.txt, as hass would install them at runtime.
    /mnt/venv/bin/python - <<'PY' > /mnt/reqs.txt
import json, pathlib, homeassistant
comp = pathlib.Path(homeassistant.__file__).parent / 'components'
todo = list(json.load(open('/srv/custom_components/backup2mqtt/manifest.json'))['dependencies'])
seen, reqs = set(), set()
while todo:
    d = todo.pop()
    if d in seen or not (comp / d / 'manifest.json').exists():
        continue
    seen.add(d)
    m = json.load(open(comp / d / 'manifest.json'))
    reqs.update(m.get('requirements', []))
    todo += m.get('dependencies', []) + m.get('after_dependencies', [])
print('\\n'.join(sorted(reqs)))
PY
    /mnt/venv/bin/pip install -q -r /mnt/reqs.txt -c \$(/mnt/venv/bin/python -c 'import homeassistant, os; print(os.path.dirname(homeassistant.__file__))')/package_constraints.txt
    /mnt/venv/bin/python -c 'import homeassistant.const as c, pytest_homeassistant_custom_component; print(\"pytest venv: homeassistant\", c.__version__)'
    rm -rf /root/.cache/pip
  "
  touch "$tmp/.b2m-complete"
  rm -rf --one-file-system "$LAYER"
  mv "$tmp" "$LAYER"
  trap - EXIT
  log "pytest venv ready in $((SECONDS - start)) s: $LAYER"
}

(
  flock 9
  [[ -f $LAYER/.b2m-complete ]] || build_layer
) 9>"$CACHE/.lock-phacc"

cd "$INTEGRATION_DIR"
in_root "$LAYER" /bin/sh -c 'cd /srv && exec python -m pytest -p no:cacheprovider "$@"' pytest "$@"
