"""
Fidelity of the simulated Proxmox VE lab, checked with a real third-party client: proxmoxer
(the Python client most PVE tooling uses). If the lab's paths, envelope, auth header parsing,
types or UPIDs drifted from real PVE, proxmoxer would fail here.
"""
import pytest
from clients import proxmox
from proxmoxer.tools import Tasks


def api(lab, token_index=0):
    return proxmox(lab, "pve", token_index)


def test_version_and_nodes(lab):
    pve = api(lab)
    assert pve.version.get()["version"].startswith("9.")
    nodes = pve.nodes.get()
    assert [n["node"] for n in nodes] == ["proxmox-home"]
    assert nodes[0]["ssl_fingerprint"] == lab["pve"]["fingerprint"]


def test_resources_types(lab):
    pve = api(lab)
    vms = pve.cluster.resources.get(type="vm")
    assert sorted(v["vmid"] for v in vms) == [100, 101, 102, 103, 105]
    for v in vms:
        assert isinstance(v["vmid"], int) and v["template"] in (0, 1)
        assert v["id"] == f'{v["type"]}/{v["vmid"]}'


def test_jobs_quirks(lab):
    jobs = api(lab).cluster.backup.get()
    assert all(isinstance(j["vmid"], str) for j in jobs if "vmid" in j)
    assert all(j.get("enabled", 1) in (0, 1) for j in jobs)
    assert all(isinstance(v, str) for j in jobs for v in j.get("prune-backups", {}).values())
    assert all("next-run" in j for j in jobs)


def test_backup_content_and_permission_trap(lab):
    content = api(lab).nodes("proxmox-home").storage("local").content.get(content="backup")
    assert content and all(c["volid"].startswith("local:backup/vzdump-") for c in content)
    assert all(isinstance(c["ctime"], int) for c in content)
    # The read-only token gets 200 with an empty list, not 403.
    assert api(lab, 1).nodes("proxmox-home").storage("local").content.get(content="backup") == []


def test_vzdump_task_with_proxmoxer_tools(lab):
    pve = api(lab)
    upid = pve.nodes("proxmox-home").vzdump.post(vmid=103, storage="local", mode="snapshot", compress="zstd")
    decoded = Tasks.decode_upid(upid)
    assert decoded["node"] == "proxmox-home" and decoded["type"] == "vzdump" and decoded["id"] == "103"
    status = Tasks.blocking_status(pve, upid, timeout=60, polling_interval=0.2)
    assert status["status"] == "stopped" and status["exitstatus"] == "OK"
    log = pve.nodes("proxmox-home").tasks(upid).log.get(limit=0)
    text = "\n".join(line["t"] for line in log)
    assert "INFO: Starting Backup of VM 103 (lxc)" in text and "TASK OK" in text


def test_wrong_token_is_401(lab):
    bad = proxmox(lab, "pve", secret="00000000-0000-0000-0000-000000000000")
    with pytest.raises(Exception) as e:
        bad.version.get()
    assert "401" in str(e.value)
