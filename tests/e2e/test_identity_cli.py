"""The Identity service tried as a new user would: the real ``openstack`` CLI
(and openstacksdk) against a live ``stratus up``, with the clouds.yaml it
writes.  Each test creates its own uniquely named resources.

The CLI costs about a second per command (Python start-up), so set-up and
checks that are not the point of a test go through the API directly, and
independent commands run concurrently."""
from __future__ import annotations

import pytest

from conftest import Cloud, assert_error, ok, unique

pytestmark = pytest.mark.e2e


def by(rows: list[dict], key: str, value) -> list[dict]:
    return [r for r in rows if r.get(key) == value]


def cli_fails(cloud: Cloud, *args, expect: str = "", **kw) -> str:
    """The command must fail (non-zero exit) and print ``expect`` on stderr."""
    cp = cloud.openstack(*args, check=False, json_out=False, **kw)
    assert cp.returncode != 0, f"`openstack {' '.join(args)}` succeeded: {cp.stdout}"
    assert expect.lower() in cp.stderr.lower(), cp.stderr
    return cp.stderr




def make_project(api, name: str, **extra) -> dict:
    return ok(api.post("projects", json={"project": {"name": name, **extra}}), 201)["project"]


def make_user(api, name: str, password: str, **extra) -> dict:
    return ok(api.post("users", json={"user": {"name": name, "password": password,
                                                **extra}}), 201)["user"]


def role_id(api, name: str) -> str:
    return ok(api.get("roles", params={"name": name}))["roles"][0]["id"]


# -- tokens and the catalog ----------------------------------------------------
def test_token_issue_and_catalog(live_cloud: Cloud, api):
    tok, catalog, demo_tok = live_cloud.openstack_many(
        ("token", "issue"), ("catalog", "list"), ("token", "issue", {"cloud": "stratus-demo"}))
    assert tok["id"] and tok["expires"]
    me = ok(api.get("auth/tokens", headers={"X-Subject-Token": tok["id"]}))["token"]
    assert me["user"]["id"] == tok["user_id"] and me["user"]["name"] == "admin"
    assert me["project"]["id"] == tok["project_id"] and me["project"]["name"] == "admin"
    assert {r["name"] for r in me["roles"]} >= {"admin", "member", "reader"}

    identity = by(catalog, "Type", "identity")
    assert len(identity) == 1, catalog
    public = [e for e in identity[0]["Endpoints"] if e["interface"] == "public"]
    assert public and public[0]["region"] == "RegionOne", identity
    assert public[0]["url"].startswith(live_cloud.base_url), identity

    demo = ok(api.get("auth/tokens", headers={"X-Subject-Token": demo_tok["id"]}))["token"]
    assert demo["project"]["name"] == "demo" and demo["user"]["name"] == "demo"
    assert demo_tok["project_id"] == demo["project"]["id"]


# -- projects ------------------------------------------------------------------
def test_project_lifecycle_and_hierarchy(live_cloud: Cloud, api):
    name, parent_name, child_name = unique("proj"), unique("parent"), unique("child")
    created, parent = live_cloud.openstack_many(
        ("project", "create", "--description", "first", "--domain", "default", name),
        ("project", "create", "--description", "a parent", parent_name))
    assert created["name"] == name and created["description"] == "first"
    assert created["enabled"] is True and created["domain_id"] == "default"
    assert created["parent_id"] == "default"   # a top-level project's parent is its domain

    child = live_cloud.openstack("project", "create", "--parent", parent_name, child_name)
    assert child["parent_id"] == parent["id"] and child["domain_id"] == "default"

    listed = live_cloud.openstack("project", "list")
    assert {name, parent_name, child_name} <= {p["Name"] for p in listed}
    assert by(listed, "Name", name)[0]["ID"] == created["id"]

    new_name = unique("renamed")
    live_cloud.openstack("project", "set", "--name", new_name, "--description", "second",
                         "--disable", name, json_out=False)
    shown = live_cloud.openstack("project", "show", created["id"])
    assert (shown["name"], shown["description"], shown["enabled"]) == (new_name, "second", False)
    subtree = ok(api.get("projects", params={"parent_id": parent["id"]}))["projects"]
    assert [p["id"] for p in subtree] == [child["id"]]

    # A parent with children cannot be deleted (upstream: 403, not a leaf).
    cli_fails(live_cloud, "project", "delete", parent["id"], expect="leaf")

    live_cloud.openstack("project", "delete", child["id"], parent["id"], new_name,
                         json_out=False)
    for p in (created, parent, child):
        assert_error(api.get(f"projects/{p['id']}"), 404, p["id"])
    remaining = {p["id"] for p in ok(api.get("projects"))["projects"]}
    assert not remaining & {created["id"], parent["id"], child["id"]}


# -- users ---------------------------------------------------------------------
def test_user_lifecycle(live_cloud: Cloud, api):
    project, name = unique("uproj"), unique("user")
    p = make_project(api, project)
    u = live_cloud.openstack("user", "create", "--domain", "default", "--password", "pw-one",
                             "--email", "one@example.org", "--project", project,
                             "--description", "a user", name)
    assert u["name"] == name and u["enabled"] is True and u["domain_id"] == "default"
    assert u["email"] == "one@example.org" and u["default_project_id"] == p["id"]
    assert "password" not in u
    ok(api.put(f"projects/{p['id']}/users/{u['id']}/roles/{role_id(api, 'member')}"), 204)
    # The password works; without a scope the token is scoped to the default project.
    r = live_cloud.auth(name, "pw-one")
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"]["id"] == p["id"]

    live_cloud.openstack("user", "set", "--password", "pw-two", name, json_out=False)
    assert live_cloud.auth(name, "pw-one", project=project).status_code == 401
    assert live_cloud.auth(name, "pw-two", project=project).status_code == 201

    live_cloud.openstack("user", "set", "--email", "two@example.org", "--disable", name,
                         json_out=False)
    shown = live_cloud.openstack("user", "show", name)
    assert shown["enabled"] is False and shown["email"] == "two@example.org"
    assert shown["id"] == u["id"] and shown["description"] == "a user"
    assert "password" not in shown
    assert live_cloud.auth(name, "pw-two", project=project).status_code == 401

    live_cloud.openstack("user", "delete", name, json_out=False)
    assert_error(api.get(f"users/{u['id']}"), 404, u["id"])
    assert name not in {x["name"] for x in ok(api.get("users"))["users"]}
    ok(api.delete(f"projects/{p['id']}"), 204)


def test_user_changes_own_password_with_own_clouds_yaml(live_cloud: Cloud, api):
    project, name = unique("pwproj"), unique("pwuser")
    p = make_project(api, project)
    u = make_user(api, name, "old-secret", default_project_id=p["id"])
    ok(api.put(f"projects/{p['id']}/users/{u['id']}/roles/{role_id(api, 'member')}"), 204)

    cfg = live_cloud.write_clouds_yaml("me", name, "old-secret", project)
    before = live_cloud.openstack("token", "issue", cloud="me", config=cfg)
    assert before["user_id"] == u["id"] and before["project_id"] == p["id"]

    live_cloud.openstack("user", "password", "set", "--original-password", "old-secret",
                         "--password", "new-secret", cloud="me", config=cfg, json_out=False)

    # The old clouds.yaml (old password) no longer works; a clouds.yaml with the
    # new password does.
    new_cfg = live_cloud.write_clouds_yaml("me2", name, "new-secret", project)
    old, after = live_cloud.openstack_many(
        ("token", "issue", {"cloud": "me", "config": cfg, "check": False}),
        ("token", "issue", {"cloud": "me2", "config": new_cfg}))
    assert old.returncode != 0 and "401" in old.stderr, old.stderr
    assert after["user_id"] == u["id"]

    # A wrong original password is refused and changes nothing.
    cp = live_cloud.openstack("user", "password", "set", "--original-password", "wrong",
                              "--password", "third", cloud="me2", config=new_cfg,
                              check=False, json_out=False)
    assert cp.returncode != 0, cp.stdout
    assert live_cloud.auth(name, "new-secret", project=project).status_code == 201
    assert live_cloud.auth(name, "third", project=project).status_code == 401
    ok(api.delete(f"users/{u['id']}"), 204)
    ok(api.delete(f"projects/{p['id']}"), 204)


# -- groups and role assignments -------------------------------------------------
def test_groups_and_role_assignments(live_cloud: Cloud, api):
    project, user, group, dom = unique("raproj"), unique("rauser"), unique("ragroup"), \
        unique("radom")
    p = make_project(api, project)
    u = make_user(api, user, "pw")
    d = ok(api.post("domains", json={"domain": {"name": dom}}), 201)["domain"]

    g = live_cloud.openstack("group", "create", "--description", "testers", group)
    assert g["name"] == group and g["domain_id"] == "default"
    live_cloud.openstack("group", "add", "user", group, user, json_out=False)
    out = live_cloud.openstack("group", "contains", "user", group, user, json_out=False)
    assert f"{user} in group {group}" in out
    members = ok(api.get(f"groups/{g['id']}/users"))["users"]
    assert [m["id"] for m in members] == [u["id"]]

    live_cloud.openstack_many(
        ("role", "add", "--user", user, "--project", project, "member"),
        ("role", "add", "--user", user, "--domain", dom, "reader"),
        ("role", "add", "--group", group, "--project", project, "reader"),
        ("role", "add", "--group", group, "--domain", dom, "member"),
        json_out=False)

    direct, effective, on_project = live_cloud.openstack_many(
        ("role", "assignment", "list", "--names", "--user", user),
        ("role", "assignment", "list", "--names", "--effective", "--user", user,
         "--project", project),
        ("role", "assignment", "list", "--names", "--project", project))
    qualified_user, qualified_project = f"{user}@Default", f"{project}@Default"
    assert sorted((a["Role"], a["Project"], a["Domain"]) for a in direct) == sorted([
        ("member", qualified_project, ""), ("reader", "", dom)]), direct
    assert all(a["User"] == qualified_user and a["Group"] == "" for a in direct), direct
    # Effective: the user's own member role, the reader role it implies and the
    # group's reader role, all attributed to the user; no group rows.
    assert {a["Role"] for a in effective} == {"member", "reader"}, effective
    assert all(a["User"] == qualified_user and a["Group"] == "" and
               a["Project"] == qualified_project for a in effective), effective
    assert sorted((a["Role"], a["User"], a["Group"]) for a in on_project) == sorted([
        ("member", qualified_user, ""), ("reader", "", f"{group}@Default")]), on_project

    # The roles land in the user's tokens.
    r = live_cloud.auth(user, "pw", project=project)
    assert r.status_code == 201, r.text
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"member", "reader"}
    r = live_cloud.auth(user, "pw", domain=d["id"])
    assert r.status_code == 201, r.text
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"member", "reader"}

    live_cloud.openstack_many(
        ("role", "remove", "--user", user, "--project", project, "member"),
        ("role", "remove", "--user", user, "--domain", dom, "reader"),
        ("role", "remove", "--group", group, "--project", project, "reader"),
        ("role", "remove", "--group", group, "--domain", dom, "member"),
        json_out=False)
    for q in ({"user.id": u["id"]}, {"scope.project.id": p["id"]}, {"group.id": g["id"]}):
        assert ok(api.get("role_assignments", params=q))["role_assignments"] == [], q
    assert live_cloud.auth(user, "pw", project=project).status_code == 401

    live_cloud.openstack("group", "remove", "user", group, user, json_out=False)
    cp = live_cloud.openstack("group", "contains", "user", group, user, json_out=False,
                              check=False)
    assert f"{user} not in group {group}" in cp.stdout + cp.stderr, cp
    assert ok(api.get(f"groups/{g['id']}/users"))["users"] == []

    ok(api.delete(f"groups/{g['id']}"), 204)
    ok(api.delete(f"users/{u['id']}"), 204)
    ok(api.delete(f"projects/{p['id']}"), 204)
    ok(api.patch(f"domains/{d['id']}", json={"domain": {"enabled": False}}))
    ok(api.delete(f"domains/{d['id']}"), 204)


# -- domains -------------------------------------------------------------------
def test_domain_lifecycle(live_cloud: Cloud, api):
    name = unique("dom")
    d = live_cloud.openstack("domain", "create", "--description", "team", name)
    assert d["name"] == name and d["enabled"] is True and d["description"] == "team"
    # An enabled domain cannot be deleted (upstream: 403).
    cli_fails(live_cloud, "domain", "delete", name, expect="disable")
    live_cloud.openstack("domain", "set", "--disable", name, json_out=False)
    assert ok(api.get(f"domains/{d['id']}"))["domain"]["enabled"] is False
    live_cloud.openstack("domain", "delete", name, json_out=False)
    assert_error(api.get(f"domains/{d['id']}"), 404, d["id"])
    assert name not in {x["name"] for x in ok(api.get("domains"))["domains"]}


# -- regions, services, endpoints ------------------------------------------------
def test_region_service_endpoint(live_cloud: Cloud, api):
    region, svc_name = unique("Region"), unique("svc")
    r, s = live_cloud.openstack_many(
        ("region", "create", "--description", "second region", region),
        ("service", "create", "--name", svc_name, "--description", "test service", "compute"))
    assert r["region"] == region and r["description"] == "second region"
    assert s["name"] == svc_name and s["type"] == "compute" and s["enabled"] is True
    regions = live_cloud.openstack("region", "list")
    assert {region, "RegionOne"} <= {x["Region"] for x in regions}

    url = "http://compute.example.org:8774/v2.1"
    ep = live_cloud.openstack("endpoint", "create", "--region", region, svc_name, "public", url)
    assert (ep["url"], ep["interface"], ep["region"], ep["service_id"]) == \
        (url, "public", region, s["id"])
    listed = live_cloud.openstack("endpoint", "list", "--service", svc_name)
    assert [(e["ID"], e["URL"], e["Region"], e["Interface"]) for e in listed] == \
        [(ep["id"], url, region, "public")]
    catalog = ok(api.get("auth/catalog"))["catalog"]
    assert [e["url"] for c in catalog if c["id"] == s["id"] for e in c["endpoints"]] == [url]

    # A region that endpoints refer to cannot be deleted (upstream: 403).
    cli_fails(live_cloud, "region", "delete", region)
    live_cloud.openstack("endpoint", "delete", ep["id"], json_out=False)
    assert_error(api.get(f"endpoints/{ep['id']}"), 404, ep["id"])
    live_cloud.openstack_many(("service", "delete", s["id"]), ("region", "delete", region),
                              json_out=False)
    assert_error(api.get(f"services/{s['id']}"), 404, s["id"])
    assert_error(api.get(f"regions/{region}"), 404, region)


# -- roles and implied roles ---------------------------------------------------------
def test_roles_and_implied_roles(live_cloud: Cloud, api):
    role, project, user = unique("role"), unique("rproj"), unique("ruser")
    p, u = make_project(api, project), make_user(api, user, "pw")
    r = live_cloud.openstack("role", "create", "--description", "custom", role)
    assert r["name"] == role
    imp = live_cloud.openstack("implied", "role", "create", "--implied-role", "reader", role)
    assert (imp["prior_role"], imp["implies"]) == (r["id"], role_id(api, "reader"))
    rules = live_cloud.openstack("implied", "role", "list")
    pairs = {(x["Prior Role Name"], x["Implied Role Name"]) for x in rules}
    # Bootstrap's admin => member => reader, and the new rule.
    assert {("admin", "member"), ("member", "reader"), (role, "reader")} <= pairs

    # A token for a user holding the new role carries the implied role too.
    ok(api.put(f"projects/{p['id']}/users/{u['id']}/roles/{r['id']}"), 204)
    tok = live_cloud.auth(user, "pw", project=project)
    assert tok.status_code == 201, tok.text
    assert {x["name"] for x in tok.json()["token"]["roles"]} == {role, "reader"}

    live_cloud.openstack("role", "delete", role, json_out=False)
    assert_error(api.get(f"roles/{r['id']}"), 404, r["id"])
    assert role not in {x["name"] for x in ok(api.get("roles"))["roles"]}
    assert r["id"] not in {x["prior_role"]["id"]
                           for x in ok(api.get("role_inferences"))["role_inferences"]}
    # Deleting the role removed its assignment: the user has no access any more.
    assert live_cloud.auth(user, "pw", project=project).status_code == 401
    ok(api.delete(f"users/{u['id']}"), 204)
    ok(api.delete(f"projects/{p['id']}"), 204)


# -- openstacksdk ------------------------------------------------------------------
# (openstacksdk's own deprecation warnings are not ours to act on)
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning",
                            "ignore::DeprecationWarning")
def test_openstacksdk_project_user_role(live_cloud: Cloud):
    import openstack.exceptions

    conn = live_cloud.sdk("stratus")
    name, uname = unique("sdkproj"), unique("sdkuser")
    p = conn.identity.create_project(name=name, description="from sdk", domain_id="default")
    assert conn.identity.get_project(p.id).name == name
    conn.identity.update_project(p, description="updated")
    assert conn.identity.get_project(p.id).description == "updated"
    assert name in {x.name for x in conn.identity.projects()}

    u = conn.identity.create_user(name=uname, password="sdk-pw", default_project_id=p.id,
                                  email="sdk@example.org", domain_id="default")
    assert conn.identity.find_user(uname).id == u.id
    member = conn.identity.find_role("member")
    conn.identity.assign_project_role_to_user(p, u, member)
    assert conn.identity.validate_user_has_project_role(p, u, member)

    cfg = live_cloud.write_clouds_yaml("sdkuser", uname, "sdk-pw", name)
    user_conn = live_cloud.sdk("sdkuser", cfg)
    assert user_conn.current_project_id == p.id
    assert user_conn.current_user_id == u.id
    # A member cannot create projects (403).
    with pytest.raises(openstack.exceptions.ForbiddenException):
        user_conn.identity.create_project(name=unique("nope"))

    conn.identity.unassign_project_role_from_user(p, u, member)
    assert not conn.identity.validate_user_has_project_role(p, u, member)
    conn.identity.delete_user(u)
    conn.identity.delete_project(p)
    assert conn.identity.find_project(name) is None
    assert conn.identity.find_user(uname) is None

    # The system-scoped cloud from clouds.yaml reads the catalog.
    system = live_cloud.sdk("stratus-system")
    assert "identity" in {s.type for s in system.identity.services()}
    assert "RegionOne" in {r.id for r in system.identity.regions()}


# -- token revocation (on a server of its own: it uses a revoked token) ------------------
def test_token_revoke(private_cloud: Cloud):
    cloud = private_cloud
    tok = cloud.openstack("token", "issue", cloud="stratus-demo")
    with cloud.http(tok["id"]) as http:
        assert ok(http.get("auth/projects"))["projects"]
        cloud.openstack("token", "revoke", tok["id"], json_out=False)
        assert_error(http.get("auth/projects"), 401)
    # Validating the revoked token: 404, as upstream.
    with cloud.admin_http() as api:
        assert_error(api.get("auth/tokens", headers={"X-Subject-Token": tok["id"]}), 404)
    # The user can still get a new token.
    assert cloud.openstack("token", "issue", cloud="stratus-demo")["id"] != tok["id"]
