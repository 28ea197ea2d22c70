#!/usr/bin/env bash
# Points real third-party clients at the simulated lab, to show it answers as real PVE does: proxmoxer from PyPI, in a venv
# cached outside the repo. Needs `npm run build` first (it runs lab/dist/serve.js).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${B2M_FIDELITY_VENV:-/var/cache/backup2mqtt-fidelity/venv-proxmoxer-2.3.0}"
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "proxmoxer==2.3.0" "requests>=2.31" "pytest>=8"
fi
"$venv/bin/pytest" -q test/fidelity
