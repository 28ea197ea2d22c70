"""
synology-api 0.9.4 (N4S4/synology-api), unchanged, against the simulated DSM 7: the encrypted DSM 7
login (SYNO.API.Auth.UIConfig's `_SSID` key, a Noise IK ik_message, the NAS's answering message),
Hyper Backup tasks through its Backup class, and the system reports its SysInfo class reads.
"""
import pytest
import requests

from synology_api import base_api
from synology_api.core_backup import Backup
from synology_api.core_sys_info import SysInfo
from synology_api.exceptions import LoginError


def _connect(cls, lab, password=None):
    d = lab["dsm"]
    user = d["users"][0] if d.get("users") else {"account": "backup2mqtt", "password": "hyper-backup-demo"}
    base_api.BaseApi.shared_session = None  # the library shares one login per process
    return cls(
        d["host"], str(d["port"]), user["account"], password or user["password"],
        secure=True, cert_verify=d["ca"], dsm_version=7, debug=False,
    )


@pytest.fixture
def backup(lab):
    b = _connect(Backup, lab)
    yield b
    b.logout()


def test_dsm7_login_goes_through_the_noise_handshake(backup, lab):
    s = backup.session
    assert s.sid and len(s.sid) == 86
    # The library finishes the handshake only when the NAS's ik_message answers its own: the
    # responder's payload decrypts under keys made from both sides' DH results.
    assert s._noise_connection is not None and s._noise_connection.handshake_finished
    assert s._noise_handshake_hash
    # SYNO.API.Info as DSM 7 lists itself: entry.cgi, JSON.
    info = backup.gen_list["SYNO.API.Info"]
    assert info["path"] == "entry.cgi" and info.get("requestFormat") == "JSON"
    assert backup.gen_list["SYNO.API.Auth"] == {"path": "entry.cgi", "minVersion": 1, "maxVersion": 7}


def test_uiconfig_cookie_and_cookie_login(lab):
    d = lab["dsm"]
    base = d["url"] + "/webapi/"
    r = requests.post(base + "entry.cgi/SYNO.API.Auth.UIConfig",
                      data={"api": "SYNO.API.Auth.UIConfig", "method": "get", "version": "1"}, verify=d["ca"])
    assert r.json()["success"] is True and len(r.cookies["_SSID"]) == 43  # 32 bytes, base64url
    user = d["users"][0] if d.get("users") else {"account": "backup2mqtt", "password": "hyper-backup-demo"}
    r = requests.post(base + "auth.cgi", data={
        "api": "SYNO.API.Auth", "version": "7", "method": "login", "account": user["account"],
        "passwd": user["password"], "session": "webui", "format": "cookie"}, verify=d["ca"])
    data = r.json()["data"]
    assert r.cookies["id"] == data["sid"] and data["ik_message"] == ""
    assert "max-age=604800" in r.headers["Set-Cookie"]


def test_hyper_backup_tasks_and_status(backup):
    tasks = backup.backup_task_list()["data"]
    assert tasks["total"] == len(tasks["task_list"]) >= 1
    first = tasks["task_list"][0]
    # Without `additional` DSM answers the task's configuration only.
    assert {"task_id", "name", "state", "status", "target_type", "transfer_type", "repo_id"} <= set(first)
    assert "last_bkp_time" not in first
    status = backup.backup_task_status(first["task_id"])["data"]
    assert status["task_id"] == first["task_id"] and status["state"] == "backupable"
    result = backup.backup_task_result(first["task_id"])["data"]
    assert result["last_bkp_result"] == "done" and result["last_bkp_error_code"] == 4401
    assert "/" in result["last_bkp_time"] and result["next_bkp_time"]
    assert "last_bkp_progress" not in result  # only while a backup runs
    got = backup.backup_task_get(first["task_id"])["data"]
    assert got["name"] == first["name"] and got["repository"]["repo_id"] == first["repo_id"]
    assert len(got) >= 13


def test_repository_and_vault_targets(backup):
    repos = backup.backup_repository_list()["data"]
    assert repos and {"repo_id", "target_type", "transfer_type"} <= set(repos[0])
    one = backup.backup_repository_get(repos[0]["repo_id"])["data"]
    assert one["repo_id"] == repos[0]["repo_id"]
    targets = backup.vault_target_list()["data"]["target_list"]
    assert targets and {"target_name", "target_id", "status", "last_backup_duration",
                        "last_backup_start_time", "used_size"} <= set(targets[0])
    assert targets[0]["last_backup_start_time"] > 1_600_000_000


def test_sysinfo_dsm_core_storage(lab):
    si = _connect(SysInfo, lab)
    try:
        dsm = si.dsm_info()["data"]
        assert dsm["version_string"].startswith("DSM 7") and dsm["model"]
        core = si.get_system_info()["data"]
        assert core["model"] == dsm["model"] and core["firmware_ver"] == dsm["version_string"]
        storage = si.storage()["data"]
        vol = storage["volumes"][0]
        assert int(vol["size"]["used"]) <= int(vol["size"]["total"])
    finally:
        si.logout()


def test_wrong_password_is_400(lab):
    with pytest.raises(LoginError) as e:
        _connect(Backup, lab, password="not-the-password")
    assert e.value.error_code == 400
    base_api.BaseApi.shared_session = None
