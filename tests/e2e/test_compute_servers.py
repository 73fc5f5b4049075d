"""Servers through the real ``openstack`` CLI and raw HTTP on a live
``stratus up`` (fake hypervisor, so it works with or without KVM): create,
show/list bodies against Tempest's schemas, filters and pagination, actions
and their state rules, metadata, instance actions, delete, tenant isolation.
"""
from __future__ import annotations


import httpx
import jsonschema
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as schemas

from conftest import compute_client, wait_for

FAKE_CONF = """
[compute]
compute_driver = fake
host = srvhost1
agent_poll_interval = 0.2
report_interval = 2
[quota]
instances = 40
cores = 200
ram = -1
"""




def check(schema, r: httpx.Response):
    assert r.status_code in schema["status_code"], f"{r.status_code} {r.text[:500]}"
    jsonschema.validate(r.json(), schema["response_body"],
                        format_checker=jsonschema.FormatChecker())
    return r.json()


def nova_error(r: httpx.Response, status: int, *mentions: str) -> str:
    assert r.status_code == status, f"expected {status}: {r.status_code} {r.text[:500]}"
    body = r.json()
    (key, err), = body.items()
    assert err["code"] == status, body
    for m in mentions:
        assert m.lower() in err["message"].lower(), f"{m!r} not in {err['message']!r}"
    return err["message"]


@pytest.fixture(scope="module")
def cloud(module_servers, tmp_path_factory):
    c = module_servers.start(extra_conf=FAKE_CONF)
    data = tmp_path_factory.mktemp("img") / "tiny.img"
    data.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                "--container-format", "bare", "--public", "srv-img")
    return c



@pytest.fixture(scope="module")
def demo(cloud):
    with compute_client(cloud, cloud.token("demo", cloud.demo_password, project="demo")) as c:
        yield c


@pytest.fixture(scope="module")
def admin(cloud):
    with compute_client(cloud, cloud.admin_token()) as c:
        yield c


@pytest.fixture(scope="module")
def ids(cloud):
    img = cloud.openstack("image", "show", "srv-img")["id"]
    net = cloud.openstack("network", "show", "private", cloud="stratus-demo")["id"]
    return {"image": img, "network": net}


def boot(demo, ids, name, **extra):
    body = {"server": {"name": name, "imageRef": ids["image"], "flavorRef": "1",
                       "networks": [{"uuid": ids["network"]}], **extra}}
    r = demo.post("servers", json=body)
    return check(schemas.create_server_with_admin_pass, r)["server"]


def reset(admin, sid, state="active"):
    r = admin.post(f"servers/{sid}/action", json={"os-resetState": {"state": state}})
    assert r.status_code == 202, r.text


def test_create_with_the_cli_and_show(cloud, ids, admin):
    s = cloud.openstack("server", "create", "--image", "srv-img", "--flavor", "m1.tiny",
                        "--network", "private", "--property", "role=web", "cli-vm1",
                        cloud="stratus-demo")
    assert s["status"] in ("BUILD", "ACTIVE"), s
    shown = cloud.openstack("server", "show", "cli-vm1", cloud="stratus-demo")
    assert shown["id"] == s["id"] and shown["flavor"]
    assert shown["properties"] == {"role": "web"}
    # The admin view carries the OS-EXT-SRV-ATTR attributes, and validates.
    body = check(schemas.get_server, admin.get(f"servers/{s['id']}"))["server"]
    assert "OS-EXT-SRV-ATTR:instance_name" in body
    assert body["image"]["id"] == ids["image"]
    assert body["tenant_id"] and body["user_id"]


def test_show_and_list_bodies_validate_for_members(demo, ids):
    sid = boot(demo, ids, "schema-vm", metadata={"a": "1"})["id"]
    body = check(schemas.get_server, demo.get(f"servers/{sid}"))["server"]
    assert not any(k.startswith("OS-EXT-SRV-ATTR") for k in body)
    assert body["metadata"] == {"a": "1"} and body["name"] == "schema-vm"
    check(schemas.list_servers, demo.get("servers"))
    listed = check(schemas.list_servers_detail, demo.get("servers/detail"))["servers"]
    assert sid in [s["id"] for s in listed]


def test_server_gets_an_address_on_the_network(demo, ids):
    sid = boot(demo, ids, "addr-vm")["id"]
    body = demo.get(f"servers/{sid}").json()["server"]
    (net, addrs), = body["addresses"].items()
    assert net == "private" and addrs[0]["version"] == 4 and addrs[0]["addr"]


def test_list_filters_and_pagination(demo, ids):
    made = [boot(demo, ids, f"page-{i}")["id"] for i in range(3)]
    by_name = demo.get("servers", params={"name": "^page-"}).json()["servers"]
    assert sorted(s["id"] for s in by_name) == sorted(made)
    first = demo.get("servers", params={"name": "^page-", "limit": 2}).json()
    assert len(first["servers"]) == 2 and first["servers_links"][0]["rel"] == "next"
    rest = demo.get("servers", params={"name": "^page-", "limit": 2,
                                       "marker": first["servers"][-1]["id"]}).json()
    assert {s["id"] for s in first["servers"] + rest["servers"]} == set(made)
    nova_error(demo.get("servers", params={"marker": "no-such-marker"}), 400, "marker")
    none = demo.get("servers", params={"status": "SHUTOFF", "name": "^page-"}).json()
    assert none["servers"] == []


def test_multi_create_names_and_reservation(demo, ids):
    r = demo.post("servers", json={"server": {
        "name": "multi", "imageRef": ids["image"], "flavorRef": "1",
        "networks": [{"uuid": ids["network"]}], "min_count": 2, "max_count": 2,
        "return_reservation_id": True}})
    assert r.status_code == 202, r.text
    rid = r.json()["reservation_id"]
    listed = demo.get("servers/detail", params={"reservation_id": rid}).json()["servers"]
    assert sorted(s["name"] for s in listed) == ["multi-1", "multi-2"]


def test_actions_follow_the_state_rules(demo, admin, ids):
    sid = boot(demo, ids, "act-vm")["id"]

    def settled(status):
        s = demo.get(f"servers/{sid}").json()["server"]
        return s["status"] == status and not s["OS-EXT-STS:task_state"]
    wait_for(lambda: settled("ACTIVE"), 30, "ACTIVE")
    assert demo.post(f"servers/{sid}/action", json={"pause": None}).status_code == 202
    # Until the agent has paused it the server shows its source state, as Nova,
    # and a second action is refused because of the task in progress.
    shown = demo.get(f"servers/{sid}").json()["server"]
    if shown["OS-EXT-STS:task_state"] == "pausing":
        assert (shown["status"], shown["OS-EXT-STS:vm_state"]) == ("ACTIVE", "active")
    wait_for(lambda: settled("PAUSED"), 30, "PAUSED")
    nova_error(demo.post(f"servers/{sid}/action", json={"pause": None}), 409,
               f"Cannot 'pause' instance {sid} while it is in vm_state paused")
    nova_error(demo.post(f"servers/{sid}/action", json={"os-start": None}), 409,
               f"Cannot 'start' instance {sid} while it is in vm_state paused")
    assert demo.post(f"servers/{sid}/action", json={"unpause": None}).status_code == 202
    wait_for(lambda: settled("ACTIVE"), 30, "ACTIVE after unpause")
    assert demo.post(f"servers/{sid}/action", json={"os-stop": None}).status_code == 202
    shown = demo.get(f"servers/{sid}").json()["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) in (
        ("ACTIVE", "powering-off"), ("SHUTOFF", None))
    if shown["OS-EXT-STS:task_state"] == "powering-off":
        nova_error(demo.post(f"servers/{sid}/action", json={"os-start": None}), 409,
                   f"Cannot 'start' instance {sid} while it is in vm_state active")
    wait_for(lambda: settled("SHUTOFF"), 30, "SHUTOFF")
    assert demo.post(f"servers/{sid}/action", json={"os-start": None}).status_code == 202
    wait_for(lambda: settled("ACTIVE"), 30, "ACTIVE after start")
    assert demo.post(f"servers/{sid}/action",
                     json={"reboot": {"type": "HARD"}}).status_code == 202
    nova_error(demo.post(f"servers/{sid}/action", json={"reboot": {"type": "sideways"}}), 400,
               "field/attribute type")
    nova_error(demo.post(f"servers/{sid}/action", json={"fly": {}}), 400, "fly")
    # resetState is admin only.
    nova_error(demo.post(f"servers/{sid}/action", json={"os-resetState": {"state": "active"}}),
               403)
    actions = check(schemas.list_instance_actions,
                    demo.get(f"servers/{sid}/os-instance-actions"))["instanceActions"]
    names = [a["action"] for a in actions]
    assert {"create", "pause", "stop", "reboot"} <= set(names), names
    req = next(a for a in actions if a["action"] == "pause")["request_id"]
    check(schemas.show_instance_action, admin.get(f"servers/{sid}/os-instance-actions/{req}"))


def test_update_and_metadata(demo, ids):
    sid = boot(demo, ids, "meta-vm")["id"]
    r = demo.put(f"servers/{sid}", json={"server": {"name": "meta-vm2"}})
    assert check(schemas.update_server, r)["server"]["name"] == "meta-vm2"
    r = demo.put(f"servers/{sid}/metadata", json={"metadata": {"a": "1", "b": "2"}})
    assert check(schemas.set_server_metadata, r)["metadata"] == {"a": "1", "b": "2"}
    r = demo.post(f"servers/{sid}/metadata", json={"metadata": {"b": "3", "c": "4"}})
    assert check(schemas.update_server_metadata, r)["metadata"] == {"a": "1", "b": "3", "c": "4"}
    r = demo.put(f"servers/{sid}/metadata/a", json={"meta": {"a": "9"}})
    assert check(schemas.set_show_server_metadata_item, r)["meta"] == {"a": "9"}
    nova_error(demo.put(f"servers/{sid}/metadata/a", json={"meta": {"z": "9"}}), 400, "mismatch")
    assert demo.delete(f"servers/{sid}/metadata/a").status_code == 204
    nova_error(demo.get(f"servers/{sid}/metadata/a"), 404)
    assert demo.get(f"servers/{sid}/metadata").json()["metadata"] == {"b": "3", "c": "4"}
    too_many = {f"k{i}": "v" for i in range(200)}
    nova_error(demo.post(f"servers/{sid}/metadata", json={"metadata": too_many}), 403,
               "metadata_items")


def count_state(admin, cloud) -> tuple[int, int]:
    servers = admin.get("servers", params={"all_tenants": "1"}).json()["servers"]
    with httpx.Client(trust_env=False, timeout=30.0) as http:
        r = http.get(f"{cloud.base_url}/network/v2.0/ports",
                     headers={"X-Auth-Token": cloud.admin_token()})
    ports = [p for p in r.json()["ports"] if p["device_owner"].startswith("compute:")]
    return len(servers), len(ports)


BAD = [
    ({"flavorRef": "no-such-flavor"}, 400, "flavor"),
    ({"imageRef": "8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11"}, 400, "image"),
    ({"imageRef": "not-a-uuid"}, 400, "imageRef"),
    ({"networks": [{"uuid": "8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11"}]}, 400,
     "Network 8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11 could not be found"),
    ({"name": "x" * 300}, 400, "name"),
    ({"user_data": "not base64 !!"}, 400, "base 64"),
    ({"min_count": 3, "max_count": 2}, 400, "min_count"),
    ({"key_name": "no-such-key"}, 400, "Invalid key_name provided."),
    ({"availability_zone": "atlantis"}, 400, "availability zone"),
    ({"metadata": {"k": "v" * 300}}, 400, "metadata"),
    ({"max_count": 41}, 403, "Quota exceeded for instances"),
]


@pytest.mark.parametrize("override,status,mention", BAD)
def test_bad_create_is_refused_and_creates_nothing(cloud, demo, admin, ids, override, status,
                                                   mention):
    before = count_state(admin, cloud)
    body = {"name": "bad", "imageRef": ids["image"], "flavorRef": "1",
            "networks": [{"uuid": ids["network"]}], **override}
    if override.get("max_count") == 41:
        body["min_count"] = 41
    nova_error(demo.post("servers", json={"server": body}), status, mention)
    assert count_state(admin, cloud) == before


def test_image_too_large_for_the_flavor_disk(cloud, demo, admin, ids, tmp_path):
    img = cloud.openstack("image", "create", "--disk-format", "raw", "--container-format",
                          "bare", "--min-disk", "50", "--public", "--file", str(_tiny(tmp_path)),
                          "big-min-disk")["id"]
    nova_error(demo.post("servers", json={"server": {
        "name": "big", "imageRef": img, "flavorRef": "1",
        "networks": [{"uuid": ids["network"]}]}}), 400,
        "Flavor's disk is too small for requested image")


def _tiny(tmp_path):
    p = tmp_path / "t.img"
    p.write_bytes(b"\0" * 4096)
    return p


def test_other_projects_cannot_see_or_touch_a_server(cloud, demo, admin, ids):
    r = admin.post("servers", json={"server": {"name": "admins-vm", "imageRef": ids["image"],
                                               "flavorRef": "1", "networks": "none"}})
    sid = check(schemas.create_server_with_admin_pass, r)["server"]["id"]
    nova_error(demo.get(f"servers/{sid}"), 404, sid)
    nova_error(demo.delete(f"servers/{sid}"), 404)
    nova_error(demo.post(f"servers/{sid}/action", json={"os-stop": None}), 404)
    nova_error(demo.get(f"servers/{sid}/metadata"), 404)
    assert sid not in [s["id"] for s in demo.get("servers").json()["servers"]]
    # all_tenants is an admin policy (os_compute_api:servers:index:get_all_tenants).
    nova_error(demo.get("servers", params={"all_tenants": "1"}), 403)


def test_delete_ends_in_404_and_frees_the_ports(cloud, demo, admin, ids):
    sid = boot(demo, ids, "del-vm")["id"]
    assert demo.delete(f"servers/{sid}").status_code == 204
    wait_for(lambda: demo.get(f"servers/{sid}").status_code == 404, 30, "server gone")
    with httpx.Client(trust_env=False, timeout=30.0) as http:
        ports = http.get(f"{cloud.base_url}/network/v2.0/ports",
                         params={"device_id": sid},
                         headers={"X-Auth-Token": cloud.admin_token()}).json()["ports"]
    assert ports == []
    deleted = admin.get("servers/detail", params={"deleted": "1", "all_tenants": "1"})
    assert sid in [s["id"] for s in deleted.json()["servers"]]


def test_console_output_once_scheduled(demo, ids, admin):
    sid = boot(demo, ids, "con-vm")["id"]
    wait_for(lambda: admin.get(f"servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"],
             30, "the scheduler to place the server")
    r = demo.post(f"servers/{sid}/action", json={"os-getConsoleOutput": {"length": 10}})
    assert isinstance(check(schemas.get_console_output, r)["output"], str)
    nova_error(demo.post(f"servers/{sid}/action", json={"os-getConsoleOutput": {"length": -5}}),
               400, "length")


def test_life_cycle_with_the_cli(cloud):
    """create --wait, stop, start, reboot, delete: the agent (fake driver)
    performs each action and clears the task state."""
    def show():
        return cloud.openstack("server", "show", "life-vm", cloud="stratus-demo")

    def settled(status):
        return lambda: (lambda s: s if s["status"] == status and
                        not s["OS-EXT-STS:task_state"] else None)(show())

    s = cloud.openstack("server", "create", "--image", "srv-img", "--flavor", "m1.tiny",
                        "--network", "private", "--wait", "life-vm", cloud="stratus-demo",
                        timeout=90)
    assert s["status"] == "ACTIVE" and s["OS-EXT-STS:power_state"] in (1, "Running"), s
    cloud.openstack("server", "stop", "life-vm", cloud="stratus-demo", json_out=False)
    wait_for(settled("SHUTOFF"), 30, "SHUTOFF")
    cloud.openstack("server", "start", "life-vm", cloud="stratus-demo", json_out=False)
    wait_for(settled("ACTIVE"), 30, "ACTIVE after start")
    cloud.openstack("server", "reboot", "--hard", "life-vm", cloud="stratus-demo",
                    json_out=False)
    wait_for(settled("ACTIVE"), 30, "ACTIVE after reboot")
    actions = cloud.openstack("server", "event", "list", "life-vm", cloud="stratus-demo")
    assert {"create", "stop", "start", "reboot"} <= {a["Action"] for a in actions}, actions
    cloud.openstack("server", "delete", "--wait", "life-vm", cloud="stratus-demo",
                    json_out=False, timeout=60)
    cp = cloud.openstack("server", "show", "life-vm", cloud="stratus-demo", check=False)
    assert cp.returncode != 0


def test_rebuild_snapshot_lock_and_console_with_the_cli(cloud, ids):
    def show():
        return cloud.openstack("server", "show", "snap-vm", cloud="stratus-demo")

    def settled(status):
        return lambda: (lambda s: s if s["status"] == status and
                        not s["OS-EXT-STS:task_state"] else None)(show())

    cloud.openstack("server", "create", "--image", "srv-img", "--flavor", "m1.tiny",
                    "--network", "private", "--wait", "snap-vm", cloud="stratus-demo",
                    timeout=90)
    r = cloud.openstack("server", "rebuild", "--image", "srv-img", "snap-vm",
                        cloud="stratus-demo")
    assert r["image"] and r["status"] in ("REBUILD", "ACTIVE"), r
    wait_for(settled("ACTIVE"), 30, "ACTIVE after rebuild")
    img = cloud.openstack("server", "image", "create", "--name", "snap-vm-snap", "--wait",
                          "snap-vm", cloud="stratus-demo", timeout=90)
    assert img["status"] == "active", img
    props = cloud.openstack("image", "show", "snap-vm-snap", cloud="stratus-demo")["properties"]
    assert props["instance_uuid"] == show()["id"]
    wait_for(settled("ACTIVE"), 30, "task state cleared after the snapshot")
    out = cloud.openstack("console", "log", "show", "snap-vm", cloud="stratus-demo",
                          json_out=False)
    assert isinstance(out, str)
    cloud.openstack("server", "lock", "snap-vm", cloud="stratus-demo", json_out=False)
    cp = cloud.openstack("server", "stop", "snap-vm", cloud="stratus-demo", json_out=False,
                         check=False)
    assert cp.returncode != 0 and "locked" in cp.stderr, cp.stderr
    cloud.openstack("server", "unlock", "snap-vm", cloud="stratus-demo", json_out=False)
    cloud.openstack("server", "delete", "--wait", "snap-vm", cloud="stratus-demo",
                    json_out=False, timeout=60)


def test_unschedulable_server_is_error_with_a_fault_and_deletes_at_once(cloud, demo, ids):
    cloud.openstack("flavor", "create", "--ram", "4000000", "--vcpus", "1", "--disk", "1",
                    "--public", "srv-huge")
    fid = cloud.openstack("flavor", "show", "srv-huge")["id"]
    sid = boot(demo, ids, "huge-vm", flavorRef=fid)["id"]
    body = wait_for(lambda: (lambda b: b if b["status"] == "ERROR" else None)(
        check(schemas.get_server, demo.get(f"servers/{sid}"))["server"]), 30, "ERROR")
    assert body["fault"]["code"] == 500
    assert body["fault"]["message"].startswith("No valid host was found")
    assert "details" not in body["fault"]
    assert body["hostId"] == ""
    assert demo.delete(f"servers/{sid}").status_code == 204
    nova_error(demo.get(f"servers/{sid}"), 404)  # no host: deleted by the API at once


def test_security_groups_requested_at_create_reach_the_port(cloud, demo, ids):
    web = cloud.openstack("security group", "create", "web-sg", cloud="stratus-demo")
    s = cloud.openstack("server", "create", "--image", "srv-img", "--flavor", "m1.tiny",
                        "--network", "private", "--security-group", "web-sg",
                        "--security-group", "default", "sg-vm", cloud="stratus-demo")
    port = cloud.openstack("port", "list", "--device-id", s["id"], "--long",
                           cloud="stratus-demo")[0]
    groups = set(port["Security Groups"])
    default = cloud.openstack("security group", "show", "default", cloud="stratus-demo")["id"]
    assert groups == {web["id"], default}, port
    shown = demo.get(f"servers/{s['id']}").json()["server"]
    assert sorted(g["name"] for g in shown["security_groups"]) == ["default", "web-sg"]

    before = len(demo.get("servers").json()["servers"])
    r = demo.post("servers", json={"server": {
        "name": "no-such-sg", "imageRef": ids["image"], "flavorRef": "1",
        "networks": [{"uuid": ids["network"]}], "security_groups": [{"name": "nosuch"}]}})
    nova_error(r, 400, "Security group nosuch not found")
    assert len(demo.get("servers").json()["servers"]) == before     # nothing half-made
    assert not [p for p in cloud.openstack("port", "list", cloud="stratus-demo")
                if p["Name"] == "no-such-sg"]
