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


def _access_log(caplog, method: str, path: str, status: int, level: int) -> list[str]:
    """The access lines one request leaves with the log at ``level``."""
    import asyncio
    import logging

    from stratus.api.middleware.access_log import AccessLogMiddleware

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path, "query_string": b"since=3"}
    caplog.clear()
    with caplog.at_level(level, logger="stratus.access"):
        asyncio.run(AccessLogMiddleware(app)(scope, receive, send))
    return [r.getMessage() for r in caplog.records if r.name == "stratus.access"]


@pytest.mark.parametrize("method,path,status,logged", [
    ("GET", "/agent/v1/hosts/h1/state", 200, False),       # the agent's poll
    ("GET", "/agent/v1/hosts/h1/state", 404, True),        # a failed poll is news
    ("GET", "/agent/v1/hosts/h1/state", 500, True),
    ("PUT", "/agent/v1/hosts/h1", 200, True),              # registration / heartbeat
    ("POST", "/agent/v1/instances/x/status", 200, True),   # what the agent changed
    ("GET", "/compute/v2.1/servers", 200, True),
    ("GET", "/agentx/v1", 200, True),
])
def test_access_log_skips_successful_agent_polls_unless_debug(caplog, method, path, status,
                                                              logged):
    import logging
    lines = _access_log(caplog, method, path, status, logging.INFO)
    assert bool(lines) == logged, lines
    if logged:
        assert f"{method} {path}?since=3 {status}" in lines[0]
    # With debug on, every request is logged.
    assert len(_access_log(caplog, method, path, status, logging.DEBUG)) == 1
