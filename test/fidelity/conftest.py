"""
The simulated lab for the fidelity tests: `npm run --silent lab` started once per test session,
exactly as an outside tool starts it (it prints one JSON line with the PVE, DSM and PBS endpoints).
"""
import json
import os
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _pem_file(pem):
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
        f.write(pem)
        return f.name


@pytest.fixture(scope="session")
def lab():
    started = time.monotonic()
    proc = subprocess.Popen(
        ["npm", "run", "--silent", "lab", "--", "--scenario", "demo", "--task-speed", "30", "--auth-fail-delay-ms", "100"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    info = json.loads(line)
    info["startup_s"] = time.monotonic() - started
    for part in ("pve", "dsm", "pbs"):
        if info.get(part):
            u = info[part]["url"].removeprefix("https://")
            info[part]["host"], port = u.rsplit(":", 1)
            info[part]["port"] = int(port)
            info[part]["ca"] = _pem_file(info[part]["certPem"])
    yield info
    proc.stdin.close()
    proc.wait(timeout=10)
    for part in ("pve", "dsm", "pbs"):
        if info.get(part):
            os.unlink(info[part]["ca"])

