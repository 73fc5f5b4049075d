"""Bad input to the Identity API, table-driven over raw HTTP with an admin
token: every case gets the status upstream Keystone returns, an OpenStack
error body ``{"error": {"code", "message", "title"}}`` naming the faulty
field or id, never a 500, and leaves the stored state as it was.

Then the token lifecycle: revocation, password change, disabled projects,
expiry (on a second server with a 2 s token lifetime), Fernet key rotation and
a restart on the same state directory."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Cloud, assert_error, ok, unique

pytestmark = pytest.mark.e2e

MISSING = "0123456789abcdef0123456789abcdef"   # an id nothing has




@dataclass
class Existing:
    """Resources the bad requests refer to (for duplicates and as targets)."""
    project: dict
    other_project: dict
    user: dict
    other_user: dict
    group: dict
    other_group: dict
    role: dict
    other_role: dict
    domain: dict
    region: dict
    service: dict
    endpoint: dict
    member_role: str


@pytest.fixture(scope="module")
def existing(live_cloud: Cloud) -> Existing:
    with live_cloud.admin_http() as api:
        def post(path, key, body):
            return ok(api.post(path, json={key: body}), 201)[key]
        service = post("services", "service", {"type": unique("bad-svc"), "name": "bad"})
        region = post("regions", "region", {"id": unique("BadRegion")})
        return Existing(
            project=post("projects", "project", {"name": unique("bad-proj")}),
            other_project=post("projects", "project", {"name": unique("bad-proj2")}),
            user=post("users", "user", {"name": unique("bad-user"), "password": "pw"}),
            other_user=post("users", "user", {"name": unique("bad-user2")}),
            group=post("groups", "group", {"name": unique("bad-group")}),
            other_group=post("groups", "group", {"name": unique("bad-group2")}),
            role=post("roles", "role", {"name": unique("bad-role")}),
            other_role=post("roles", "role", {"name": unique("bad-role2")}),
            domain=post("domains", "domain", {"name": unique("bad-dom")}),
            region=region, service=service,
            endpoint=post("endpoints", "endpoint", {"service_id": service["id"],
                                                     "interface": "public",
                                                     "url": "http://bad.example.org/",
                                                     "region_id": region["id"]}),
            member_role=ok(api.get("roles", params={"name": "member"}))["roles"][0]["id"])


# -- the table ----------------------------------------------------------------------
# A case: (id, method, path, body, status, mentions).  ``body`` is bytes (sent
# as is) or a JSON value; strings in path/body/mentions are formatted with the
# Existing resources: {project}, {user}, {group}, {role}, {domain}, {region},
# {service}, {endpoint}, {member}, {project_name}, {other_project}, {other_user},
# {other_group}, {other_role}, {user_name}, {group_name}, {role_name},
# {domain_name}, {missing}, {uniq} (a fresh name).  A mention that is a
# tuple is satisfied by any of its strings.
Case = tuple[str, str, str, Any, int, tuple]
L65, L256 = "p" * 65, "u" * 256

CASES: list[Case] = [
    # malformed JSON
    ("malformed-project", "POST", "projects", b'{"project": {"name": ', 400, ()),
    ("malformed-user", "POST", "users", b"{not json", 400, ()),
    ("malformed-update", "PATCH", "projects/{project}", b'{"project":', 400, ()),
    ("malformed-auth", "POST", "auth/tokens", b'{"auth": {', 400, ()),
    ("malformed-utf8", "POST", "groups", b'{"group": {"name": "\xff\xfe"}}', 400, ()),
    # JSON that is not an object
    ("array-body", "POST", "projects", b"[]", 400, ()),
    ("string-body", "POST", "users", b'"user"', 400, ()),
    ("number-body", "POST", "groups", b"42", 400, ()),
    ("null-body", "POST", "roles", b"null", 400, ()),
    ("array-update", "PATCH", "users/{user}", b'[{"user": {}}]', 400, ()),
    ("entity-not-object", "POST", "groups", {"group": "a-name"}, 400, ("group",)),
    ("auth-not-object", "POST", "auth/tokens", [1, 2], 400, ()),
    # wrong types
    ("project-name-int", "POST", "projects", {"project": {"name": 5}}, 400, ("name",)),
    ("project-enabled-str", "POST", "projects",
     {"project": {"name": "{uniq}", "enabled": "yes"}}, 400, ("enabled",)),
    ("project-tags-str", "POST", "projects", {"project": {"name": "{uniq}", "tags": "a,b"}},
     400, ("tags",)),
    ("project-update-enabled-str", "PATCH", "projects/{project}",
     {"project": {"enabled": "no"}}, 400, ("enabled",)),
    ("user-name-int", "POST", "users", {"user": {"name": 5}}, 400, ("name",)),
    ("user-enabled-str", "POST", "users", {"user": {"name": "{uniq}", "enabled": "yes"}},
     400, ("enabled",)),
    ("user-update-name-int", "PATCH", "users/{user}", {"user": {"name": 5}}, 400, ("name",)),
    ("user-password-int", "POST", "users", {"user": {"name": "{uniq}", "password": 12345}},
     400, ("password",)),
    ("group-name-list", "POST", "groups", {"group": {"name": ["a"]}}, 400, ("name",)),
    ("role-name-object", "POST", "roles", {"role": {"name": {}}}, 400, ("name",)),
    ("domain-enabled-int", "POST", "domains", {"domain": {"name": "{uniq}", "enabled": 1}},
     400, ("enabled",)),
    ("service-type-int", "POST", "services", {"service": {"type": 5}}, 400, ("type",)),
    ("endpoint-bad-interface", "POST", "endpoints",
     {"endpoint": {"service_id": "{service}", "interface": "sideways",
                   "url": "http://x.example.org"}}, 400, ("interface",)),
    ("region-description-int", "POST", "regions", {"region": {"description": 5}}, 400,
     ("description",)),
    ("auth-methods-str", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": "password"}}}, 400, ("methods",)),
    # missing required fields
    ("project-no-name", "POST", "projects", {"project": {"description": "x"}}, 400, ("name",)),
    ("project-no-wrapper", "POST", "projects", {}, 400, (("project", "name"),)),
    ("user-no-name", "POST", "users", {"user": {"password": "x"}}, 400, ("name",)),
    ("group-no-name", "POST", "groups", {"group": {"description": "d"}}, 400, ("name",)),
    ("role-no-name", "POST", "roles", {"role": {}}, 400, ("name",)),
    ("domain-no-name", "POST", "domains", {"domain": {}}, 400, ("name",)),
    ("service-no-type", "POST", "services", {"service": {"name": "x"}}, 400, ("type",)),
    ("endpoint-no-interface", "POST", "endpoints",
     {"endpoint": {"service_id": "{service}", "url": "http://x.example.org"}}, 400,
     ("interface",)),
    ("endpoint-no-url", "POST", "endpoints",
     {"endpoint": {"service_id": "{service}", "interface": "public"}}, 400, ("url",)),
    ("password-no-original", "POST", "users/{user}/password", {"user": {"password": "x"}},
     400, ("original_password",)),
    ("auth-no-identity", "POST", "auth/tokens", {"auth": {}}, 400, ("identity",)),
    ("auth-no-password-object", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": ["password"]}}}, 400, ("password",)),
    ("project-empty-update", "PATCH", "projects/{project}", {"project": {}}, 400, ()),
    # unexpected keys where the schema allows none: beside the entity (newer
    # Keystone validates the whole body, additionalProperties: false) and in
    # the password change
    ("project-unexpected-top-level-key", "POST", "projects",
     {"project": {"name": "{uniq}"}, "bogus": {}}, 400, ("bogus",)),
    ("user-unexpected-top-level-key", "POST", "users",
     {"user": {"name": "{uniq}"}, "bogus": 1}, 400, ("bogus",)),
    ("group-update-unexpected-top-level-key", "PATCH", "groups/{group}",
     {"group": {"description": "x"}, "bogus": 1}, 400, ("bogus",)),
    ("password-unexpected-key", "POST", "users/{user}/password",
     {"user": {"password": "a", "original_password": "b", "bogus": 1}}, 400, ("bogus",)),
    # empty, blank and over-long names
    ("project-name-empty", "POST", "projects", {"project": {"name": ""}}, 400, ("name",)),
    ("project-name-blank", "POST", "projects", {"project": {"name": "   "}}, 400, ("name",)),
    ("project-name-65", "POST", "projects", {"project": {"name": L65}}, 400, ("name",)),
    ("project-rename-65", "PATCH", "projects/{project}", {"project": {"name": L65}}, 400,
     ("name",)),
    ("domain-name-65", "POST", "domains", {"domain": {"name": L65}}, 400, ("name",)),
    ("user-name-256", "POST", "users", {"user": {"name": L256}}, 400, ("name",)),
    ("user-rename-256", "PATCH", "users/{user}", {"user": {"name": L256}}, 400, ("name",)),
    ("role-name-256", "POST", "roles", {"role": {"name": "r" * 256}}, 400, ("name",)),
    ("user-name-empty", "POST", "users", {"user": {"name": ""}}, 400, ("name",)),
    # duplicates
    ("duplicate-project", "POST", "projects", {"project": {"name": "{project_name}"}}, 409,
     ("{project_name}",)),
    ("rename-to-duplicate-project", "PATCH", "projects/{other_project}",
     {"project": {"name": "{project_name}"}}, 409, ("{project_name}",)),
    ("duplicate-user", "POST", "users", {"user": {"name": "{user_name}"}}, 409,
     ("{user_name}",)),
    ("rename-to-duplicate-user", "PATCH", "users/{other_user}",
     {"user": {"name": "{user_name}"}}, 409, ("{user_name}",)),
    ("rename-to-duplicate-group", "PATCH", "groups/{other_group}",
     {"group": {"name": "{group_name}"}}, 409, ("{group_name}",)),
    ("rename-to-duplicate-role", "PATCH", "roles/{other_role}",
     {"role": {"name": "{role_name}"}}, 409, ("{role_name}",)),
    ("duplicate-group", "POST", "groups", {"group": {"name": "{group_name}"}}, 409,
     ("{group_name}",)),
    ("duplicate-role", "POST", "roles", {"role": {"name": "{role_name}"}}, 409,
     ("{role_name}",)),
    ("duplicate-domain", "POST", "domains", {"domain": {"name": "{domain_name}"}}, 409,
     ("{domain_name}",)),
    ("duplicate-region", "POST", "regions", {"region": {"id": "{region}"}}, 409,
     ("{region}",)),
    ("duplicate-region-put", "PUT", "regions/{region}", {"region": {}}, 409, ("{region}",)),
    # unknown ids, for each resource type
    *[(f"unknown-{kind}-{method.lower()}", method, f"{kind}s/{{missing}}", body, 404,
       ("{missing}",))
      for kind, patch_body in (("project", {"project": {"description": "x"}}),
                               ("user", {"user": {"description": "x"}}),
                               ("group", {"group": {"description": "x"}}),
                               ("role", {"role": {"description": "x"}}),
                               ("domain", {"domain": {"description": "x"}}),
                               ("region", {"region": {"description": "x"}}),
                               ("service", {"service": {"description": "x"}}),
                               ("endpoint", {"endpoint": {"url": "http://x.example.org"}}))
      for method, body in (("GET", None), ("PATCH", patch_body), ("DELETE", None))],
    ("unknown-user-in-grant", "PUT", "projects/{project}/users/{missing}/roles/{member}",
     None, 404, ("{missing}",)),
    ("unknown-project-in-grant", "PUT", "projects/{missing}/users/{user}/roles/{member}",
     None, 404, ("{missing}",)),
    ("unknown-role-in-grant", "PUT", "projects/{project}/users/{user}/roles/{missing}",
     None, 404, ("{missing}",)),
    ("unknown-domain-in-grant", "PUT", "domains/{missing}/groups/{group}/roles/{member}",
     None, 404, ("{missing}",)),
    ("unknown-group-in-grant", "PUT", "domains/default/groups/{missing}/roles/{member}",
     None, 404, ("{missing}",)),
    ("revoke-absent-grant", "DELETE", "projects/{project}/users/{user}/roles/{member}",
     None, 404, ()),
    ("unknown-user-in-group", "PUT", "groups/{group}/users/{missing}", None, 404,
     ("{missing}",)),
    ("unknown-group-membership", "PUT", "groups/{missing}/users/{user}", None, 404,
     ("{missing}",)),
    ("remove-non-member", "DELETE", "groups/{group}/users/{user}", None, 404, ()),
    ("unknown-implied-role", "PUT", "roles/{role}/implies/{missing}", None, 404,
     ("{missing}",)),
    # Upstream's password change authenticates the user with the original
    # password first: an unknown user is a failed authentication (401).
    ("unknown-user-password", "POST", "users/{missing}/password",
     {"user": {"password": "a", "original_password": "b"}}, 401, ()),
    ("endpoint-unknown-service", "POST", "endpoints",
     {"endpoint": {"service_id": "{missing}", "interface": "public",
                   "url": "http://x.example.org"}}, 400, ("service_id",)),
    # A project in an unknown domain or under an unknown parent: upstream turns
    # the DomainNotFound/ProjectNotFound into a 400 (ValidationError).
    ("project-unknown-domain", "POST", "projects",
     {"project": {"name": "{uniq}", "domain_id": "{missing}"}}, 400, ("{missing}",)),
    ("project-unknown-parent", "POST", "projects",
     {"project": {"name": "{uniq}", "parent_id": "{missing}"}}, 400, ("{missing}",)),
    # ...but a user in an unknown domain is a 404 (Tempest checks it).
    ("user-unknown-domain", "POST", "users",
     {"user": {"name": "{uniq}", "domain_id": "{missing}"}}, 404, ("{missing}",)),
    # authentication failures
    ("auth-wrong-password", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": ["password"], "password": {"user": {
         "id": "{user}", "password": "wrong"}}}}}, 401, ()),
    ("auth-unknown-user", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": ["password"], "password": {"user": {
         "name": "{missing}", "domain": {"id": "default"}, "password": "pw"}}}}}, 401, ()),
    ("auth-unknown-project", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": ["password"], "password": {"user": {
         "id": "{user}", "password": "pw"}}}, "scope": {"project": {"id": "{missing}"}}}},
     401, ()),
    ("auth-no-role-on-project", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": ["password"], "password": {"user": {
         "id": "{user}", "password": "pw"}}}, "scope": {"project": {"id": "{project}"}}}},
     401, ()),
    # The token method validates the given token like GET /v3/auth/tokens does:
    # upstream lets that TokenNotFound through (404), it is not turned into 401.
    ("auth-garbage-token-method", "POST", "auth/tokens",
     {"auth": {"identity": {"methods": ["token"], "token": {"id": "garbage"}}}}, 404, ()),
    ("validate-garbage-subject", "GET", "auth/tokens", None, 404, ()),
]

# Which collection each case's resource lives in (for the "state unchanged" check).
COLLECTIONS = ("projects", "users", "groups", "roles", "domains", "regions", "services",
               "endpoints", "role_assignments", "role_inferences")


def collection_of(path: str) -> list[str]:
    first = path.split("/", 1)[0]
    if first in ("auth", "users"):
        return ["users", "role_assignments"]
    if "/roles/" in path or path.endswith("/roles"):
        return ["role_assignments"]
    if first == "groups":
        return ["groups", "users"]
    return [first if first in COLLECTIONS else "projects"]


def state(api, collections: list[str]) -> dict:
    out = {}
    for c in collections:
        body = ok(api.get(c))
        body.pop("links", None)
        out[c] = body
    return out


def fmt(value, subs: dict):
    if isinstance(value, str):
        return value.format(**subs)
    if isinstance(value, dict):
        return {fmt(k, subs): fmt(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [fmt(v, subs) for v in value]
    if isinstance(value, tuple):
        return tuple(fmt(v, subs) for v in value)
    return value


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(live_cloud: Cloud, existing: Existing, api, case: Case):
    case_id, method, path, body, status, mentions = case
    e = existing
    subs = dict(project=e.project["id"], other_project=e.other_project["id"],
                user=e.user["id"], other_user=e.other_user["id"], group=e.group["id"],
                other_group=e.other_group["id"], role=e.role["id"],
                other_role=e.other_role["id"],
                domain=e.domain["id"], region=e.region["id"], service=e.service["id"],
                endpoint=e.endpoint["id"], member=e.member_role, missing=MISSING,
                project_name=e.project["name"], user_name=e.user["name"],
                group_name=e.group["name"], role_name=e.role["name"],
                domain_name=e.domain["name"], uniq=unique("bad"))
    path, mentions = fmt(path, subs), fmt(mentions, subs)
    kwargs: dict = {"headers": {"Content-Type": "application/json"}}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["content"] = json.dumps(fmt(body, subs)).encode()
    if case_id == "validate-garbage-subject":
        kwargs["headers"]["X-Subject-Token"] = "gAAAAABgarbage"
    watched = collection_of(path)
    before = state(api, watched)
    r = api.request(method, path, **kwargs)
    err = assert_error(r, status)
    for m in mentions:
        options = m if isinstance(m, tuple) else (m,)
        assert any(o.lower() in err["message"].lower() for o in options), \
            f"{case_id}: message does not name {options}: {err['message']!r}"
    assert state(api, watched) == before, f"{case_id}: {method} {path} changed {watched}"


def test_unknown_attributes_inside_the_entity_are_kept(live_cloud: Cloud, api):
    """Not bad input: Keystone stores attributes it does not know inside a
    project or user as extra attributes and returns them (Tempest relies on
    ``email``)."""
    name = unique("extra")
    body = ok(api.post("projects", json={"project": {"name": name, "colour": "blue"}}),
              201)["project"]
    assert body["name"] == name and body["colour"] == "blue"
    assert ok(api.get(f"projects/{body['id']}"))["project"]["colour"] == "blue"
    u = ok(api.post("users", json={"user": {"name": name, "email": "e@example.org"}}),
           201)["user"]
    assert ok(api.get(f"users/{u['id']}"))["user"]["email"] == "e@example.org"
    ok(api.delete(f"projects/{body['id']}"), 204)
    ok(api.delete(f"users/{u['id']}"), 204)


def test_boundary_lengths_are_accepted(api):
    p = ok(api.post("projects", json={"project": {"name": "q" * 64}}), 201)["project"]
    u = ok(api.post("users", json={"user": {"name": "v" * 255}}), 201)["user"]
    ok(api.delete(f"projects/{p['id']}"), 204)
    ok(api.delete(f"users/{u['id']}"), 204)


@pytest.mark.parametrize("token,status", [
    (None, 401), ("", 401), ("garbage", 401), ("gAAAAABnot-a-real-fernet-token", 401),
    ("x" * 10000, 401)], ids=["none", "empty", "garbage", "fake-fernet", "huge"])
def test_bad_tokens_are_401(live_cloud: Cloud, token, status):
    headers = {} if token is None else {"X-Auth-Token": token}
    with httpx.Client(base_url=live_cloud.url + "/", trust_env=False, timeout=30) as http:
        for path in ("projects", "auth/projects", "users/whatever"):
            assert_error(http.get(path, headers=headers), status)


def test_missing_role_is_403(live_cloud: Cloud, api):
    """A member (no admin role) asking for an admin action: 403, nothing changes."""
    demo = live_cloud.token("demo", live_cloud.demo_password, project="demo")
    before = state(api, ["projects", "users"])
    with live_cloud.http(demo) as http:
        err = assert_error(http.post("projects", json={"project": {"name": unique("x")}}), 403)
        assert "create_project" in err["message"] or "authorized" in err["message"]
        assert_error(http.delete("users/" + ok(api.get("users", params={"name": "admin"}))
                                 ["users"][0]["id"]), 403)
    assert state(api, ["projects", "users"]) == before


def test_a_token_from_a_tampered_fernet_token_is_401(live_cloud: Cloud):
    token = live_cloud.token("demo", live_cloud.demo_password, project="demo")
    # Flip one character in the middle of the ciphertext.
    i = len(token) // 2
    bad = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    with live_cloud.http(bad) as http:
        assert_error(http.get("auth/projects"), 401)
    with live_cloud.http(token) as http:
        assert ok(http.get("auth/projects"))["projects"]


# -- token lifecycle ---------------------------------------------------------------------
# Each on a server of its own (``private_cloud``): these tests use revoked and
# invalidated tokens on purpose, and a server that mishandles them must not
# take the other tests down with it.
def member_with_token(cloud: Cloud, api, tag: str) -> tuple[dict, dict, str, str]:
    """A new project, a member of it with a password, and a token scoped to it."""
    p = ok(api.post("projects", json={"project": {"name": unique(tag)}}), 201)["project"]
    password = unique("pw")
    u = ok(api.post("users", json={"user": {"name": unique(tag), "password": password}}),
           201)["user"]
    member = ok(api.get("roles", params={"name": "member"}))["roles"][0]["id"]
    ok(api.put(f"projects/{p['id']}/users/{u['id']}/roles/{member}"), 204)
    return p, u, password, cloud.token(u["name"], password, project_id=p["id"])


def test_revoked_token_rejected_immediately(private_cloud: Cloud):
    cloud = private_cloud
    with cloud.admin_http() as api:
        _, u, password, token = member_with_token(cloud, api, "revoke")
        other = cloud.token(u["name"], password)          # unscoped, same user
        with cloud.http(token) as http:
            assert ok(http.get("auth/projects"))["projects"]     # validated and cached
            r = api.delete("auth/tokens", headers={"X-Subject-Token": token})
            assert r.status_code == 204, r.text
            assert_error(http.get("auth/projects"), 401)         # at once
            assert_error(http.get(f"users/{u['id']}"), 401)
        assert_error(api.get("auth/tokens", headers={"X-Subject-Token": token}), 404)
        r = api.head("auth/tokens", headers={"X-Subject-Token": token})
        assert r.status_code == 404
        # Revoking one token leaves the user's other tokens alone.
        with cloud.http(other) as http:
            assert ok(http.get("auth/projects"))["projects"]
        # A user may revoke their own token.
        with cloud.http(other) as http:
            r = http.delete("auth/tokens", headers={"X-Subject-Token": other})
            assert r.status_code == 204, r.text
            assert_error(http.get("auth/projects"), 401)


def test_password_change_revokes_previous_tokens(private_cloud: Cloud):
    cloud = private_cloud
    with cloud.admin_http() as api:
        p, u, password, scoped = member_with_token(cloud, api, "pwchange")
        unscoped = cloud.token(u["name"], password)
        with cloud.http(scoped) as http:
            assert ok(http.get("auth/projects"))["projects"]
            r = http.post(f"users/{u['id']}/password", json={
                "user": {"original_password": password, "password": "changed-1"}})
            assert r.status_code == 204, r.text
            assert_error(http.get("auth/projects"), 401)
        with cloud.http(unscoped) as http:
            assert_error(http.get("auth/projects"), 401)
        assert cloud.auth(u["name"], password, project_id=p["id"]).status_code == 401
        fresh = cloud.token(u["name"], "changed-1", project_id=p["id"])
        with cloud.http(fresh) as http:
            assert ok(http.get("auth/projects"))["projects"]
        # An administrator's reset (PATCH) revokes them too.
        ok(api.patch(f"users/{u['id']}", json={"user": {"password": "changed-2"}}))
        with cloud.http(fresh) as http:
            assert_error(http.get("auth/projects"), 401)
        assert cloud.auth(u["name"], "changed-2", project_id=p["id"]).status_code == 201


def test_disabling_a_project_makes_its_tokens_fail(private_cloud: Cloud):
    cloud = private_cloud
    with cloud.admin_http() as api:
        p, u, password, scoped = member_with_token(cloud, api, "disable")
        unscoped = cloud.token(u["name"], password)
        with cloud.http(scoped) as http:
            assert ok(http.get(f"projects/{p['id']}"))["project"]["enabled"] is True
            ok(api.patch(f"projects/{p['id']}", json={"project": {"enabled": False}}))
            assert_error(http.get(f"projects/{p['id']}"), 401)
            assert_error(http.get("auth/projects"), 401)
        assert_error(api.get("auth/tokens", headers={"X-Subject-Token": scoped}), 404)
        assert_error(cloud.auth(u["name"], password, project_id=p["id"]), 401)
        # The user's unscoped token is unaffected, and lists no disabled project.
        with cloud.http(unscoped) as http:
            assert ok(http.get("auth/projects"))["projects"] == []
        # Enabled again, new tokens work.
        ok(api.patch(f"projects/{p['id']}", json={"project": {"enabled": True}}))
        assert cloud.auth(u["name"], password, project_id=p["id"]).status_code == 201


def test_disabling_a_user_makes_their_tokens_fail(private_cloud: Cloud):
    cloud = private_cloud
    with cloud.admin_http() as api:
        p, u, password, scoped = member_with_token(cloud, api, "udisable")
        ok(api.patch(f"users/{u['id']}", json={"user": {"enabled": False}}))
        with cloud.http(scoped) as http:
            assert_error(http.get("auth/projects"), 401)
        assert_error(cloud.auth(u["name"], password, project_id=p["id"]), 401)


# -- expiry, on a server whose tokens live 2 seconds ---------------------------------------
def test_expired_token_is_401(stratus_servers):
    cloud = stratus_servers.start(extra_conf="[token]\nexpiration = 2\n")
    r = cloud.auth("demo", cloud.demo_password, project="demo")
    assert r.status_code == 201, r.text
    token = r.headers["X-Subject-Token"]
    expires = r.json()["token"]["expires_at"]
    issued = r.json()["token"]["issued_at"]
    assert expires > issued
    with cloud.http(token) as http:
        assert ok(http.get("auth/projects"))["projects"]
        time.sleep(2.5)
        assert_error(http.get("auth/projects"), 401)
    admin = cloud.token("admin", cloud.admin_password, project="admin")
    with cloud.http(admin) as http:
        assert_error(http.get("auth/tokens", headers={"X-Subject-Token": token}), 404)
        # Services may still look at a recently expired token with allow_expired.
        r = http.get("auth/tokens", params={"allow_expired": "1"},
                     headers={"X-Subject-Token": token})
        assert r.status_code == 200, r.text
    # Rescoping an expired token fails too (upstream: the token method's
    # TokenNotFound, 404).
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    with cloud.http() as http:
        assert_error(http.post("auth/tokens", json=body), 404)


# -- key rotation and restart, on a server of this module's own --------------------------
@pytest.fixture(scope="module")
def lifecycle_cloud(module_servers) -> Cloud:
    return module_servers.start()


def primary_key(state_dir: Path) -> bytes:
    keys = state_dir / "fernet-keys"
    return (keys / str(max(int(n.name) for n in keys.iterdir() if n.name.isdigit()))
            ).read_bytes()


def test_fernet_key_rotation_keeps_tokens_valid(lifecycle_cloud: Cloud):
    from cryptography.fernet import Fernet, InvalidToken

    cloud = lifecycle_cloud
    old_admin = cloud.token("admin", cloud.admin_password, project="admin")
    old_demo = cloud.token("demo", cloud.demo_password, project="demo")
    old_primary = primary_key(cloud.state_dir)
    with cloud.http(old_demo) as http:
        assert ok(http.get("auth/projects"))["projects"]

    cp = cloud.stratus("identity", "rotate-keys")
    assert "rotated" in cp.stdout, cp.stdout
    new_primary = primary_key(cloud.state_dir)
    assert new_primary != old_primary

    # Tokens issued before the rotation still work (no restart needed).
    with cloud.http(old_demo) as http:
        assert ok(http.get("auth/projects"))["projects"]
    with cloud.http(old_admin) as http:
        ok(http.get("auth/tokens", headers={"X-Subject-Token": old_demo}))
    # New tokens work and are encrypted with the new primary key.
    new_demo = cloud.token("demo", cloud.demo_password, project="demo")
    with cloud.http(new_demo) as http:
        assert ok(http.get("auth/projects"))["projects"]
    padded = (new_demo + "=" * (-len(new_demo) % 4)).encode()
    Fernet(new_primary.strip()).decrypt(padded)
    with pytest.raises(InvalidToken):
        Fernet(old_primary.strip()).decrypt(padded)


def test_restart_keeps_all_data(lifecycle_cloud: Cloud):
    cloud = lifecycle_cloud
    with cloud.admin_http() as api:
        p = ok(api.post("projects", json={"project": {"name": unique("durable"),
                                                      "description": "kept",
                                                      "tags": ["t1"]}}), 201)["project"]
        u = ok(api.post("users", json={"user": {"name": unique("durable"),
                                                "password": "durable-pw",
                                                "email": "d@example.org"}}), 201)["user"]
        member = ok(api.get("roles", params={"name": "member"}))["roles"][0]["id"]
        ok(api.put(f"projects/{p['id']}/users/{u['id']}/roles/{member}"), 204)
        before = state(api, ["projects", "users", "groups", "roles", "domains", "regions",
                             "services", "endpoints", "role_assignments", "role_inferences"])
    user_token = cloud.token(u["name"], "durable-pw", project_id=p["id"])
    revoked = cloud.token(u["name"], "durable-pw", project_id=p["id"])
    with cloud.admin_http() as api:
        ok(api.delete("auth/tokens", headers={"X-Subject-Token": revoked}), 204)
    admin_password = cloud.admin_password

    cloud.server.restart()

    assert cloud.admin_password == admin_password
    # Old passwords still work: the bootstrap admin's and the new user's.
    with cloud.http(cloud.token("admin", admin_password, project="admin")) as api:
        assert state(api, list(before)) == before
        got = ok(api.get(f"projects/{p['id']}"))["project"]
        assert (got["name"], got["description"], got["tags"]) == (p["name"], "kept", ["t1"])
    assert cloud.auth(u["name"], "durable-pw", project_id=p["id"]).status_code == 201
    # Tokens survive the restart; revocations too.
    with cloud.http(user_token) as http:
        assert [x["id"] for x in ok(http.get("auth/projects"))["projects"]] == [p["id"]]
    with cloud.http(revoked) as http:
        assert_error(http.get("auth/projects"), 401)
    # The clouds.yaml written at first start still works with the real CLI.
    tok = cloud.openstack("token", "issue", cloud="stratus-demo")
    assert tok["id"]
