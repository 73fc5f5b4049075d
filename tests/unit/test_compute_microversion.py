"""Compute microversion negotiation, the middleware that echoes it, and the
pure parts of the deltas of 2.2-2.11 (bodies against Tempest's versioned
schemas, request schemas, key pair helpers, the ip6 filter)."""
from __future__ import annotations

import datetime as dt
import re

import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from tempest.lib.api_schema.response.compute.v2_1 import servers as srv21
from tempest.lib.api_schema.response.compute.v2_3 import servers as srv23
from tempest.lib.api_schema.response.compute.v2_9 import servers as srv29

from stratus.api.compute import keypairs as kp_api
from stratus.api.compute import microversion as cmv
from stratus.api.compute import remote_consoles, res_common, server_list, services
from stratus.api.compute import server_views as views
from stratus.api.middleware.microversion import Version
from stratus.common import errors
from stratus.compute import keypairs as kp
from stratus.db.models.compute import Instance


class H(dict):
    def get(self, key, default=None):
        return super().get(key.lower(), default)


@pytest.mark.parametrize("headers,expected", [
    ({}, cmv.MIN_VERSION),
    ({"openstack-api-version": "compute latest"}, cmv.MAX_VERSION),
    ({"openstack-api-version": "compute 2.1"}, Version(2, 1)),
    ({"x-openstack-nova-api-version": "2.1"}, Version(2, 1)),
    ({"x-openstack-nova-api-version": "latest"}, cmv.MAX_VERSION),
    # another service's version is not ours
    ({"openstack-api-version": "volume 3.5"}, cmv.MIN_VERSION),
])
def test_negotiate(headers, expected):
    assert cmv.negotiate(H(headers)) == expected


def test_new_header_wins_over_legacy():
    h = H({"openstack-api-version": "compute 2.1", "x-openstack-nova-api-version": "9.9"})
    assert cmv.negotiate(h) == Version(2, 1)


@pytest.mark.parametrize("value,status", [("compute 2.0", errors.NotAcceptable),
                                          ("compute 3.0", errors.NotAcceptable),
                                          ("compute 2.1000", errors.NotAcceptable),
                                          ("compute 2.x", errors.BadRequest),
                                          ("compute abc", errors.BadRequest)])
def test_out_of_range_and_garbage(value, status):
    with pytest.raises(status):
        cmv.negotiate(H({"openstack-api-version": value}))


def _client():
    async def echo(request):
        return JSONResponse({"version": str(cmv.version_of(request))})
    app = Starlette(routes=[Route("/v", echo)])
    return TestClient(cmv.MicroversionMiddleware(app))


def test_middleware_echoes_headers_on_success():
    r = _client().get("/v", headers={"OpenStack-API-Version": "compute latest"})
    assert r.status_code == 200
    assert r.json() == {"version": str(cmv.MAX_VERSION)}
    assert r.headers["OpenStack-API-Version"] == f"compute {cmv.MAX_VERSION}"
    assert r.headers["X-OpenStack-Nova-API-Version"] == str(cmv.MAX_VERSION)
    assert "OpenStack-API-Version" in r.headers["Vary"]
    assert "X-OpenStack-Nova-API-Version" in r.headers["Vary"]


def test_middleware_406_in_nova_format_with_headers():
    r = _client().get("/v", headers={"X-OpenStack-Nova-API-Version": "2.999"})
    assert r.status_code == 406
    body = r.json()
    assert body["notAcceptable"]["code"] == 406
    assert "2.999" in body["notAcceptable"]["message"]
    assert r.headers["OpenStack-API-Version"] == f"compute {cmv.MIN_VERSION}"
    r = _client().get("/v", headers={"OpenStack-API-Version": "compute 2.x"})
    assert r.status_code == 400 and "badRequest" in r.json()


# -- the deltas of 2.2-2.11 (pure parts) -------------------------------------------
LINKS = views.Links("http://127.0.0.1:5000/compute")
T0 = dt.datetime(2026, 1, 2, 3, 4, 5)
ADDRS = {"private": [{"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
                      "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}
EXT_23 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
          "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id",
          "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:root_device_name",
          "OS-EXT-SRV-ATTR:user_data"}


def test_max_version_is_2_11_and_gates_compare_numerically():
    assert str(cmv.MAX_VERSION) == "2.11"
    assert cmv.negotiate(H({"openstack-api-version": "compute 2.11"})) == Version(2, 11)
    with pytest.raises(errors.NotAcceptable):
        cmv.negotiate(H({"openstack-api-version": "compute 2.12"}))
    assert views.at_least(Version(2, 10), 2, 9) and not views.at_least(Version(2, 1), 2, 9)
    assert not views.at_least(None, 2, 3)


def _inst(**kw) -> Instance:
    base = dict(id=7, uuid="8e7cc9a4-8c6b-4ab3-9a36-5d2e3c9f0b11", display_name="vm1",
                hostname="vm1", project_id="p" * 32, user_id="u" * 32, image_ref="img",
                flavor_id="1", vm_state="active", task_state=None, power_state=1, host="h1",
                node="h1", availability_zone="nova", key_name=None, config_drive=False,
                created_at=T0, updated_at=T0, launched_at=T0, terminated_at=None, progress=0,
                reservation_id="r-abc", launch_index=0, user_data="aGVsbG8=", locked=False,
                request_spec={})
    base.update(kw)
    return Instance(**base)


def _check(schema, body):
    jsonschema.validate(body, schema["response_body"], format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("is_admin", [False, True])
def test_server_detail_at_each_version(is_admin):
    for version, schema in ((Version(2, 1), srv21), (Version(2, 2), srv21),
                            (Version(2, 3), srv23), (Version(2, 8), srv23),
                            (Version(2, 9), srv29), (Version(2, 11), srv29)):
        body = views.detail(_inst(), LINKS, metadata={}, addresses=ADDRS, is_admin=is_admin,
                            version=version)
        _check(schema.get_server, {"server": body})
        _check(schema.list_servers_detail, {"servers": [body]})
        assert (EXT_23 <= set(body)) is (is_admin and version >= Version(2, 3))
        assert not (EXT_23 & set(body)) or is_admin
        assert ("locked" in body) is (version >= Version(2, 9))
    body = views.detail(_inst(host=None, reservation_id=""), LINKS, metadata={}, addresses={},
                        is_admin=True, version=Version(2, 3))
    assert body["OS-EXT-SRV-ATTR:root_device_name"] is None
    assert body["OS-EXT-SRV-ATTR:user_data"] == "aGVsbG8="


def test_update_and_rebuild_bodies_have_locked_from_2_9():
    for version in (Version(2, 1), Version(2, 8)):
        body = views.basic(_inst(locked=True), LINKS, metadata={}, addresses=ADDRS,
                           version=version)
        _check(srv21.update_server, {"server": body})
        assert "locked" not in body
    body = views.basic(_inst(locked=True), LINKS, metadata={}, addresses=ADDRS,
                       version=Version(2, 9))
    _check(srv29.update_server, {"server": body})
    _check(srv29.rebuild_server, {"server": body})
    assert body["locked"] is True


def test_keypair_x509_generate_and_fingerprint():
    private, pem, fp = kp.generate_x509("user-1")
    assert "BEGIN CERTIFICATE" in pem and "PRIVATE KEY" in private
    assert re.fullmatch(r"([0-9a-f]{2}:){19}[0-9a-f]{2}", fp)
    assert kp.x509_fingerprint(pem) == fp
    with pytest.raises(errors.BadRequest, match="X509"):
        kp.x509_fingerprint("ssh-rsa AAAA not a certificate")


@pytest.mark.parametrize("schema,body,ok", [
    (kp_api.CREATE, {"keypair": {"name": "k"}}, True),
    (kp_api.CREATE, {"keypair": {"name": "k", "type": "ssh"}}, False),
    (kp_api.CREATE_V22, {"keypair": {"name": "k", "type": "x509"}}, True),
    (kp_api.CREATE_V22, {"keypair": {"name": "k", "type": "rsa"}}, False),
    (kp_api.CREATE_V22, {"keypair": {"name": "k", "user_id": "u"}}, False),
    (kp_api.CREATE_V210, {"keypair": {"name": "k", "type": "ssh", "user_id": "u"}}, True),
    (remote_consoles.CREATE_V26,
     {"remote_console": {"protocol": "vnc", "type": "novnc"}}, True),
    (remote_consoles.CREATE_V26,
     {"remote_console": {"protocol": "mks", "type": "webmks"}}, False),
    (remote_consoles.CREATE_V28,
     {"remote_console": {"protocol": "mks", "type": "webmks"}}, True),
    (remote_consoles.CREATE_V28, {"remote_console": {"protocol": "vnc"}}, False),
    (services.UPDATE_V211, {"host": "h", "binary": "nova-compute", "forced_down": "yes"}, True),
    (services.UPDATE_V211, {"host": "h", "binary": "nova-compute", "forced_down": "maybe"},
     False),
])
def test_versioned_request_schemas(schema, body, ok):
    if ok:
        res_common.validate(body, schema)
    else:
        with pytest.raises(errors.BadRequest):
            res_common.validate(body, schema)


def test_ip6_filter_matches_only_ipv6_addresses():
    v4 = {"version": 4, "addr": "10.0.0.5"}
    v6 = {"version": 6, "addr": "fd00::5"}
    any_ = re.compile(".")
    assert server_list.ip_matches(v4, any_, None)
    assert not server_list.ip_matches(v4, None, any_)
    assert server_list.ip_matches(v6, None, re.compile("^fd00"))
    assert not server_list.ip_matches(v6, None, re.compile("^2001"))
    assert server_list.ip_matches(v4, re.compile("10"), re.compile("nomatch"))
