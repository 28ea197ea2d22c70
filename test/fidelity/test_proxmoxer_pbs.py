"""
Fidelity of the simulated Proxmox Backup Server, checked with proxmoxer (service "PBS", which sends
`Authorization: PBSAPIToken=<user>!<token>:<secret>`): datastores, tasks (list, status, log),
datastore usage with its estimate, the job configuration, node status, PBS's error texts, and
tasks started by POST. Token 0 is the bridge's least-privilege token (DatastoreReader on store1),
token 1 an administrator's (Audit on /, DatastoreAdmin on /datastore).
"""
import time

import pytest
from clients import proxmox
from proxmoxer import ResourceException
from proxmoxer.tools import Tasks


def api(lab, token_index=0):
    return proxmox(lab, "pbs", token_index)


def wait_stopped(pbs, upid, timeout=30):
    """Polls the task status (proxmoxer's Tasks.blocking_status cannot: see test_started_tasks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = pbs.nodes("localhost").tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        time.sleep(0.2)
    raise AssertionError(f"task {upid} still running after {timeout}s")


def test_datastores_listed(lab):
    assert [d["store"] for d in api(lab).admin.datastore.get()] == ["store1"]
    assert [d["store"] for d in api(lab, 1).admin.datastore.get()] == ["store1"]


def test_task_list_fields_status_and_log(lab):
    pbs = api(lab, 1)
    tasks = pbs.nodes("localhost").tasks.get(limit=0)
    assert {t["worker_type"] for t in tasks} >= {"backup", "garbage_collection", "verificationjob", "syncjob", "prunejob"}
    for t in tasks:
        assert t["node"] == "localhost" and t["upid"].startswith("UPID:pbs:")
        assert isinstance(t["pid"], int) and isinstance(t["pstart"], int) and isinstance(t["starttime"], int)
        assert "\\x" not in t["worker_id"]  # unescaped
        if "endtime" in t:
            assert t["status"] == "OK" or t["status"].startswith("WARNINGS: ") or t["status"]
    backup = next(t for t in tasks if t["worker_type"] == "backup" and t["worker_id"] == "store1:vm/100")
    status = pbs.nodes("localhost").tasks(backup["upid"]).status.get()
    assert status["status"] == "stopped" and status["exitstatus"] == "OK"
    assert status["node"] == "pbs" and status["type"] == "backup" and status["id"] == "store1:vm/100"
    assert status["user"] == "root@pam" and "tokenid" not in status
    assert (status["pid"], status["pstart"], status["starttime"]) == (backup["pid"], backup["pstart"], backup["starttime"])
    log = pbs.nodes("localhost").tasks(backup["upid"]).log.get(limit=0)
    assert log[-1]["t"].endswith(": TASK OK") and [line["n"] for line in log] == list(range(1, len(log) + 1))
    # filters: type, errors (the verification job's warnings), paging with limit
    assert {t["worker_type"] for t in pbs.nodes("localhost").tasks.get(typefilter="sync")} == {"syncjob"}
    assert all(t["status"] != "OK" for t in pbs.nodes("localhost").tasks.get(errors=1))
    assert len(pbs.nodes("localhost").tasks.get(limit=2)) == 2


def test_task_list_only_readable_tasks(lab):
    # The bridge's token: no Sys.Audit on /system/tasks — its own tasks and the verification jobs
    # of store1 (it may run them: Datastore.Verify); not the backups, GC, sync or prune jobs.
    types = {t["worker_type"] for t in api(lab).nodes("localhost").tasks.get(limit=0)}
    assert "verificationjob" in types and types <= {"verificationjob", "verify"}


def test_datastore_usage_with_estimate(lab):
    usage = api(lab).status("datastore-usage").get()
    assert [u["store"] for u in usage] == ["store1"]
    u = usage[0]
    assert u["total"] == u["used"] + u["avail"]
    assert u["history-delta"] == 1800 and len(u["history"]) >= 1440
    assert all(h is None or 0 < h < 1 for h in u["history"])
    assert isinstance(u["estimated-full-date"], int) and u["estimated-full-date"] > time.time()
    assert "gc-status" in u


def test_datastore_rrd(lab):
    rrd = api(lab).admin.datastore("store1").rrd.get(timeframe="day", cf="AVERAGE")
    assert len(rrd) >= 1440 and all(isinstance(r["time"], int) for r in rrd)
    assert {"total", "used", "available"} <= set(rrd[-2])


def test_config_endpoints(lab):
    pbs = api(lab, 1)
    assert [d["name"] for d in pbs.config.datastore.get()] == ["store1"]
    assert [(j["id"], j["store"]) for j in pbs.config.verify.get()] == [("v-weekly", "store1")]
    sync = pbs.config.sync.get(**{"sync-direction": "all"})
    assert [(j["id"], j["remote-store"]) for j in sync] == [("s-offsite", "offsite")]
    prune = pbs.config.prune.get()
    assert prune == [{"id": "p-daily", "store": "store1", "schedule": "daily", "keep-last": 3, "keep-daily": 7, "keep-weekly": 4}]
    status = pbs.admin.prune.get(store="store1")
    assert status[0]["last-run-state"] == "OK" and status[0]["last-run-upid"].startswith("UPID:pbs:")
    # prune one group, dry run: marks only, oldest first
    marks = pbs.admin.datastore("store1").prune.post(**{"backup-type": "vm", "backup-id": "100", "dry-run": 1, "keep-last": 1})
    assert [m["keep"] for m in marks] == [True] and marks[0]["backup-id"] == "100"


def test_node_status(lab):
    status = api(lab, 1).nodes("localhost").status.get()
    assert {"memory", "root", "swap", "uptime", "loadavg", "cpu", "wait", "cpuinfo", "info", "kversion"} <= set(status)
    assert status["info"]["fingerprint"] == lab["pbs"]["fingerprint"].lower()
    with pytest.raises(ResourceException) as e:  # Sys.Audit on /system/status
        api(lab).nodes("localhost").status.get()
    assert e.value.status_code == 403 and e.value.errors == {"errors": b"permission check failed"}


def test_errors_as_pbs_words_them(lab):
    with pytest.raises(ResourceException) as e:
        api(lab).nodes("localhost").nonexistent.get()
    # A plain-text body under a JSON content type: proxmoxer cannot parse it and hands over the bytes.
    assert e.value.status_code == 404
    assert e.value.errors == {"errors": b"Path '/api2/json/nodes/localhost/nonexistent' not found."}
    with pytest.raises(ResourceException) as e:
        api(lab).nodes("localhost").tasks("not-a-upid").status.get()
    assert e.value.status_code == 400


def test_started_tasks(lab):
    admin = api(lab, 1)
    upid = admin.admin.datastore("store1").gc.post()
    # proxmoxer's Tasks tools expect PVE's nine-part UPID; PBS's has ten (the task number).
    with pytest.raises(AssertionError):
        Tasks.decode_upid(upid)
    status = wait_stopped(admin, upid)
    assert status["exitstatus"] == "OK" and status["type"] == "garbage_collection"
    assert status["user"] == "admin@pbs" and status["tokenid"] == "fidelity"
    assert admin.nodes("localhost").tasks(upid).log.get(limit=0)[-1]["t"].endswith(": TASK OK")
    assert admin.admin.datastore("store1").gc.get()["upid"] == upid

    bridge = api(lab)
    upid = bridge.admin.datastore("store1").verify.post(**{"ignore-verified": 1})
    status = wait_stopped(bridge, upid)
    assert status["type"] == "verify" and status["id"] == "store1" and status["exitstatus"] == "OK"
    mine = bridge.nodes("localhost").tasks.get(typefilter="verify", userfilter="backup2mqtt@pbs")
    assert upid in [t["upid"] for t in mine]
