"""
GET /cluster/tasks read with proxmoxer: each node's recent tasks (running ones without
`status`), current whenever read. Without Sys.Audit on / PVE keeps only entries whose `user`
equals the caller; both demo tokens have PVEAuditor on /, so both see everything (the filtering
itself is covered by lab/src/cluster-tasks.test.ts).
"""
from clients import proxmox
from proxmoxer.tools import Tasks


def api(lab, token_index=0):
    return proxmox(lab, "pve", token_index)


def test_cluster_tasks_after_vzdump(lab):
    pve = api(lab)
    nodes = {n["node"] for n in pve.nodes.get()}
    upid = pve.nodes("proxmox-home").vzdump.post(vmid=102, storage="local", mode="snapshot", compress="zstd")
    listed = {t["upid"]: t for t in pve.cluster.tasks.get()}
    assert upid in listed
    Tasks.blocking_status(pve, upid, timeout=60, polling_interval=0.2)
    tasks = pve.cluster.tasks.get()
    assert {t["node"] for t in tasks} <= nodes
    mine = next(t for t in tasks if t["upid"] == upid)
    assert mine["type"] == "vzdump" and mine["id"] == "102" and mine["status"] in ("OK", "WARNINGS: 1")
    assert isinstance(mine["endtime"], int) and mine["endtime"] >= mine["starttime"]
    assert mine["user"] == "backup2mqtt@pve" and mine["tokenid"] == "bridge"
    assert "pstart" not in mine and "pid" not in mine
    for t in tasks:
        assert ("status" in t) == ("endtime" in t)
        if "status" not in t:
            assert isinstance(t["pid"], int)
    per_node = {}
    for t in tasks:
        if "status" in t:
            per_node[t["node"]] = per_node.get(t["node"], 0) + 1
    assert all(n <= 25 for n in per_node.values())


def test_cluster_tasks_readonly_token(lab):
    # PVEAuditor on / includes Sys.Audit on /: the read-only token sees every node's list too.
    # Read between two reads of the full token (a task may start or end in between).
    before = {t["upid"] for t in api(lab).cluster.tasks.get()}
    readonly = {t["upid"] for t in api(lab, 1).cluster.tasks.get()}
    after = {t["upid"] for t in api(lab).cluster.tasks.get()}
    assert readonly and before & after <= readonly <= before | after
