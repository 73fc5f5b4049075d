"""Compute quotas: limits resolve user > project > default class > config,
usage is counted from the rows, and checks raise 403 naming the quota."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from stratus.api.compute import limits as limits_api
from stratus.api.compute.hypervisors import statistics, usage as hv_usage
from stratus.common import errors
from stratus.common.config import Config
from stratus.compute import flavors, keypairs, quotas, zones
from stratus.db import migrate
from stratus.db.base import Database
from stratus.db.models import compute as m


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path}/q.sqlite"
    migrate.sync(url)
    database = Database(url, 2)
    yield database
    database.dispose()


@pytest.fixture
def conf():
    return Config(overrides={"quota": {"instances": 3, "cores": 4, "ram": 1024}})


def ctx(project="p1", user="u1", admin=False):
    return SimpleNamespace(project_id=project, user_id=user, is_admin=admin)


def add_instance(s, project="p1", user="u1", vcpus=1, ram=256, deleted=0):
    i = m.Instance(uuid=str(uuid.uuid4()), display_name="vm", hostname="vm",
                   project_id=project, user_id=user, flavor={}, flavor_id="1", vcpus=vcpus,
                   memory_mb=ram, root_gb=1)
    s.add(i)
    s.flush()
    if deleted:
        i.deleted = i.id
    return i


def test_limits_resolve_most_specific_first(db, conf):
    with db.session() as s:
        assert quotas.limits_for(s, conf, "p1")["instances"] == 3
        quotas.set_limit(s, quotas.DEFAULT_CLASS, "", "instances", 7)
        s.flush()
        assert quotas.limits_for(s, conf, "p1")["instances"] == 7
        quotas.set_limit(s, "p1", "", "instances", 5)
        quotas.set_limit(s, "p1", "u1", "instances", 2)
        quotas.set_limit(s, "p1", "u1", "server_groups", 1)  # not a per-user quota
        s.flush()
        assert quotas.limits_for(s, conf, "p1")["instances"] == 5
        assert quotas.limits_for(s, conf, "p2")["instances"] == 7
        assert quotas.limits_for(s, conf, "p1", "u1")["instances"] == 2
        assert quotas.limits_for(s, conf, "p1", "u1")["server_groups"] == 10
        quotas.delete_limits(s, "p1", "u1")
        s.flush()
        assert quotas.limits_for(s, conf, "p1", "u1")["instances"] == 5


def test_usage_counts_live_rows_only(db):
    with db.session() as s:
        add_instance(s, vcpus=2, ram=512)
        add_instance(s, user="u2", vcpus=1, ram=256)
        add_instance(s, vcpus=4, ram=2048, deleted=1)
        add_instance(s, project="p2", vcpus=8, ram=4096)
        s.add(m.KeyPair(user_id="u1", name="k", fingerprint="f", public_key="x"))
        s.add(m.ServerGroup(uuid=str(uuid.uuid4()), name="g", project_id="p1", user_id="u1",
                            policy="affinity"))
        s.flush()
        used = quotas.usage(s, "p1")
        assert (used["instances"], used["cores"], used["ram"]) == (2, 3, 768)
        assert used["server_groups"] == 1
        mine = quotas.usage(s, "p1", "u1")
        assert (mine["instances"], mine["cores"], mine["ram"], mine["key_pairs"]) == \
            (1, 2, 512, 1)


def test_check_server_create_names_the_quota(db, conf):
    flavor = SimpleNamespace(vcpus=1, memory_mb=256)
    with db.session() as s:
        for _ in range(3):
            add_instance(s)
        with pytest.raises(quotas.QuotaExceeded) as exc:
            quotas.check_server_create(s, conf, ctx(), 1, flavor)
    assert exc.value.status == 403
    assert isinstance(exc.value, errors.Forbidden)
    assert exc.value.message == ("Quota exceeded for instances: Requested 1, but already "
                                 "used 3 of 3 instances")


def test_check_server_create_counts_cores_and_ram_and_dict_flavors(db, conf):
    with db.session() as s:
        add_instance(s, vcpus=2, ram=512)
        quotas.check_server_create(s, conf, ctx(), 1, {"vcpus": 2, "ram": 512})
        with pytest.raises(quotas.QuotaExceeded) as exc:
            quotas.check_server_create(s, conf, ctx(), 2, {"vcpus": 2, "ram": 256})
    assert exc.value.message.startswith("Quota exceeded for cores: Requested 4, but already "
                                        "used 2 of 4 cores")


def test_per_user_limit_applies_within_project(db, conf):
    flavor = SimpleNamespace(vcpus=1, memory_mb=64)
    with db.session() as s:
        quotas.set_limit(s, "p1", "u1", "instances", 1)
        add_instance(s, user="u1", ram=64)
        s.flush()
        quotas.check_server_create(s, conf, ctx(user="u2"), 1, flavor)
        with pytest.raises(quotas.QuotaExceeded, match="instances"):
            quotas.check_server_create(s, conf, ctx(user="u1"), 1, flavor)


def test_unlimited_never_exceeds():
    assert quotas.over({"instances": -1}, {"instances": 10 ** 6}, {"instances": 5}) == []
    assert quotas.over({"instances": 0}, {}, {"instances": 1}) == ["instances"]


@pytest.mark.parametrize("value,used,force,ok", [
    (5, 0, False, True), (-1, 9, False, True), (-2, 0, False, False), ("x", 0, False, False),
    (True, 0, False, False), (2, 3, False, False), (2, 3, True, True), (2 ** 31, 0, True, False),
    ("7", 0, False, True)])
def test_validate_update(value, used, force, ok):
    if ok:
        assert quotas.validate_update("instances", value, used, force) == int(value)
    else:
        with pytest.raises(errors.BadRequest, match="instances"):
            quotas.validate_update("instances", value, used, force)


def test_limits_document_maps_quotas_and_usage(db, conf):
    with db.session() as s:
        add_instance(s, vcpus=2, ram=300)
        doc = limits_api.absolute(quotas.limits_for(s, conf, "p1"), quotas.usage(s, "p1"))
    assert doc["maxTotalInstances"] == 3 and doc["maxTotalCores"] == 4
    assert doc["totalInstancesUsed"] == 1 and doc["totalRAMUsed"] == 300
    assert doc["totalCoresUsed"] == 2 and doc["maxTotalKeypairs"] == 100


def test_default_flavors_only_on_first_start(db):
    with db.session() as s:
        assert flavors.ensure_default_flavors(s) == ["m1.tiny", "m1.small", "m1.medium",
                                                     "m1.large", "m1.xlarge"]
        assert flavors.ensure_default_flavors(s) == []
        tiny = flavors.get_flavor(s, "1", ctx())
        assert (tiny.name, tiny.vcpus, tiny.memory_mb, tiny.root_gb) == ("m1.tiny", 1, 256, 1)
        assert tiny.memory_mb >= 128


def test_private_flavor_visible_to_admin_and_granted_projects(db):
    with db.session() as s:
        f = m.Flavor(flavorid="priv", name="priv", vcpus=1, memory_mb=64, root_gb=0,
                     is_public=False)
        s.add(f)
        s.flush()
        s.add(m.FlavorProject(flavor_id=f.id, project_id="p2"))
        s.flush()
        assert flavors.get_flavor(s, "priv", ctx("p1")) is None
        assert flavors.get_flavor(s, "priv", ctx("p2")).name == "priv"
        assert flavors.get_flavor(s, "http://x/compute/v2.1/flavors/priv", ctx("p2")) is not None
        assert flavors.get_flavor(s, "priv", ctx("p1", admin=True)) is not None
        assert flavors.get_flavor(s, "nope", ctx(admin=True)) is None


RSA_PUB = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aH9"
           "sPgP0l2B8SxUjkM4ZkOCoF/aNSr7jOuS2nf0VGXwR8u3aIUgf98Y3CFaBdDFcxmMXz9GgIIE8BQqi/JB"
           "4DGXcWUWvgZAvFijL6FPHo6zGhPVRLYclNyazPfuUUoK2X5Fgw== me@host")


def test_keypair_fingerprint_and_generation():
    fp = keypairs.fingerprint(RSA_PUB)
    assert len(fp.split(":")) == 16
    private, public, gen_fp = keypairs.generate()
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert public.startswith("ssh-rsa ") and keypairs.fingerprint(public) == gen_fp
    for bad in ("", "ssh-rsa badkey", "ssh-rsa " + "A" * 2000, "not a key"):
        with pytest.raises(errors.BadRequest):
            keypairs.fingerprint(bad)


@pytest.mark.parametrize("name,ok", [("k1", True), ("my key-_1", True), ("", False),
                                     ("x" * 256, False), ("key_/.\\@:", False), (5, False)])
def test_keypair_names(name, ok):
    if ok:
        assert keypairs.validate_name(name) == name
    else:
        with pytest.raises(errors.BadRequest, match="Keypair"):
            keypairs.validate_name(name)


def node(**kw):
    base = dict(host="h1", vcpus=4, memory_mb=8192, local_gb=100, vcpus_used=1,
                memory_mb_used=1024, local_gb_used=10, running_vms=1,
                reserved_host_memory_mb=512, reserved_host_disk_mb=2048,
                forced_down=False, last_seen_up=None, disabled=False)
    base.update(kw)
    return SimpleNamespace(**base)


def test_hypervisor_usage_includes_reserved_and_statistics_sum():
    u = hv_usage(node())
    assert (u["memory_mb_used"], u["free_ram_mb"]) == (1536, 8192 - 1536)
    assert (u["local_gb_used"], u["free_disk_gb"]) == (12, 88)
    stats = statistics([node(), node(host="h2", vcpus=8, vcpus_used=3)])
    assert stats["count"] == 2 and stats["vcpus"] == 12 and stats["vcpus_used"] == 4


def test_service_liveness():
    import datetime as dt
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    assert zones.is_up(node(last_seen_up=now - dt.timedelta(seconds=30)), 60, now)
    assert not zones.is_up(node(last_seen_up=now - dt.timedelta(seconds=61)), 60, now)
    assert not zones.is_up(node(last_seen_up=now, forced_down=True), 60, now)
    assert not zones.is_up(node(), 60, now)


def test_zone_conflict():
    assert zones.zone_conflict(set(), "az1") is None
    assert zones.zone_conflict({"az1"}, "az1") is None
    assert zones.zone_conflict({"az1"}, "az2") == "az1"
    assert zones.zone_conflict({"az1"}, None) is None


def test_check_metadata_and_check_one(db, conf):
    with db.session() as s:
        quotas.check_metadata(s, conf, ctx(), 128)
        with pytest.raises(quotas.QuotaExceeded, match="metadata_items.*128"):
            quotas.check_metadata(s, conf, ctx(), 129)
        quotas.check_one(s, conf, ctx(), "server_groups", 9)
        with pytest.raises(quotas.QuotaExceeded) as exc:
            quotas.check_one(s, conf, ctx(), "server_groups", 10)
        assert exc.value.message == ("Quota exceeded for server_groups: Requested 1, but "
                                     "already used 10 of 10 server_groups")
        quotas.set_limit(s, "p1", "", "server_group_members", -1)
        s.flush()
        quotas.check_one(s, conf, ctx(), "server_group_members", 10 ** 6, 5)


def test_zone_table_groups_hosts_by_zone():
    import datetime as dt
    from stratus.api.compute.availability_zones import zone_table
    now = dt.datetime(2026, 1, 1)
    nodes = [node(host="a", last_seen_up=now), node(host="b", disabled=True, last_seen_up=now),
             node(host="c", last_seen_up=now - dt.timedelta(hours=1))]
    table = zone_table(nodes, {"b": {"az1"}}, "nova", 60, now)
    assert set(table) == {"nova", "az1"}
    assert table["az1"]["available"] is False  # its only service is disabled
    assert table["nova"]["available"] is True
    assert table["nova"]["hosts"]["a"]["nova-compute"]["available"] is True
    assert table["nova"]["hosts"]["c"]["nova-compute"]["available"] is False  # down


def test_user_limit_may_not_exceed_project_limit():
    assert quotas.validate_update("cores", 4, 0, False, maximum=10) == 4
    for value in (11, -1):
        with pytest.raises(errors.BadRequest, match="less than or equal to 10"):
            quotas.validate_update("cores", value, 0, False, maximum=10)
    assert quotas.validate_update("cores", -1, 0, False, maximum=-1) == -1
