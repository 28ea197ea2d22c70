#!/usr/bin/env bash
# Points real third-party clients, unchanged from PyPI and pinned, at the simulated lab (started with
# `npm run --silent lab`, see conftest.py), to show it answers as real PVE, DSM 7 and PBS do:
# proxmoxer (PVE and PBS), prometheus-pve-exporter's collectors, synology-api's DSM 7 login and
# Hyper Backup calls. The venv is cached outside the repository. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
pins=("proxmoxer==2.3.0" "prometheus-pve-exporter==3.10.2" "synology-api==0.9.4")
venv="${B2M_FIDELITY_VENV:-/var/cache/backup2mqtt-fidelity/venv-$(printf '%s\n' "${pins[@]}" | sha256sum | cut -c1-12)}"
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${pins[@]}" "requests>=2.31" "pytest>=8"
fi
"$venv/bin/pytest" -q test/fidelity "$@"
