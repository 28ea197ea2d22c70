#!/usr/bin/env bash
# build-env.sh — build (or reuse) a Debian testing root with a pinned Home Assistant in /opt/venv.
#
# Usage (root):
#   bash test/ha/build-env.sh               build if missing, print the root path as the last line
#   bash test/ha/build-env.sh --print-root  print the root path; exit 3 if it is not built yet
#   bash test/ha/build-env.sh --rebuild     throw away the cached HA root (not the base) and build again
#   bash test/ha/build-env.sh --available   (needs the base root) list homeassistant versions pip can
#                                           install on the root's Python, then exit
#   bash test/ha/build-env.sh --prune       build if missing, then delete cached roots of other keys
#
# Environment:
#   B2M_HA_CACHE        cache folder (default /var/cache/backup2mqtt-ha), outside the repo
#   B2M_HA_VERSION      override the pinned Home Assistant version (default: HA_VERSION below)
#   B2M_DEBIAN_MIRROR   Debian mirror for debootstrap (default http://deb.debian.org/debian)
#
# Layout of the cache:
#   <cache>/base-<key>/  debootstrap --variant=minbase forky + Debian packages (+ host pip config/CAs)
#   <cache>/ha-<key>/    copy of the base + /opt/venv with homeassistant and the requirements of the
#                        integrations the tests load; <root>/.b2m-complete marks a finished build.
# Every root is built in <cache>/.tmp-* and renamed into place atomically when complete.
set -Eeuo pipefail

SCRIPT_VERSION=1
HA_VERSION_PINNED="2026.11.0"
HA_VERSION="${B2M_HA_VERSION:-$HA_VERSION_PINNED}"
SUITE=forky
MIRROR="${B2M_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${B2M_HA_CACHE:-/var/cache/backup2mqtt-ha}"
MARKER=.b2m-complete

# Debian packages of the base root. Python 3.14 + build tools (for the odd sdist) + the shared
# libraries Home Assistant's wheels and optional imports look for.
APT_PACKAGES=(
  python3 python3-venv python3-dev build-essential pkg-config
  ca-certificates tzdata
  libffi-dev libssl-dev zlib1g-dev libjpeg62-turbo-dev libturbojpeg0 libpcap0.8t64
)

# Integrations the test configuration.yaml loads explicitly (runner.ts writes the same list).
# Home Assistant also always sets up its bootstrap/default integrations (frontend, backup, person,
# …); the requirements of those are collected from homeassistant.bootstrap at build time.
HA_COMPONENTS=(http api websocket_api auth onboarding config mqtt logger system_log
  button sensor binary_sensor select event)

log() { printf '[build-env] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

now() { date +%s.%N; }
phase_start=0
phase() { phase_start=$(now); log "==> $*"; }
phase_end() { log "    done in $(awk -v a="$phase_start" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"; }
total_start=$(now)

sha() { sha256sum | cut -c1-12; }

BASE_KEY="base-${SUITE}-s${SCRIPT_VERSION}-$(printf '%s\n' "${APT_PACKAGES[@]}" | sha)"
HA_KEY="ha-${HA_VERSION}-py314-s${SCRIPT_VERSION}-$( { printf '%s\n' "$BASE_KEY" "${HA_COMPONENTS[@]}"; sed -n '/^# --- requirements collector/,/^# --- end collector/p' "$0"; } | sha)"
BASE_ROOT="$CACHE/$BASE_KEY"
HA_ROOT="$CACHE/$HA_KEY"

MODE=build
case "${1:-}" in
  --print-root) MODE=print ;;
  --rebuild) MODE=rebuild ;;
  --available) MODE=available ;;
  --prune) MODE=prune ;;
  "") ;;
  *) die "unknown argument: $1" ;;
esac

if [[ $MODE == print ]]; then
  echo "$HA_ROOT"
  [[ -f $HA_ROOT/$MARKER ]] || exit 3
  exit 0
fi

[[ $(id -u) == 0 ]] || die "needs root (debootstrap, chroot, mount)"
for tool in debootstrap chroot mount umount flock sha256sum; do
  command -v "$tool" >/dev/null || die "missing '$tool' (apt-get install -y debootstrap util-linux)"
done

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# mounts, always undone
MOUNTS=()
TMP_DIRS=()
cleanup() {
  local rc=$?
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || log "could not unmount ${MOUNTS[i]}"
  done
  MOUNTS=()
  for d in "${TMP_DIRS[@]}"; do
    [[ -d $d ]] && rm -rf --one-file-system "$d"
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_chroot() {
  local root=$1
  mount -t proc proc "$root/proc" && MOUNTS+=("$root/proc")
  mount -t sysfs sysfs "$root/sys" && MOUNTS+=("$root/sys")
  mount --bind /dev "$root/dev" && MOUNTS+=("$root/dev")
}
umount_chroot() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" || umount -l "${MOUNTS[i]}"
  done
  MOUNTS=()
}

# Environment for commands in the root: nothing from the host but pip/CA settings.
chroot_env() {
  local -a vars=(PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt)
  local v
  while IFS='=' read -r v _; do
    [[ $v == PIP_* ]] && vars+=("$v=${!v}")
  done < <(env)
  printf '%s\0' "${vars[@]}"
}
in_root() {
  local root=$1
  shift
  local -a envv
  mapfile -d '' envv < <(chroot_env)
  chroot "$root" /usr/bin/env -i "${envv[@]}" "$@"
}

# Host pip configuration + CA bundle (the package index may be a mirror configured there).
copy_host_config() {
  local root=$1 f
  for f in /etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" "${PIP_CONFIG_FILE:-}"; do
    [[ -n $f && -f $f ]] || continue
    local dest="$root$f"
    [[ $f == "$HOME"/* ]] && dest="$root/root${f#"$HOME"}"
    mkdir -p "$(dirname "$dest")"
    cp -L "$f" "$dest"
    log "copied pip config $f -> ${dest#"$root"}"
  done
  # PIP_FIND_LINKS / PIP_CERT and friends may name host paths: make them exist in the root.
  local v
  for v in PIP_FIND_LINKS PIP_CERT PIP_CLIENT_CERT; do
    local p="${!v:-}"
    [[ -n $p && $p == /* && -e $p ]] || continue
    mkdir -p "$root$(dirname "$p")"
    cp -aL "$p" "$root$p" 2>/dev/null || cp -rL "$p" "$(dirname "$root$p")/"
  done
  local bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -f $bundle ]] || bundle=/etc/ssl/certs/ca-certificates.crt
  if [[ -f $bundle ]]; then
    mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
    # Keep the host bundle as the root's bundle (it includes any locally trusted CA) and a copy
    # that survives a later update-ca-certificates run.
    cp -L "$bundle" "$root/etc/ssl/certs/host-ca-bundle.pem"
    cp -L "$bundle" "$root/etc/ssl/certs/ca-certificates.crt"
    log "copied CA bundle $bundle"
  fi
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  # The archive snapshot's Release may be past Valid-Until on machines with an old/new clock.
  mkdir -p "$root/etc/apt/apt.conf.d"
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' >"$root/etc/apt/apt.conf.d/99b2m"
}

new_tmp() {
  local d
  d=$(mktemp -d "$CACHE/.tmp-$1.XXXXXX")
  chmod 755 "$d"
  TMP_DIRS+=("$d")
  echo "$d"
}

publish() { # tmp final
  local tmp=$1 final=$2
  date -u +%FT%TZ >"$tmp/$MARKER"
  [[ -e $final ]] && rm -rf --one-file-system "$final"
  mv -T "$tmp" "$final"
  TMP_DIRS=("${TMP_DIRS[@]/$tmp/}")
}

# ---------------------------------------------------------------------------------------------
build_base() {
  if [[ -f $BASE_ROOT/$MARKER ]]; then
    log "base root present: $BASE_ROOT"
    return
  fi
  local tmp script=""
  tmp=$(new_tmp base)
  [[ -f /usr/share/debootstrap/scripts/$SUITE ]] || script=/usr/share/debootstrap/scripts/sid
  phase "debootstrap --variant=minbase $SUITE ($MIRROR) + ${#APT_PACKAGES[@]} packages"
  local -a db=(debootstrap --variant=minbase "--include=$(IFS=,; echo "${APT_PACKAGES[*]}")" "$SUITE" "$tmp" "$MIRROR")
  [[ -n $script ]] && db+=("$script")
  if ! "${db[@]}" >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/debootstrap.log" >&2
    [[ -f $tmp/debootstrap/debootstrap.log ]] && tail -n 30 "$tmp/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  phase_end
  phase "configure base root"
  copy_host_config "$tmp"
  rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* 2>/dev/null || true
  mount_chroot "$tmp"
  in_root "$tmp" python3 --version >&2
  umount_chroot
  phase_end
  publish "$tmp" "$BASE_ROOT"
}

available_versions() {
  mount_chroot "$BASE_ROOT"
  in_root "$BASE_ROOT" python3 -m venv /tmp/b2m-probe-venv >&2
  in_root "$BASE_ROOT" /tmp/b2m-probe-venv/bin/pip index versions homeassistant 2>/dev/null |
    sed -n 's/^Available versions: //p' | tr ',' '\n' | tr -d ' ' | grep -E '^2026\.' | head -n 20
  rm -rf "$BASE_ROOT/tmp/b2m-probe-venv"
  umount_chroot
}

# --- requirements collector (python, runs inside the root) -----------------------------------
read -r -d '' COLLECTOR <<'PY' || true
import json, pathlib, sys
import homeassistant, homeassistant.bootstrap as b
comp = pathlib.Path(homeassistant.__file__).parent / "components"
wanted = set(sys.argv[1:])
for name in dir(b):
    value = getattr(b, name)
    if name.isupper() and name.endswith("INTEGRATIONS") and isinstance(value, (set, frozenset, list, tuple)):
        wanted |= {v for v in value if isinstance(v, str)}
seen, reqs, todo = set(), set(), list(wanted)
while todo:
    dom = todo.pop()
    if dom in seen:
        continue
    seen.add(dom)
    mf = comp / dom / "manifest.json"
    if not mf.exists():
        continue
    m = json.loads(mf.read_text())
    reqs.update(m.get("requirements", []))
    todo.extend(m.get("dependencies", []))
# Auth providers / MFA modules (e.g. totp: pyotp, PyQRCode) install their REQUIREMENTS at runtime.
import re
auth = pathlib.Path(homeassistant.__file__).parent / "auth"
for f in list((auth / "mfa_modules").glob("*.py")) + list((auth / "providers").glob("*.py")):
    m = re.search(r"^REQUIREMENTS\s*=\s*\[([^\]]*)\]", f.read_text(), re.M)
    if m:
        reqs.update(re.findall(r"[\"']([^\"']+)[\"']", m.group(1)))
print("integrations:", " ".join(sorted(seen)), file=sys.stderr)
print("\n".join(sorted(reqs)))
PY
# --- end collector ---------------------------------------------------------------------------

build_ha() {
  if [[ -f $HA_ROOT/$MARKER ]]; then
    log "Home Assistant root present: $HA_ROOT"
    return
  fi
  local tmp
  tmp=$(new_tmp ha)
  phase "copy base root"
  cp -a --reflink=auto "$BASE_ROOT/." "$tmp/"
  rm -f "$tmp/$MARKER"
  copy_host_config "$tmp" # pick up pip/CA changes on the host since the base was built
  phase_end
  mount_chroot "$tmp"
  phase "python3 -m venv /opt/venv"
  in_root "$tmp" python3 -m venv /opt/venv
  phase_end
  phase "pip install homeassistant==$HA_VERSION"
  in_root "$tmp" pip install --no-input --progress-bar off "homeassistant==$HA_VERSION" >"$CACHE/pip-ha.log" 2>&1 ||
    { tail -n 40 "$CACHE/pip-ha.log" >&2; die "pip install homeassistant==$HA_VERSION failed (log: $CACHE/pip-ha.log)"; }
  phase_end
  phase "pip install requirements of the integrations the tests load"
  printf '%s\n' "$COLLECTOR" >"$tmp/tmp/b2m-collect.py"
  in_root "$tmp" python /tmp/b2m-collect.py "${HA_COMPONENTS[@]}" >"$tmp/opt/b2m-requirements.txt"
  log "requirements: $(tr '\n' ' ' <"$tmp/opt/b2m-requirements.txt")"
  local constraints
  constraints=$(in_root "$tmp" python -c 'import homeassistant,pathlib;print(pathlib.Path(homeassistant.__file__).parent/"package_constraints.txt")')
  local -a cflag=()
  [[ -f $tmp$constraints ]] && cflag=(-c "$constraints")
  if [[ -s $tmp/opt/b2m-requirements.txt ]]; then
    in_root "$tmp" pip install --no-input --progress-bar off "${cflag[@]}" -r /opt/b2m-requirements.txt >"$CACHE/pip-reqs.log" 2>&1 ||
      { tail -n 40 "$CACHE/pip-reqs.log" >&2; die "pip install of integration requirements failed (log: $CACHE/pip-reqs.log)"; }
  fi
  rm -f "$tmp/tmp/b2m-collect.py"
  phase_end
  phase "verify imports"
  in_root "$tmp" python -c 'import homeassistant.const as c, paho.mqtt.client, homeassistant.components.mqtt, homeassistant.components.frontend; print("homeassistant", c.__version__)' >&2
  in_root "$tmp" pip freeze >"$tmp/opt/b2m-pip-freeze.txt"
  phase_end
  umount_chroot
  rm -rf "$tmp/root/.cache/pip"
  echo "$HA_VERSION" >"$tmp/opt/b2m-ha-version"
  publish "$tmp" "$HA_ROOT"
}

build_base
if [[ $MODE == available ]]; then
  available_versions
  exit 0
fi
if [[ $MODE == rebuild && -e $HA_ROOT ]]; then
  log "removing $HA_ROOT"
  rm -rf --one-file-system "$HA_ROOT"
fi
build_ha
if [[ $MODE == prune ]]; then
  for d in "$CACHE"/base-* "$CACHE"/ha-*; do
    [[ -d $d && $d != "$BASE_ROOT" && $d != "$HA_ROOT" ]] || continue
    log "pruning $d"
    rm -rf --one-file-system "$d"
  done
fi
log "total $(awk -v a="$total_start" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"
echo "$HA_ROOT"
