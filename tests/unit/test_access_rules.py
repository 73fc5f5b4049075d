import pytest

from stratus.identity.access_rules import allowed, path_matches


@pytest.mark.parametrize("pattern,path,ok", [
    ("/v2.1/servers/*/ips", "/v2.1/servers/abc/ips", True),
    ("/v2.1/servers/*/ips", "/v2.1/servers/abc/def/ips", False),
    ("/v2.1/servers/*/ips", "/v2.1/servers/ips", False),
    ("/v2.1/servers/**", "/v2.1/servers", True),
    ("/v2.1/servers/**", "/v2.1/servers/a/b/c", True),
    ("/v2.1/**/ips", "/v2.1/servers/a/ips", True),
    ("/v2.1/**/ips", "/v2.1/ips", True),
    ("/v2.1/**/ips", "/v2.1/servers/a/ipsx", False),
    ("/v3/users", "/v3/users/", True),
    ("/v3/users", "/v3/users/x", False),
    ("/", "/", True),
])
def test_path_patterns(pattern, path, ok):
    assert path_matches(pattern, path) is ok


RULES = [{"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}]


def test_service_method_and_path_must_all_match():
    assert allowed(RULES, "compute", "get", "/v2.1/servers/x/ips")
    assert allowed(RULES, "compute", "HEAD", "/v2.1/servers/x/ips")
    assert not allowed(RULES, "compute", "POST", "/v2.1/servers/x/ips")
    assert not allowed(RULES, "image", "GET", "/v2.1/servers/x/ips")
    assert not allowed(RULES, "compute", "GET", "/v2.1/servers/x")


def test_no_rules_means_unrestricted():
    assert allowed([], "identity", "DELETE", "/v3/projects/x")
