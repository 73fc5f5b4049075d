"""stratus.cmd.osauth: the light login of ``stratus transfer`` reads clouds.yaml,
secure.yaml and OS_* variables as openstack.config does (checked against
openstack.config itself), and hands anything unusual back (None)."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from stratus.cmd import osauth

AUTH = {"auth_url": "http://127.0.0.1:5000/identity/v3", "username": "alice",
        "password": "pw", "project_name": "p1", "user_domain_name": "Default",
        "project_domain_name": "Default"}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home and working directory: no clouds.yaml of the machine's."""
    for k in list(os.environ):
        if k.startswith("OS_") or k.startswith("XDG_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, doc) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def sdk_auth(cloud, region=None, env=None, monkeypatch=None) -> tuple[dict, str]:
    """What openstack.config itself makes of the same settings."""
    import openstack.config
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    r = openstack.config.OpenStackConfig().get_one(cloud=cloud, region_name=region)
    auth = {k: v for k, v in r.config["auth"].items() if v}
    return auth, r.region_name


def test_clouds_yaml_merged_with_secure_yaml(home, monkeypatch):
    clouds = write(home / "c" / "clouds.yaml", {"clouds": {"mine": {
        "auth": {k: v for k, v in AUTH.items() if k != "password"},
        "regions": ["R1", "R2"]}}})
    secure = write(home / "c" / "secure.yaml", {"clouds": {"mine": {"auth": {"password": "s3"}}}})
    env = {"OS_CLIENT_CONFIG_FILE": clouds, "OS_CLIENT_SECURE_FILE": secure}
    s = osauth.resolve("mine", None, env)
    assert s.auth["password"] == "s3" and s.region_name == "R1"
    assert s.auth_url == AUTH["auth_url"] and s.method == "password"
    sdk, region = sdk_auth("mine", env=env, monkeypatch=monkeypatch)
    assert {**s.auth, "auth_url": s.auth_url} == sdk and region == s.region_name
    assert osauth.resolve("mine", "R2", env).region_name == "R2"
    assert osauth.resolve("mine", "R9", env) is None     # the SDK's error, not ours
    assert osauth.resolve("other", None, env) is None    # "Cloud other was not found."


def test_search_path_cwd_then_home(home):
    write(home / "home" / ".config" / "openstack" / "clouds.yaml",
          {"clouds": {"c": {"auth": {**AUTH, "username": "from-home"}}}})
    assert osauth.resolve("c", None, {}).auth["username"] == "from-home"
    write(home / "clouds.yaml", {"clouds": {"c": {"auth": {**AUTH, "username": "from-cwd"}}}})
    assert osauth.resolve("c", None, {}).auth["username"] == "from-cwd"
    # the only cloud is the default one, as in openstack.config
    assert osauth.resolve(None, None, {}).auth["username"] == "from-cwd"


def test_os_variables_make_the_envvars_cloud(home, monkeypatch):
    env = {"OS_AUTH_URL": "http://127.0.0.1:5000/identity", "OS_USERNAME": "bob",
           "OS_PASSWORD": "pw", "OS_PROJECT_ID": "abc", "OS_USER_DOMAIN_ID": "default",
           "OS_REGION_NAME": "R7", "OS_INSECURE": "true"}
    s = osauth.resolve(None, "R7", env)
    assert s.auth_url == "http://127.0.0.1:5000/identity/v3" and not s.versioned
    assert s.auth == {"username": "bob", "password": "pw", "project_id": "abc",
                      "user_domain_id": "default"}
    assert s.region_name == "R7" and s.verify is False
    sdk, region = sdk_auth(None, "R7", env=env, monkeypatch=monkeypatch)
    sdk.pop("auth_url")
    assert sdk == s.auth and region == "R7"
    assert osauth.request_body(s)["auth"]["scope"] == {"project": {"id": "abc"}}


def test_named_cloud_wins_over_os_variables(home):
    clouds = write(home / "clouds.yaml", {"clouds": {"c": {"auth": AUTH}}})
    env = {"OS_CLIENT_CONFIG_FILE": clouds, "OS_CLOUD": "c", "OS_USERNAME": "intruder",
           "OS_PASSWORD": "x", "OS_AUTH_URL": "http://elsewhere/v3", "OS_PROJECT_NAME": "p"}
    s = osauth.resolve(None, None, env)
    assert s.auth["username"] == "alice" and "elsewhere" not in s.auth_url
    # without OS_CLOUD the variables are the default cloud
    env.pop("OS_CLOUD")
    assert osauth.resolve(None, None, env).auth["username"] == "intruder"


@pytest.mark.parametrize("url, want", [
    ("http://h:5000", "http://h:5000/v3"), ("http://h:5000/", "http://h:5000/v3"),
    ("http://h/identity/v3", "http://h/identity/v3"),
    ("http://h/identity/v3/", "http://h/identity/v3"),
    ("http://h/identity", "http://h/identity/v3"),
    ("http://h/identity/v2.0", None), ("http://h/{region_name}/v3", None)])
def test_auth_url_normalised(home, url, want):
    env = {"OS_AUTH_URL": url, "OS_USERNAME": "u", "OS_PASSWORD": "p", "OS_PROJECT_NAME": "p"}
    s = osauth.resolve(None, None, env)
    assert (s.auth_url if s else None) == want


@pytest.mark.parametrize("extra", [
    {"auth_type": "v3oidcpassword"}, {"auth_type": "v2password"}, {"auth_type": "v3totp"},
    {"auth": {"passcode": "123"}}, {"auth": {"trust_id": "t"}}, {"cert": "/c.pem"},
    {"profile": "vexxhost"}, {"auth": {"domain_name": "d", "project_name": None}},
    {"auth": {"project_name": None, "project_domain_name": None}},   # unscoped
    {"auth": {"password": None}},                                     # would prompt
    {"auth": {"system_scope": "all"}},                                # two scopes
])
def test_unfamiliar_settings_fall_back(home, extra):
    cloud = {"auth": dict(AUTH)}
    cloud["auth"].update(extra.pop("auth", {}))
    cloud["auth"] = {k: v for k, v in cloud["auth"].items() if v is not None}
    cloud.update(extra)
    clouds = write(home / "clouds.yaml", {"clouds": {"c": cloud}})
    assert osauth.resolve("c", None, {"OS_CLIENT_CONFIG_FILE": clouds}) is None


def test_token_appcred_system_scope_and_old_spellings(home, monkeypatch):
    clouds = write(home / "clouds.yaml", {"clouds": {
        "tok": {"auth_type": "token", "auth": {"auth_url": AUTH["auth_url"],
                "auth_token": "T", "tenant_name": "p1", "project_domain_id": "default"}},
        "app": {"auth_type": "v3applicationcredential", "auth": {
                "auth_url": AUTH["auth_url"], "application_credential_id": "AC",
                "application_credential_secret": "S"}},
        "sys": {"auth": {"auth_url": AUTH["auth_url"], "username": "admin",
                         "user_domain_name": "Default", "password": "p", "system_scope": "all"},
                "cacert": "~/ca.pem"}}})
    env = {"OS_CLIENT_CONFIG_FILE": clouds}
    tok = osauth.resolve("tok", None, env)
    assert osauth.request_body(tok) == {"auth": {
        "identity": {"methods": ["token"], "token": {"id": "T"}},
        "scope": {"project": {"name": "p1", "domain": {"id": "default"}}}}}
    sdk, _ = sdk_auth("tok", env=env, monkeypatch=monkeypatch)
    assert sdk == {**tok.auth, "auth_url": tok.auth_url}
    app = osauth.resolve("app", None, env)
    assert osauth.request_body(app) == {"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": "AC", "secret": "S"}}}}
    sys_ = osauth.resolve("sys", None, env)
    assert osauth.request_body(sys_) == {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "p"}}},
        "scope": {"system": {"all": True}}}}
    assert sys_.verify == os.path.expanduser("~/ca.pem")


def test_find_endpoint_by_interface_and_region():
    catalog = [{"type": "object-store", "endpoints": [
                   {"interface": "public", "region_id": "R1", "url": "http://swift"}]},
               {"type": "object-transfer", "endpoints": [
                   {"interface": "internal", "region_id": "R1", "url": "stratus-udp://i:1"},
                   {"interface": "public", "region_id": "R2", "url": "stratus-udp://r2:1"},
                   {"interface": "public", "region_id": "R1", "url": "stratus-udp://r1:1"}]}]
    assert osauth.find_endpoint(catalog, "public", "R1") == "stratus-udp://r1:1"
    assert osauth.find_endpoint(catalog, "publicURL", "") == "stratus-udp://r2:1"
    assert osauth.find_endpoint(catalog, "internal", "R1") == "stratus-udp://i:1"
    assert osauth.find_endpoint(catalog, "admin", "R1") is None


class _Identity(BaseHTTPRequestHandler):
    """POST /good/v3/auth/tokens: 201 with a catalog, or 401 for a wrong password;
    everything else 404."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/good/v3/auth/tokens":
            return self._send(404, {"error": {"code": 404, "message": "nope"}})
        user = body["auth"]["identity"]["password"]["user"]
        if user["password"] != "right":
            return self._send(401, {"error": {"code": 401, "message": "Bad creds."}},
                              {"x-openstack-request-id": "req-1"})
        self._send(201, {"token": {"catalog": [{"type": "object-transfer", "endpoints": [
            {"interface": "public", "region_id": "R1", "url": "stratus-udp://10.0.0.1:7"}]}]}},
                   {"X-Subject-Token": "TOKEN"})

    def _send(self, status, doc, headers=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def identity():
    srv = HTTPServer(("127.0.0.1", 0), _Identity)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_login_endpoint_and_errors(home, identity, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    env = {"OS_AUTH_URL": f"{identity}/good", "OS_USERNAME": "u", "OS_PASSWORD": "right",
           "OS_PROJECT_NAME": "p", "OS_REGION_NAME": "R1"}
    ep = osauth.endpoint(None, "R1", "public", environ=env)
    assert (ep.host, ep.port, ep.token) == ("10.0.0.1", 7, "TOKEN")
    assert osauth.endpoint(None, "R1", "public", "stratus-udp://h:9", env).port == 9
    with pytest.raises(osauth.EndpointNotFound, match="^internal endpoint for object-transfer "
                       "service in R1 region not found$"):
        osauth.endpoint(None, "R1", "internal", environ=env)
    with pytest.raises(osauth.HttpError) as exc:
        osauth.endpoint(None, "R1", "public", environ={**env, "OS_PASSWORD": "wrong"})
    assert type(exc.value).__name__ == "Unauthorized"
    assert str(exc.value) == "Bad creds. (HTTP 401) (Request-ID: req-1)"
    # an unversioned URL whose v3 is elsewhere: the SDK's discovery gets its turn
    assert osauth.endpoint(None, "R1", "public", environ={
        **env, "OS_AUTH_URL": f"{identity}/other"}) is None
    # nobody listening: the SDK path reports it in its own words
    assert osauth.endpoint(None, "R1", "public", environ={
        **env, "OS_AUTH_URL": "http://127.0.0.1:9/v3"}) is None
