"""Server bodies against Tempest's strict Nova v2.1 response schemas, and the
pure helpers of the servers API (references, user data, counts, names)."""
from __future__ import annotations

import datetime as dt
import hashlib

import jsonschema
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as tempest_servers

from stratus.api.compute import server_schema as schema
from stratus.api.compute import server_views as views
from stratus.api.compute.instance_actions import action_view, event_view
from stratus.common import errors
from stratus.db.models.compute import Instance, InstanceAction, InstanceActionEvent, \
    InstanceFault

LINKS = views.Links("http://127.0.0.1:5000/compute")
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 678000)
ADDRS = {"private": [{"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
                      "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}


def check(schema_def: dict, body: dict) -> None:
    jsonschema.validate(body, schema_def["response_body"],
                        format_checker=jsonschema.FormatChecker())


def instance(**kw) -> Instance:
    base = dict(id=42, uuid="8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11", display_name="vm1",
                project_id="p" * 32, user_id="u" * 32, image_ref="img-1", flavor_id="1",
                vm_state="active", task_state=None, power_state=1, host="h1", node="h1",
                availability_zone="nova", key_name="k", config_drive=True,
                created_at=T0, updated_at=T0, launched_at=T0, terminated_at=None,
                progress=0, request_spec={"security_groups": ["default"]})
    base.update(kw)
    return Instance(**base)


@pytest.mark.parametrize("is_admin", [False, True])
def test_detail_validates_against_get_server_and_list_detail(is_admin):
    body = views.detail(instance(), LINKS, metadata={"a": "b"}, addresses=ADDRS,
                        is_admin=is_admin)
    check(tempest_servers.get_server, {"server": body})
    check(tempest_servers.list_servers_detail, {"servers": [body]})
    assert ("OS-EXT-SRV-ATTR:host" in body) is is_admin
    assert body["status"] == "ACTIVE" and body["progress"] == 0
    assert body["created"] == "2026-01-02T03:04:05Z"
    assert body["OS-SRV-USG:launched_at"] == "2026-01-02T03:04:05.678000"
    assert body["hostId"] == hashlib.sha224(("p" * 32 + "h1").encode()).hexdigest()
    assert body["config_drive"] == "True"
    if is_admin:
        assert body["OS-EXT-SRV-ATTR:instance_name"] == "instance-0000002a"


def test_building_server_without_host_or_az_or_image():
    i = instance(vm_state="building", task_state="scheduling", host=None, node=None,
                 availability_zone=None, image_ref="", launched_at=None, key_name=None,
                 config_drive=False, power_state=0)
    body = views.detail(i, LINKS, metadata={}, addresses={}, is_admin=True)
    check(tempest_servers.get_server, {"server": body})
    assert body["status"] == "BUILD" and body["hostId"] == "" and body["image"] == ""
    assert body["OS-EXT-AZ:availability_zone"] == "" and body["config_drive"] == ""


def test_error_server_shows_fault_details_only_to_admins():
    i = instance(vm_state="error", task_state=None)
    fault = InstanceFault(code=500, message="No valid host was found. ", details="trace",
                          created_at=T0)
    user = views.detail(i, LINKS, metadata={}, addresses={}, fault=fault)
    admin = views.detail(i, LINKS, metadata={}, addresses={}, fault=fault, is_admin=True)
    check(tempest_servers.get_server, {"server": user})
    check(tempest_servers.get_server, {"server": admin})
    assert user["fault"] == {"code": 500, "created": "2026-01-02T03:04:05Z",
                             "message": "No valid host was found. "}
    assert admin["fault"]["details"] == "trace"
    assert "progress" not in user  # ERROR is not a progress status


def test_fault_hidden_unless_error_or_deleted():
    fault = InstanceFault(code=500, message="old", created_at=T0)
    body = views.detail(instance(), LINKS, metadata={}, addresses={}, fault=fault)
    assert "fault" not in body


def test_basic_body_validates_against_update_and_rebuild():
    body = views.basic(instance(), LINKS, metadata={}, addresses=ADDRS)
    check(tempest_servers.update_server, {"server": body})
    rebuilt = dict(body, adminPass="x")
    check(tempest_servers.rebuild_server_with_admin_pass, {"server": rebuilt})


def test_create_response_and_minimal_list():
    body = views.create_response(instance(), LINKS, "secret")
    check(tempest_servers.create_server_with_admin_pass, {"server": body})
    assert body["links"][0]["href"].endswith("/compute/v2.1/servers/" + instance().uuid)
    check(tempest_servers.list_servers,
          {"servers": [views.minimal(instance(), LINKS)],
           "servers_links": [{"rel": "next", "href": "http://x/servers?marker=a"}]})


def test_instance_action_views():
    a = InstanceAction(action="stop", instance_uuid="u", request_id="req-1", user_id="u1",
                       project_id="p1", start_time=T0, message=None)
    e = InstanceActionEvent(event="compute_stop_instance", start_time=T0, finish_time=None,
                            result=None, traceback=None)
    check(tempest_servers.list_instance_actions, {"instanceActions": [action_view(a)]})
    check(tempest_servers.show_instance_action,
          {"instanceAction": {**action_view(a), "events": [event_view(e, True)]}})


# -- pure request helpers ------------------------------------------------------
@pytest.mark.parametrize("ref,expected", [
    ("1", "1"), (1, "1"), ("http://h/compute/v2.1/flavors/42", "42"),
    ("http://h/compute/flavors/abc/", "abc")])
def test_ref_id(ref, expected):
    assert schema.ref_id(ref) == expected


def test_image_id_accepts_uuid_or_url_and_refuses_garbage():
    u = "8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11"
    assert schema.image_id(u) == u
    assert schema.image_id(f"http://h/image/v2/images/{u}") == u
    assert schema.image_id("") is None
    with pytest.raises(errors.BadRequest, match="Invalid imageRef"):
        schema.image_id("not-a-uuid")


def test_user_data_must_be_base64():
    assert schema.check_user_data("IyEvYmluL3NoCmVjaG8gaGk=") == "IyEvYmluL3NoCmVjaG8gaGk="
    with pytest.raises(errors.BadRequest, match="base 64"):
        schema.check_user_data("not base64!!")


def test_counts():
    assert schema.counts({}) == (1, 1)
    assert schema.counts({"min_count": 2}) == (2, 2)
    assert schema.counts({"min_count": "1", "max_count": "3"}) == (1, 3)
    with pytest.raises(errors.BadRequest, match="min_count"):
        schema.counts({"min_count": 3, "max_count": 2})


def test_names_and_hostnames():
    assert schema.names("web", 1) == ["web"]
    assert schema.names("web", 3) == ["web-1", "web-2", "web-3"]
    assert schema.hostname("My Server_1!") == "my-server-1"
    assert schema.hostname("..") == "server"
    assert len(schema.hostname("a" * 300)) == 63


@pytest.mark.parametrize("server,field", [
    ({"name": "x" * 256, "flavorRef": "1"}, "name"),
    ({"name": " lead", "flavorRef": "1"}, "name"),
    ({"flavorRef": "1"}, "server"),
    ({"name": "a", "flavorRef": "1", "bogus": 1}, "server"),
    ({"name": "a", "flavorRef": "1", "networks": [{"uuid": "x", "nope": 1}]}, "networks/0"),
    ({"name": "a", "flavorRef": "1", "networks": [{"port": "not-uuid"}]}, "networks/0/port"),
    ({"name": "a", "flavorRef": "1", "metadata": {"k": "v" * 256}}, "metadata/k"),
    ({"name": "a", "flavorRef": "1", "min_count": 0}, "min_count"),
    ({"name": "a", "flavorRef": "1", "accessIPv4": "1.2.3"}, "accessIPv4"),
])
def test_create_schema_refusals_name_the_field(server, field):
    with pytest.raises(errors.ValidationError) as e:
        schema.validate(server, schema.SERVER_CREATE, "server")
    assert f"field/attribute {field}." in e.value.message


def test_create_schema_accepts_a_full_request():
    schema.validate({"name": "vm", "imageRef": "u", "flavorRef": 1, "key_name": "k",
                     "networks": [{"uuid": "n"}, {"port": "8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11"},
                                  {"uuid": "n", "fixed_ip": "10.0.0.9"}],
                     "metadata": {"a": "b"}, "min_count": "1", "max_count": 2,
                     "security_groups": [{"name": "default"}], "config_drive": True,
                     "availability_zone": "nova", "user_data": "aGk="},
                    schema.SERVER_CREATE, "server")
    schema.validate({"name": "vm", "flavorRef": "1", "networks": "auto"},
                    schema.SERVER_CREATE, "server")
