"""The light login of ``stratus transfer`` (stratus/cmd/osauth.py) against a live
``stratus up``: the same token scope and object-transfer endpoint as the
openstack.config path, the same 401 wording, and a real put that never imports
openstacksdk."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from conftest import clean_env, free_port

pytestmark = pytest.mark.e2e

# `stratus transfer ARGS`, then whether openstack / keystoneauth were imported
WRAPPER = ("import sys; from stratus.cmd.cli import main; rc = main(sys.argv[1:]); "
           "print('IMPORTED', sorted({m.split('.')[0] for m in sys.modules} & "
           "{'openstack', 'keystoneauth1', 'requests', 'httpx'})); sys.exit(rc)")


@pytest.fixture(scope="module")
def cloud(module_servers):
    return module_servers.start(extra_conf=f"[transfer]\nport = {free_port()}\n")


def sdk_endpoint(cloud, name: str, config=None):
    """The openstack.config path of ``_endpoint()`` (what ran before osauth)."""
    import openstack.config
    from unittest import mock
    from stratus.transfer.client import endpoint_from_session
    env = {"OS_CLIENT_CONFIG_FILE": str(config or cloud.clouds_yaml)}
    with mock.patch.dict(os.environ, env):
        region = openstack.config.OpenStackConfig().get_one(cloud=name)
        session = region.get_session()
        return endpoint_from_session(session, "public", region.region_name)


def light_endpoint(cloud, name: str, config=None):
    from stratus.cmd import osauth
    ep = osauth.endpoint(name, None, "public",
                         environ={"OS_CLIENT_CONFIG_FILE": str(config or cloud.clouds_yaml)})
    assert ep is not None, "the light path handed a plain clouds.yaml back"
    return ep


def scope_of(cloud, token: str) -> dict:
    admin = cloud.admin_token()
    with cloud.http(admin) as http:
        r = http.get("auth/tokens", headers={"X-Subject-Token": token})
    assert r.status_code == 200, r.text
    t = r.json()["token"]
    return {"user": t["user"]["name"], "project": (t.get("project") or {}).get("name"),
            "system": t.get("system")}


@pytest.mark.parametrize("name", ["stratus", "stratus-demo", "stratus-system"])
def test_same_endpoint_and_scope_as_openstack_config(cloud, name):
    light, sdk = light_endpoint(cloud, name), sdk_endpoint(cloud, name)
    assert (light.host, light.port) == (sdk.host, sdk.port)
    assert light.token != sdk.token and scope_of(cloud, light.token) == scope_of(cloud, sdk.token)


def run(cloud, *args, config=None):
    env = clean_env(OS_CLIENT_CONFIG_FILE=str(config or cloud.clouds_yaml), OS_CLOUD="stratus")
    return subprocess.run([sys.executable, "-c", WRAPPER, "transfer", *args],
                          capture_output=True, text=True, env=env, timeout=60,
                          cwd=cloud.state_dir)


def test_wrong_password_same_401_wording(cloud, tmp_path):
    bad = cloud.write_clouds_yaml("stratus", "admin", "not-the-password", project="admin",
                                  path=tmp_path / "bad.yaml")
    src = tmp_path / "f"
    src.write_bytes(b"x")
    cp = run(cloud, "put", str(src), "c/o", config=bad)
    assert cp.returncode == 1
    line = cp.stderr.strip().splitlines()[-1]
    with pytest.raises(Exception) as exc:
        sdk_endpoint(cloud, "stratus", config=bad)
    want = f"stratus transfer: {type(exc.value).__name__}: {exc.value}"
    assert line.split(" (Request-ID")[0] == want.split(" (Request-ID")[0]
    assert line.startswith("stratus transfer: Unauthorized: ") and "(HTTP 401)" in line
    assert "IMPORTED []" in cp.stdout, "a 401 is reported without the SDK"


def test_put_and_get_without_importing_openstack(cloud, tmp_path):
    token = cloud.admin_token()
    r = httpx.get(f"{cloud.url}/auth/projects", headers={"X-Auth-Token": token},
                  trust_env=False)
    project = next(p["id"] for p in r.json()["projects"] if p["name"] == "admin")
    url = f"{cloud.base_url}/object-store/v1/AUTH_{project}/xfer-auth"
    assert httpx.put(url, headers={"X-Auth-Token": token}, trust_env=False).status_code in (
        201, 202)
    data = os.urandom(4096)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(data)
    cp = run(cloud, "put", str(src), "xfer-auth/o")
    assert cp.returncode == 0, f"{cp.stdout}\n{cp.stderr}\n{cloud.logs()}"
    assert "4096 bytes in" in cp.stdout and "IMPORTED []" in cp.stdout
    cp = run(cloud, "get", "xfer-auth/o", str(dst))
    assert cp.returncode == 0 and "IMPORTED []" in cp.stdout, cp.stderr
    assert dst.read_bytes() == data


def test_token_and_endpoint_skip_the_login(cloud, tmp_path):
    """--os-token with --endpoint (the openstack CLI's token_endpoint): no
    Keystone round trip, the transfer server judges the token; a bad one is
    refused before anything is stored."""
    token = cloud.admin_token()
    r = httpx.get(f"{cloud.url}/auth/projects", headers={"X-Auth-Token": token},
                  trust_env=False)
    project = next(p["id"] for p in r.json()["projects"] if p["name"] == "admin")
    url = f"{cloud.base_url}/object-store/v1/AUTH_{project}/xfer-tok"
    assert httpx.put(url, headers={"X-Auth-Token": token}, trust_env=False).status_code in (
        201, 202)
    ep = light_endpoint(cloud, "stratus")
    where = f"stratus-udp://{ep.host}:{ep.port}"
    src = tmp_path / "src"
    src.write_bytes(os.urandom(2048))
    nowhere = tmp_path / "none.yaml"     # no clouds.yaml: nothing to log in with
    cp = run(cloud, "put", str(src), "xfer-tok/o", "--endpoint", where, "--os-token", token,
             config=nowhere)
    assert cp.returncode == 0, f"{cp.stdout}\n{cp.stderr}"
    assert "2048 bytes in" in cp.stdout and "IMPORTED []" in cp.stdout
    got = httpx.get(f"{url}/o", headers={"X-Auth-Token": token}, trust_env=False)
    assert got.status_code == 200 and got.content == src.read_bytes()
    cp = run(cloud, "put", str(src), "xfer-tok/bad", "--endpoint", where,
             "--os-token", "not-a-token", config=nowhere)
    assert cp.returncode != 0 and "stratus transfer:" in cp.stderr, cp.stderr
    assert httpx.get(f"{url}/bad", headers={"X-Auth-Token": token},
                     trust_env=False).status_code == 404
