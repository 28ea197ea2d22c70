"""
Fidelity of the simulated Proxmox VE lab against prometheus-pve-exporter (pinned in run.sh),
unchanged: its default module's collectors run against the lab through the exporter's own code
path (`collect_pve`, which builds the CollectorRegistry for a module config and renders it) and
one by one. Real PVE answers every call they make; so must the lab (a 501 or a missing key turns
the scrape into a 500).
"""
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from proxmoxer import ProxmoxAPI

from pve_exporter.collector import CollectorsOptions, collect_pve
from pve_exporter.collector.cluster import (
    BackupInfoCollector,
    ClusterNodeCollector,
    ClusterResourcesCollector,
    StatusCollector,
    VersionCollector,
)
from pve_exporter.collector.node import NodeConfigCollector, NodeReplicationCollector, SubscriptionCollector

NODE = "proxmox-home"


def module_config(lab, token_index=0):
    """A pve.yml module as the exporter passes it to ProxmoxAPI(host, **config)."""
    pve = lab["pve"]
    tok = pve["tokens"][token_index]
    user, name = tok["id"].split("!")
    return {"user": user, "token_name": name, "token_value": tok["secret"], "verify_ssl": pve["ca"], "port": pve["port"]}


def api(lab):
    return ProxmoxAPI(lab["pve"]["host"], **module_config(lab))


def samples(families):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def value(families, metric, /, **labels):
    return samples(families)[(metric, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def scrape(lab):
    """The default module's scrape (every collector on, cluster=1, node=1), parsed back."""
    options = CollectorsOptions(**{field: True for field in CollectorsOptions._fields})
    text = collect_pve(module_config(lab), lab["pve"]["host"], True, True, options).decode()
    return list(text_string_to_metric_families(text))


COLLECTORS = {
    "status": (StatusCollector, "pve_up"),
    "cluster resources": (ClusterResourcesCollector, "pve_disk_size_bytes"),
    "node": (ClusterNodeCollector, "pve_node_info"),
    "version": (VersionCollector, "pve_version_info"),
    "backup info": (BackupInfoCollector, "pve_not_backed_up_total"),
    "subscription": (SubscriptionCollector, "pve_subscription_status"),
    "node config": (NodeConfigCollector, "pve_onboot_status"),
}


@pytest.mark.parametrize("name", list(COLLECTORS))
def test_collector_yields_samples(lab, name):
    cls, family = COLLECTORS[name]
    families = list(cls(api(lab)).collect())
    by_name = {f.name: f for f in families}
    assert family in by_name, f"{name}: no {family} in {sorted(by_name)}"
    assert by_name[family].samples, f"{name}: {family} has no samples"


def test_replication_collector(lab):
    # A standalone node has no replication target, so no jobs: the collector lists none and succeeds.
    families = list(NodeReplicationCollector(api(lab)).collect())
    assert {f.name for f in families} >= {"pve_replication_info", "pve_replication_duration_seconds"}
    assert api(lab).nodes(NODE).replication.get() == []


def test_default_scrape_succeeds_with_real_shapes(lab, scrape):
    pve = api(lab)
    names = {f.name for f in scrape}
    for family in ("pve_up", "pve_disk_size_bytes", "pve_node_info", "pve_version_info", "pve_not_backed_up_total",
                   "pve_subscription_info", "pve_subscription_status", "pve_onboot_status"):
        assert family in names, family
    assert value(scrape, "pve_up", id=f"node/{NODE}") == 1
    assert value(scrape, "pve_node_info", id=f"node/{NODE}", level="", name=NODE, nodeid="0") == 1
    assert value(scrape, "pve_version_info", release="9.1", repoid="1f4e0a8c2f9d3b71", version="9.1.6") == 1
    # No subscription: status notfound, level unknown (the answer has no `level`), no next due date.
    assert value(scrape, "pve_subscription_status", id=f"node/{NODE}", status="notfound") == 1
    assert value(scrape, "pve_subscription_status", id=f"node/{NODE}", status="active") == 0
    assert value(scrape, "pve_subscription_info", id=f"node/{NODE}", level="unknown") == 1
    # onboot comes from the guest configs.
    assert value(scrape, "pve_onboot_status", id="qemu/100", node=NODE, type="qemu") == 1
    assert value(scrape, "pve_onboot_status", id="lxc/103", node=NODE, type="lxc") == 0
    # LXC 103: the config's rootfs size is the maxdisk /cluster/resources reports.
    rootfs = pve.nodes(NODE).lxc(103).config.get()["rootfs"]
    size = re.search(r"size=(\d+)G", rootfs)
    assert size and value(scrape, "pve_disk_size_bytes", id="lxc/103") == int(size.group(1)) * 1024**3 == 64 * 1024**3
    # The backup-info total is the length of the not-backed-up list.
    missing = pve.cluster("backup-info/not-backed-up").get()
    assert value(scrape, "pve_not_backed_up_total", id=f"cluster/{NODE}") == len(missing)
    # `local` is believable: used below its size.
    used = value(scrape, "pve_disk_usage_bytes", id=f"storage/{NODE}/local")
    total = value(scrape, "pve_disk_size_bytes", id=f"storage/{NODE}/local")
    assert 0 < used < 0.9 * total


def test_guest_configs_are_full(lab):
    pve = api(lab)
    for vm in pve.nodes(NODE).qemu.get():
        conf = pve.nodes(NODE).qemu(vm["vmid"]).config.get()
        assert {"onboot", "tags", "ostype", "net0", "scsi0", "memory", "digest"} <= conf.keys()
        assert isinstance(conf["memory"], str) and isinstance(conf["cores"], int)
    for ct in pve.nodes(NODE).lxc.get():
        conf = pve.nodes(NODE).lxc(ct["vmid"]).config.get()
        assert {"onboot", "tags", "ostype", "net0", "rootfs", "hostname"} <= conf.keys()
        assert isinstance(conf["memory"], int)


def test_node_rows_say_cgroup_mode_with_a_dash(lab):
    rows = api(lab).cluster.resources.get(type="node")
    assert rows and all(r.get("cgroup-mode") == 2 and "cgroup_mode" not in r for r in rows)
