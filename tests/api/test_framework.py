"""The shared API framework, driven in-process through Starlette's TestClient:
request ids, error formats, body limits, HEAD, rate limiting, live policy
overrides."""
import json
import time

import pytest
from starlette.testclient import TestClient

from stratus.api.app import build_app
from stratus.api.runtime import Runtime
from stratus.cmd.prepare import prepare
from stratus.common.config import Config


def make_client(tmp_path, **overrides):
    conf = Config(None, {"DEFAULT": {"state_path": str(tmp_path), **overrides.get("DEFAULT", {})},
                         "identity": {"password_hash_rounds": 4},
                         "api": {"access_log": False}})
    prepare(conf)
    creds = json.load(open(tmp_path / "credentials.json"))
    return TestClient(build_app(Runtime(conf))), creds


def admin_token(client, creds):
    r = client.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": creds["admin"]}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fw")
    client, creds = make_client(tmp)
    with client:
        yield client, admin_token(client, creds), tmp


def test_request_id_is_returned_and_kept_when_valid(cloud):
    client, _, _ = cloud
    r = client.get("/identity/v3")
    assert r.headers["x-openstack-request-id"].startswith("req-")
    rid = "req-12345678-1234-1234-1234-123456789012"
    r = client.get("/identity/v3", headers={"x-openstack-request-id": rid})
    assert r.headers["x-openstack-request-id"] == rid
    r = client.get("/identity/v3", headers={"x-openstack-request-id": "evil\x01"})
    assert r.headers["x-openstack-request-id"] != "evil\x01"
    assert "x-compute-request-id" not in r.headers


def test_unknown_path_and_method_use_keystone_error_format(cloud):
    client, token, _ = cloud
    r = client.get("/identity/v3/nonsense", headers={"x-auth-token": token})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404 and "nonsense" in r.json()["error"]["message"]
    r = client.put("/identity/v3/projects", headers={"x-auth-token": token})
    assert r.status_code == 405 and r.json()["error"]["title"] == "Method Not Allowed"


def test_missing_and_garbage_tokens_are_401_with_www_authenticate(cloud):
    client, _, _ = cloud
    for headers in ({}, {"x-auth-token": "garbage"}, {"x-auth-token": "gAAAAA" + "a" * 200}):
        r = client.get("/identity/v3/projects", headers=headers)
        assert r.status_code == 401
        assert "WWW-Authenticate" in r.headers
        assert r.json()["error"]["code"] == 401


def test_oversized_body_is_413_and_malformed_json_400(cloud):
    client, token, _ = cloud
    r = client.post("/identity/v3/projects", headers={"x-auth-token": token},
                    content=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert r.status_code == 413
    r = client.post("/identity/v3/projects", headers={"x-auth-token": token}, content=b"{nope")
    assert r.status_code == 400 and "Malformed" in r.json()["error"]["message"]
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/identity/v3/projects", headers={"x-auth-token": token}, content=deep)
    assert r.status_code == 400 and "deeply" in r.json()["error"]["message"]
    invalid_utf8 = b'{"project": {"name": "' + bytes([0xff, 0xfe]) + b'"}}'
    r = client.post("/identity/v3/projects", headers={"x-auth-token": token},
                    content=invalid_utf8)
    assert r.status_code == 400 and "Malformed" in r.json()["error"]["message"]


def test_head_has_no_body(cloud):
    client, token, _ = cloud
    r = client.head("/identity/v3/auth/tokens",
                    headers={"x-auth-token": token, "x-subject-token": token})
    assert r.status_code == 200 and r.content == b""


def test_policy_file_override_applies_without_restart(cloud):
    client, token, tmp = cloud
    h = {"x-auth-token": token}
    assert client.get("/identity/v3/projects", headers=h).status_code == 200
    (tmp / "policy.yaml").write_text('"identity:list_projects": "!"\n')
    try:
        deadline = time.time() + 5
        while time.time() < deadline:
            r = client.get("/identity/v3/projects", headers=h)
            if r.status_code == 403:
                break
            time.sleep(0.2)
        assert r.status_code == 403
        assert "identity:list_projects" in r.json()["error"]["message"]
    finally:
        (tmp / "policy.yaml").unlink()
    deadline = time.time() + 5
    while time.time() < deadline and client.get("/identity/v3/projects",
                                                headers=h).status_code != 200:
        time.sleep(0.2)
    assert client.get("/identity/v3/projects", headers=h).status_code == 200


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    client, creds = make_client(tmp_path, DEFAULT={"api_rate_limit": 1, "api_rate_burst": 3})
    with client:
        codes = [client.get("/identity/v3").status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200]
        assert 429 in codes[3:]
        r = client.get("/identity/v3")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == 429


def test_restart_keeps_data_and_passwords(tmp_path):
    client, creds = make_client(tmp_path)
    with client:
        token = admin_token(client, creds)
        r = client.post("/identity/v3/projects", headers={"x-auth-token": token},
                        json={"project": {"name": "kept"}})
        assert r.status_code == 201
    client2, creds2 = make_client(tmp_path)  # second start on the same state dir
    assert creds2 == creds
    with client2:
        token = admin_token(client2, creds2)  # the same password works
        names = [p["name"] for p in client2.get("/identity/v3/projects",
                                                headers={"x-auth-token": token}).json()["projects"]]
        assert "kept" in names


def test_application_credential_access_rules_are_enforced(cloud):
    client, token, _ = cloud
    h = {"x-auth-token": token}
    me = client.get("/identity/v3/auth/tokens",
                    headers={**h, "x-subject-token": token}).json()["token"]["user"]["id"]
    r = client.post(f"/identity/v3/users/{me}/application_credentials", headers=h, json={
        "application_credential": {"name": "narrow", "access_rules": [
            {"service": "identity", "method": "GET", "path": "/v3/auth/projects"}]}})
    assert r.status_code == 201, r.text
    ac = r.json()["application_credential"]
    assert [{k: v for k, v in x.items() if k != "id"} for x in ac["access_rules"]] == [
        {"service": "identity", "method": "GET", "path": "/v3/auth/projects"}]
    r = client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}})
    assert r.status_code == 201, r.text
    narrow = {"x-auth-token": r.headers["x-subject-token"]}
    assert client.get("/identity/v3/auth/projects", headers=narrow).status_code == 200
    assert client.get("/identity/v3/projects", headers=narrow).status_code == 401
    assert client.delete(f"/identity/v3/users/{me}/application_credentials/{ac['id']}",
                         headers=narrow).status_code == 401
    # the rule is shared and cannot be deleted while an application credential uses it
    rule_id = ac["access_rules"][0]["id"]
    assert client.delete(f"/identity/v3/users/{me}/access_rules/{rule_id}",
                         headers=h).status_code == 403
    assert client.delete(f"/identity/v3/users/{me}/application_credentials/{ac['id']}",
                         headers=h).status_code == 204
    assert client.delete(f"/identity/v3/users/{me}/access_rules/{rule_id}",
                         headers=h).status_code == 204
