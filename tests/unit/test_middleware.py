import pytest
from starlette.datastructures import Headers

from stratus.api.middleware import microversion as mv
from stratus.api.middleware.rate_limit import TokenBucket
from stratus.common import errors


def test_token_bucket_allows_burst_then_rate():
    b = TokenBucket(rate=2, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(3)] == [0, 0, 0]
    assert b.take(0.0) == pytest.approx(0.5)
    assert b.take(0.5) == 0          # one token refilled after 0.5 s at 2/s
    assert b.take(10.0) == 0         # refill is capped at the burst
    assert [b.take(10.0) for _ in range(2)] == [0, 0]
    assert b.take(10.0) > 0


LO, HI = mv.Version(2, 1), mv.Version(2, 90)


@pytest.mark.parametrize("headers,expected", [
    ({}, "2.1"),
    ({"OpenStack-API-Version": "compute 2.10"}, "2.10"),
    ({"OpenStack-API-Version": "compute latest"}, "2.90"),
    ({"OpenStack-API-Version": "volume 3.5, compute 2.3"}, "2.3"),
    ({"X-OpenStack-Nova-API-Version": "2.5"}, "2.5"),
    ({"OpenStack-API-Version": "compute 2.7", "X-OpenStack-Nova-API-Version": "2.5"}, "2.7"),
])
def test_negotiation(headers, expected):
    asked = mv.requested(Headers(headers), "compute", "x-openstack-nova-api-version")
    assert str(mv.negotiate(asked, LO, HI)) == expected


@pytest.mark.parametrize("value,exc", [("2.91", errors.NotAcceptable),
                                       ("1.9", errors.NotAcceptable),
                                       ("2.x", errors.BadRequest), ("2.01", errors.BadRequest)])
def test_bad_versions(value, exc):
    with pytest.raises(exc):
        mv.negotiate(value, LO, HI)


def test_versions_compare_numerically():
    assert mv.Version.parse("2.10") > mv.Version.parse("2.9")


def test_response_headers():
    h = mv.response_headers("compute", mv.Version(2, 10), "X-OpenStack-Nova-API-Version")
    assert h["OpenStack-API-Version"] == "compute 2.10"
    assert h["X-OpenStack-Nova-API-Version"] == "2.10"
    assert "OpenStack-API-Version" in h["Vary"]
