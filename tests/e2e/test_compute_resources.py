"""The resources half of the Compute API tried as a user would: the real
``openstack`` CLI against a live ``stratus up`` (flavors, key pairs,
aggregates and zones, hypervisors, services, quotas, limits, server groups),
plus raw HTTP for wire details (nova error bodies, microversion headers).

Hosts and instances that a test needs are inserted into the server's
database directly (as a registered agent / a booted server would leave them),
so these tests do not depend on a hypervisor."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from conftest import Cloud, unique
from stratus.db.models import compute as m

pytestmark = pytest.mark.e2e


# -- helpers ----------------------------------------------------------------------
def compute(cloud: Cloud, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{cloud.base_url}/compute/v2.1/", timeout=30.0,
                        trust_env=False, headers={"X-Auth-Token": token})


def nova_error(r: httpx.Response, status: int, *mentions: str) -> str:
    """``r`` is a nova error: ``{"<key>": {"code": status, "message": ...}}``."""
    what = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:300]}"
    assert r.status_code == status, what
    body = r.json()
    assert len(body) == 1, what
    (err,) = body.values()
    assert err["code"] == status and err["message"], what
    for word in mentions:
        assert word.lower() in err["message"].lower(), f"message lacks {word!r}: {what}"
    return err["message"]


def cli_fails(target: Cloud, *args, expect: str = "", **kw) -> str:
    cp = target.openstack(*args, check=False, json_out=False, **kw)
    assert cp.returncode != 0, f"`openstack {' '.join(args)}` succeeded: {cp.stdout}"
    assert expect.lower() in (cp.stderr + cp.stdout).lower(), cp.stderr
    return cp.stderr


def db(cloud: Cloud) -> Session:
    engine = create_engine(f"sqlite:///{cloud.state_dir}/stratus.sqlite")
    return Session(engine, expire_on_commit=False)


def add_node(cloud: Cloud, host: str) -> int:
    """A compute host as a registered, heart-beating agent leaves it."""
    with db(cloud) as s:
        node = m.ComputeNode(uuid=str(uuid.uuid4()), host=host, hypervisor_type="QEMU",
                             hypervisor_version=8002000, host_ip="192.0.2.10",
                             cpu_info={"arch": "x86_64"}, vcpus=8, memory_mb=16384,
                             local_gb=200, vcpus_used=2, memory_mb_used=2048, local_gb_used=20,
                             running_vms=2, reserved_host_memory_mb=512,
                             service_id=uuid.uuid4().int % 2_000_000_000, stats={},
                             last_seen_up=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        s.add(node)
        s.commit()
        return node.id


@pytest.fixture
def fake_host(live_cloud: Cloud):
    """A registered compute host for one test, removed afterwards so that no
    later test's server is ever scheduled onto it."""
    host = unique("host")
    node_id = add_node(live_cloud, host)
    yield host, node_id
    with db(live_cloud) as s:
        s.execute(delete(m.AggregateHost).where(m.AggregateHost.host == host))
        s.execute(delete(m.ComputeNode).where(m.ComputeNode.id == node_id))
        s.commit()


def add_instance(cloud: Cloud, project_id: str, user_id: str, vcpus=1, ram=256) -> str:
    with db(cloud) as s:
        inst = m.Instance(uuid=str(uuid.uuid4()), display_name="quota-probe",
                          hostname="quota-probe", project_id=project_id, user_id=user_id,
                          flavor={}, flavor_id="1", vcpus=vcpus, memory_mb=ram, root_gb=1,
                          vm_state="error", task_state=None)
        s.add(inst)
        s.commit()
        return inst.uuid


def drop_instance(cloud: Cloud, instance_uuid: str) -> None:
    with db(cloud) as s:
        s.execute(delete(m.Instance).where(m.Instance.uuid == instance_uuid))
        s.commit()


def project_id(api, name: str) -> str:
    return api.get("projects", params={"name": name}).json()["projects"][0]["id"]


@pytest.fixture(scope="module")
def demo_token(live_cloud: Cloud) -> str:
    return live_cloud.token("demo", live_cloud.demo_password, project="demo")


# -- versions and microversions -----------------------------------------------------
def test_version_documents_and_microversion_headers(live_cloud: Cloud):
    with httpx.Client(trust_env=False, timeout=30) as http:
        r = http.get(f"{live_cloud.base_url}/compute/")
        assert r.status_code == 200
        versions = {v["id"]: v for v in r.json()["versions"]}
        assert versions["v2.1"]["status"] == "CURRENT"
        assert versions["v2.1"]["min_version"] == "2.1"
        assert r.headers["OpenStack-API-Version"].startswith("compute ")
        assert "OpenStack-API-Version" in r.headers["Vary"]
        doc = http.get(versions["v2.1"]["links"][0]["href"]).json()["version"]
        assert doc["id"] == "v2.1" and doc["links"][0] == versions["v2.1"]["links"][0]
    with compute(live_cloud, live_cloud.admin_token()) as c:
        r = c.get("flavors", headers={"OpenStack-API-Version": "compute latest"})
        assert r.status_code == 200
        assert r.headers["X-OpenStack-Nova-API-Version"] == doc["version"]
        nova_error(c.get("flavors", headers={"OpenStack-API-Version": "compute 2.999"}), 406,
                   "2.999")
        nova_error(c.get("flavors", headers={"X-OpenStack-Nova-API-Version": "two"}), 400)


# -- flavors ------------------------------------------------------------------------
def test_default_flavors_exist(live_cloud: Cloud):
    rows = {f["Name"]: f for f in live_cloud.openstack("flavor", "list")}
    for name in ("m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"):
        assert name in rows
    assert rows["m1.tiny"]["ID"] == "1" and rows["m1.tiny"]["RAM"] >= 128


def test_flavor_lifecycle_with_properties_and_private_access(live_cloud: Cloud, api,
                                                              demo_token):
    name = unique("flv")
    f = live_cloud.openstack("flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1",
                             "--private", "--property", "hw:cpu_policy=shared", name)
    assert f["os-flavor-access:is_public"] is False and f["ram"] == 64
    live_cloud.openstack("flavor", "set", "--property", "quota:disk_read_bytes_sec=1000",
                         "--project", "demo", name, json_out=False)
    shown = live_cloud.openstack("flavor", "show", name)
    assert shown["properties"] == {"hw:cpu_policy": "shared",
                                   "quota:disk_read_bytes_sec": "1000"}
    assert shown["access_project_ids"] == [project_id(api, "demo")]
    # the demo project was granted access: it sees the private flavor
    with compute(live_cloud, demo_token) as c:
        assert name in [x["name"] for x in c.get("flavors").json()["flavors"]]
        assert c.get(f"flavors/{f['id']}").json()["flavor"]["swap"] == ""
    live_cloud.openstack("flavor", "unset", "--project", "demo", name, json_out=False)
    with compute(live_cloud, demo_token) as c:
        assert name not in [x["name"] for x in c.get("flavors").json()["flavors"]]
        nova_error(c.get(f"flavors/{f['id']}"), 404, f["id"])
    live_cloud.openstack("flavor", "delete", name, json_out=False)
    cli_fails(live_cloud, "flavor", "show", name, expect="No Flavor found")


def test_flavor_bad_input(live_cloud: Cloud, demo_token):
    name = unique("flv")
    body = {"flavor": {"name": name, "ram": 0, "vcpus": 1, "disk": 1}}
    with compute(live_cloud, live_cloud.admin_token()) as c:
        nova_error(c.post("flavors", json=body), 400, "ram")
        body["flavor"].update(ram=64, vcpus=0)
        nova_error(c.post("flavors", json=body), 400, "vcpus")
        body["flavor"].update(vcpus=1, name=" spaced")
        nova_error(c.post("flavors", json=body), 400, "name")
        body["flavor"].update(name=name, id="fid-" + name)
        assert c.post("flavors", json=body).status_code == 200
        nova_error(c.post("flavors", json=body), 409, "already exists")
        body["flavor"]["name"] = name + "-2"
        nova_error(c.post("flavors", json=body), 409, "fid-" + name)
        nova_error(c.get("flavors", params={"minRam": "lots"}), 400, "minRam")
        nova_error(c.get("flavors", params={"marker": "no-such-flavor"}), 400, "marker")
        assert c.delete(f"flavors/fid-{name}").status_code == 202
    cli_fails(live_cloud, "flavor", "create", "--ram", "64", "--vcpus", "1", unique("flv"),
              cloud="stratus-demo", expect="403")


def test_flavor_list_filters_and_pagination(live_cloud: Cloud):
    with compute(live_cloud, live_cloud.admin_token()) as c:
        big = [f["name"] for f in c.get("flavors/detail", params={"minRam": 2048})
               .json()["flavors"]]
        assert "m1.large" in big and "m1.tiny" not in big
        first = c.get("flavors", params={"limit": 2}).json()
        assert len(first["flavors"]) == 2 and first["flavors_links"][0]["rel"] == "next"
        nxt = c.get("flavors", params={"limit": 2, "marker": first["flavors"][-1]["id"]})
        ids = [f["id"] for f in first["flavors"] + nxt.json()["flavors"]]
        assert len(set(ids)) == 4


# -- key pairs ----------------------------------------------------------------------
def test_keypair_import_list_show_delete(live_cloud: Cloud, demo_token, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    digest = hashlib.md5(base64.b64decode(key.split()[1])).hexdigest()
    expected = ":".join(digest[i:i + 2] for i in range(0, 32, 2))
    pub = tmp_path / "k.pub"
    pub.write_text(key + " me@test\n")
    name = unique("kp")
    created = live_cloud.openstack("keypair", "create", "--public-key", str(pub), name)
    assert created["fingerprint"] == expected
    assert name in [k["Name"] for k in live_cloud.openstack("keypair", "list")]
    assert live_cloud.openstack("keypair", "show", name)["fingerprint"] == expected
    # key pairs are per user: demo neither sees nor can delete it
    with compute(live_cloud, demo_token) as c:
        assert name not in [k["keypair"]["name"] for k in c.get("os-keypairs").json()["keypairs"]]
        nova_error(c.delete(f"os-keypairs/{name}"), 404, name)
    cli_fails(live_cloud, "keypair", "create", "--public-key", str(pub), name,
              expect="already exists")
    live_cloud.openstack("keypair", "delete", name, json_out=False)
    cli_fails(live_cloud, "keypair", "show", name, expect="No Keypair found")


def test_keypair_generated_by_server_and_bad_input(live_cloud: Cloud):
    name = unique("kp")
    with compute(live_cloud, live_cloud.admin_token()) as c:
        kp = c.post("os-keypairs", json={"keypair": {"name": name}}).json()["keypair"]
        assert kp["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert kp["public_key"].startswith("ssh-rsa ") and len(kp["fingerprint"]) == 47
        nova_error(c.post("os-keypairs", json={"keypair": {"name": name}}), 409,
                   "already exists")
        for bad in ("ssh-rsa badkey", "", "ssh-rsa " + "A" * 2000):
            nova_error(c.post("os-keypairs", json={"keypair": {"name": unique("kp"),
                                                               "public_key": bad}}), 400)
        nova_error(c.post("os-keypairs", json={"keypair": {"name": "bad/name"}}), 400,
                   "unsafe")
        nova_error(c.post("os-keypairs", json={"keypair": {"name": "x" * 256}}), 400)
        assert c.delete(f"os-keypairs/{name}").status_code == 202


# -- aggregates, zones, hypervisors, services ---------------------------------------------
def test_aggregates_and_availability_zones(live_cloud: Cloud, demo_token, fake_host):
    host, _ = fake_host
    zone, agg, agg2 = unique("az"), unique("agg"), unique("agg")
    a = live_cloud.openstack("aggregate", "create", "--zone", zone, agg)
    assert a["availability_zone"] == zone
    live_cloud.openstack("aggregate", "add", "host", agg, host)
    shown = live_cloud.openstack("aggregate", "show", agg)
    assert shown["hosts"] == [host] and shown["availability_zone"] == zone
    zones = [z["Zone Name"] for z in live_cloud.openstack("availability", "zone", "list")]
    assert zone in zones
    with compute(live_cloud, demo_token) as c:  # any user lists zones
        assert zone in [z["zoneName"] for z in c.get("os-availability-zone").json()
                        ["availabilityZoneInfo"]]
        nova_error(c.get("os-availability-zone/detail"), 403)
    # a host may not be in two zones
    b = live_cloud.openstack("aggregate", "create", "--zone", unique("az"), agg2)
    with compute(live_cloud, live_cloud.admin_token()) as c:
        nova_error(c.post(f"os-aggregates/{b['id']}/action",
                          json={"add_host": {"host": host}}), 409, "availability zone")
        nova_error(c.post(f"os-aggregates/{b['id']}/action",
                          json={"add_host": {"host": unique("nohost")}}), 404, "nohost")
        nova_error(c.delete(f"os-aggregates/{a['id']}"), 400, "not empty")
        detail = c.get("os-availability-zone/detail").json()["availabilityZoneInfo"]
        mine = [z for z in detail if z["zoneName"] == zone][0]
        assert mine["hosts"][host]["nova-compute"]["available"] is True
    live_cloud.openstack("aggregate", "remove", "host", agg, host, json_out=False)
    live_cloud.openstack("aggregate", "delete", agg, agg2, json_out=False)
    zones = [z["Zone Name"] for z in live_cloud.openstack("availability", "zone", "list")]
    assert zone not in zones


def test_hypervisors_and_services(live_cloud: Cloud, demo_token, fake_host):
    host, node_id = fake_host
    rows = live_cloud.openstack("hypervisor", "list")
    assert host in [h["Hypervisor Hostname"] for h in rows]
    hv = live_cloud.openstack("hypervisor", "show", str(node_id))
    assert hv["vcpus"] == 8 and hv["vcpus_used"] == 2 and hv["host_ip"] == "192.0.2.10"
    assert hv["memory_mb_used"] == 2048 + 512  # claims plus reserved, as nova
    assert hv["state"] == "up" and hv["status"] == "enabled"
    stats = live_cloud.openstack("hypervisor", "stats", "show")
    assert stats["count"] >= 1 and stats["vcpus"] >= 8
    with compute(live_cloud, demo_token) as c:
        nova_error(c.get("os-hypervisors"), 403)
    svc = live_cloud.openstack("compute", "service", "list", "--host", host)
    assert [(s["Binary"], s["Status"], s["State"]) for s in svc] == \
        [("nova-compute", "enabled", "up")]
    live_cloud.openstack("compute", "service", "set", "--disable", "--disable-reason",
                         "maintenance", host, "nova-compute", json_out=False)
    svc = live_cloud.openstack("compute", "service", "list", "--host", host, "--long")
    assert svc[0]["Status"] == "disabled" and svc[0]["Disabled Reason"] == "maintenance"
    with compute(live_cloud, live_cloud.admin_token()) as c:
        hv = c.get(f"os-hypervisors/{node_id}").json()["hypervisor"]
        assert hv["status"] == "disabled" and hv["service"]["disabled_reason"] == "maintenance"
        r = c.put("os-services/enable", json={"host": host, "binary": "nova-compute"})
        assert r.json() == {"service": {"host": host, "binary": "nova-compute",
                                        "status": "enabled"}}
        nova_error(c.put("os-services/disable", json={"host": unique("nohost"),
                                                      "binary": "nova-compute"}), 404)
        search = c.get(f"os-hypervisors/{host}/search").json()["hypervisors"]
        assert [h["hypervisor_hostname"] for h in search] == [host]
        svc_id = c.get("os-services", params={"host": host}).json()["services"][0]["id"]
        assert c.delete(f"os-services/{svc_id}").status_code == 204
        nova_error(c.get(f"os-hypervisors/{node_id}"), 404)


# -- quotas and limits --------------------------------------------------------------
def test_quotas_and_limits_count_usage_live(live_cloud: Cloud, api, demo_token):
    demo = project_id(api, "demo")
    demo_user = api.get("users", params={"name": "demo"}).json()["users"][0]["id"]
    live_cloud.openstack("quota", "set", "--instances", "7", "--cores", "9", demo,
                         json_out=False)
    try:
        shown = live_cloud.openstack("quota", "show", demo)
        shown = {r["Resource"]: r["Limit"] for r in shown} if isinstance(shown, list) else shown
        assert shown["instances"] == 7 and shown["cores"] == 9
        probe = add_instance(live_cloud, demo, demo_user, vcpus=2, ram=300)
        try:
            limits = live_cloud.openstack("limits", "show", "--absolute", cloud="stratus-demo")
            values = {r["Name"]: r["Value"] for r in limits}
            # (openstacksdk's names for maxTotalInstances, totalInstancesUsed, ...)
            assert values["max_total_instances"] == 7 and values["total_instances_used"] == 1
            assert values["total_cores_used"] == 2 and values["total_ram_used"] == 300
            with compute(live_cloud, live_cloud.admin_token()) as c:
                detail = c.get(f"os-quota-sets/{demo}/detail").json()["quota_set"]
                assert detail["instances"] == {"limit": 7, "in_use": 1, "reserved": 0}
                # below what is in use: refused unless forced
                nova_error(c.put(f"os-quota-sets/{demo}",
                                 json={"quota_set": {"cores": 1}}), 400, "cores")
                nova_error(c.put(f"os-quota-sets/{demo}",
                                 json={"quota_set": {"instances": -2}}), 400, "instances")
        finally:
            drop_instance(live_cloud, probe)
        cp = live_cloud.openstack("quota", "set", "--instances", "-2", demo, check=False,
                                  json_out=False)
        assert cp.returncode != 0
        with compute(live_cloud, demo_token) as c:  # members read, never write
            assert c.get(f"os-quota-sets/{demo}").json()["quota_set"]["instances"] == 7
            nova_error(c.put(f"os-quota-sets/{demo}", json={"quota_set": {"instances": 99}}),
                       403)
            nova_error(c.get("os-quota-sets/some-other-project"), 403)
    finally:
        with compute(live_cloud, live_cloud.admin_token()) as c:
            assert c.delete(f"os-quota-sets/{demo}").status_code == 202
            assert c.get(f"os-quota-sets/{demo}").json()["quota_set"]["instances"] == 10


# -- server groups --------------------------------------------------------------------
def test_server_groups(live_cloud: Cloud, demo_token):
    name = unique("sg")
    g = live_cloud.openstack("server", "group", "create", "--policy", "anti-affinity", name)
    assert g["name"] == name
    assert name in [x["Name"] for x in live_cloud.openstack("server", "group", "list")]
    shown = live_cloud.openstack("server", "group", "show", g["id"])
    assert shown["id"] == g["id"]
    with compute(live_cloud, demo_token) as c:  # another project's group is invisible
        nova_error(c.get(f"os-server-groups/{g['id']}"), 404)
        assert g["id"] not in [x["id"] for x in c.get("os-server-groups").json()
                               ["server_groups"]]
        nova_error(c.post("os-server-groups", json={"server_group": {
            "name": "x", "policies": ["best-effort"]}}), 400)
    live_cloud.openstack("server", "group", "delete", g["id"], json_out=False)
    cli_fails(live_cloud, "server", "group", "show", g["id"], expect="No ServerGroup found")


# -- wire format: every body validates against Tempest's strict nova schemas ---------------
def test_wire_bodies_validate_against_tempest_schemas(live_cloud: Cloud, fake_host):
    import jsonschema
    from tempest.lib.api_schema.response.compute.v2_1 import (
        aggregates, availability_zone, flavors, flavors_access, flavors_extra_specs,
        hypervisors, keypairs, limits, quotas, server_groups, services, versions)
    from tempest.lib.common.jsonschema_validator import FORMAT_CHECKER, JSONSCHEMA_VALIDATOR

    def check(schema, r: httpx.Response):
        assert r.status_code in schema["status_code"], f"{r.request.url}: {r.text[:300]}"
        if "response_body" in schema:
            jsonschema.validate(r.json(), schema["response_body"], cls=JSONSCHEMA_VALIDATOR,
                                format_checker=FORMAT_CHECKER)
        return r.json() if r.content else None

    host, node_id = fake_host
    name = unique("wire")
    with compute(live_cloud, live_cloud.admin_token()) as c:
        with httpx.Client(trust_env=False) as raw:
            check(versions.list_versions, raw.get(f"{live_cloud.base_url}/compute/"))
            check(versions.get_one_version, raw.get(f"{live_cloud.base_url}/compute/v2.1/"))
        f = check(flavors.create_update_get_flavor_details, c.post("flavors", json={"flavor": {
            "name": name, "ram": 64, "vcpus": 1, "disk": 0, "os-flavor-access:is_public": False}}
        ))["flavor"]
        check(flavors.list_flavors, c.get("flavors"))
        check(flavors.list_flavors_details, c.get("flavors/detail", params={"is_public": "none"}))
        check(flavors_extra_specs.set_get_flavor_extra_specs,
              c.post(f"flavors/{f['id']}/os-extra_specs", json={"extra_specs": {"a": "1"}}))
        check(flavors_extra_specs.set_get_flavor_extra_specs_key,
              c.get(f"flavors/{f['id']}/os-extra_specs/a"))
        admin_project = live_cloud.sdk().current_project_id
        check(flavors_access.add_remove_list_flavor_access, c.post(
            f"flavors/{f['id']}/action", json={"addTenantAccess": {"tenant": admin_project}}))
        check(flavors_access.add_remove_list_flavor_access,
              c.get(f"flavors/{f['id']}/os-flavor-access"))
        check(flavors.delete_flavor, c.delete(f"flavors/{f['id']}"))
        check(keypairs.create_keypair, c.post("os-keypairs", json={"keypair": {"name": name}}))
        check(keypairs.get_keypair, c.get(f"os-keypairs/{name}"))
        check(keypairs.list_keypairs, c.get("os-keypairs"))
        check(keypairs.delete_keypair, c.delete(f"os-keypairs/{name}"))
        check(quotas.get_quota_set, c.get(f"os-quota-sets/{admin_project}"))
        check(quotas.get_quota_set_details, c.get(f"os-quota-sets/{admin_project}/detail"))
        check(quotas.get_quota_set, c.get(f"os-quota-sets/{admin_project}/defaults"))
        check(limits.get_limit, c.get("limits"))
        a = check(aggregates.create_aggregate, c.post("os-aggregates", json={"aggregate": {
            "name": name, "availability_zone": name}}))["aggregate"]
        check(aggregates.aggregate_add_remove_host, c.post(
            f"os-aggregates/{a['id']}/action", json={"add_host": {"host": host}}))
        check(aggregates.aggregate_set_metadata, c.post(
            f"os-aggregates/{a['id']}/action", json={"set_metadata": {"metadata": {"k": "v"}}}))
        check(aggregates.list_aggregates, c.get("os-aggregates"))
        check(availability_zone.list_availability_zone_list, c.get("os-availability-zone"))
        check(availability_zone.list_availability_zone_list_detail,
              c.get("os-availability-zone/detail"))
        check(aggregates.aggregate_add_remove_host, c.post(
            f"os-aggregates/{a['id']}/action", json={"remove_host": {"host": host}}))
        check(aggregates.update_aggregate, c.put(f"os-aggregates/{a['id']}",
                                                 json={"aggregate": {"name": name + "x"}}))
        check(aggregates.delete_aggregate, c.delete(f"os-aggregates/{a['id']}"))
        check(hypervisors.list_search_hypervisors, c.get("os-hypervisors"))
        check(hypervisors.list_hypervisors_detail, c.get("os-hypervisors/detail"))
        check(hypervisors.get_hypervisor, c.get(f"os-hypervisors/{node_id}"))
        check(hypervisors.get_hypervisor_statistics, c.get("os-hypervisors/statistics"))
        check(hypervisors.list_search_hypervisors, c.get(f"os-hypervisors/{host}/search"))
        check(hypervisors.get_hypervisors_servers, c.get(f"os-hypervisors/{host}/servers"))
        check(services.list_services, c.get("os-services"))
        check(services.disable_log_reason, c.put("os-services/disable-log-reason", json={
            "host": host, "binary": "nova-compute", "disabled_reason": "wire"}))
        check(services.enable_disable_service, c.put("os-services/enable", json={
            "host": host, "binary": "nova-compute"}))
        g = check(server_groups.create_show_server_group, c.post("os-server-groups", json={
            "server_group": {"name": name, "policies": ["soft-affinity"]}}))["server_group"]
        check(server_groups.list_server_groups, c.get("os-server-groups"))
        check(server_groups.create_show_server_group, c.get(f"os-server-groups/{g['id']}"))
        check(server_groups.delete_server_group, c.delete(f"os-server-groups/{g['id']}"))
