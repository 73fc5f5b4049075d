"""Compute microversion negotiation and the middleware that echoes it."""
from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from stratus.api.compute import microversion as cmv
from stratus.api.middleware.microversion import Version
from stratus.common import errors


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
