"""Role-based access control of the Identity API, as upstream Keystone's
default policy decides it (``[oslo_policy] enforce_scope = False``):

* a member of project A sees and changes nothing of project B;
* a reader (only ``reader`` on A) writes nothing but reads A;
* non-admins create no users or roles;
* a user changes only their own password and reads only their own record.

Raw HTTP with each persona's own token, so the status codes are exact."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from conftest import Cloud, assert_error, ok, unique

pytestmark = pytest.mark.e2e


@dataclass
class Persona:
    id: str
    name: str
    password: str
    project: dict | None = None
    token: str | None = None


@dataclass
class World:
    a: dict           # project A
    b: dict           # project B
    member_a: Persona
    member_b: Persona
    reader_a: Persona
    roles: dict       # name -> id



def new_persona(cloud: Cloud, api, project: dict, role_id: str, tag: str) -> Persona:
    name, password = unique(tag), f"pw-{unique('x')}"
    u = ok(api.post("users", json={"user": {"name": name, "password": password,
                                            "default_project_id": project["id"]}}), 201)
    uid = u["user"]["id"]
    ok(api.put(f"projects/{project['id']}/users/{uid}/roles/{role_id}"), 204)
    p = Persona(uid, name, password, project)
    p.token = cloud.token(name, password, project_id=project["id"])
    return p


@pytest.fixture(scope="module")
def world(live_cloud: Cloud) -> World:
    with live_cloud.admin_http() as api:
        roles = {r["name"]: r["id"] for r in ok(api.get("roles"))["roles"]}
        a = ok(api.post("projects", json={"project": {"name": unique("rbac-A"),
                                                      "tags": ["a"]}}), 201)["project"]
        b = ok(api.post("projects", json={"project": {"name": unique("rbac-B"),
                                                      "description": "B's",
                                                      "tags": ["b"]}}), 201)["project"]
        return World(a=a, b=b, roles=roles,
                     member_a=new_persona(live_cloud, api, a, roles["member"], "member-a"),
                     member_b=new_persona(live_cloud, api, b, roles["member"], "member-b"),
                     reader_a=new_persona(live_cloud, api, a, roles["reader"], "reader-a"))



def snapshot(api, w: World) -> dict:
    """What the personas must not be able to change."""
    def assignments(**q):
        rows = ok(api.get("role_assignments", params=q))["role_assignments"]
        return sorted((x["role"]["id"], x.get("user", {}).get("id"), x.get("group", {}).get("id"),
                       str(x["scope"])) for x in rows)
    out = {}
    for key, p in (("a", w.a), ("b", w.b)):
        body = ok(api.get(f"projects/{p['id']}"))["project"]
        body.pop("links", None)
        out[key] = body
        out[f"{key}-assignments"] = assignments(**{"scope.project.id": p["id"]})
    for persona in (w.member_a, w.member_b, w.reader_a):
        u = ok(api.get(f"users/{persona.id}"))["user"]
        u.pop("links", None)
        out[persona.name] = u
        out[f"{persona.name}-assignments"] = assignments(**{"user.id": persona.id})
    out["projects"] = sorted(p["id"] for p in ok(api.get("projects"))["projects"])
    out["users"] = sorted(u["id"] for u in ok(api.get("users"))["users"])
    out["groups"] = sorted(g["id"] for g in ok(api.get("groups"))["groups"])
    out["roles"] = sorted(r["id"] for r in ok(api.get("roles"))["roles"])
    out["domains"] = sorted(d["id"] for d in ok(api.get("domains"))["domains"])
    return out


# -- a member of A against project B -----------------------------------------------
# (id, method, path template, json body, expected status)
CROSS_PROJECT = [
    ("show-B", "GET", "projects/{b}", None, 403),
    ("update-B", "PATCH", "projects/{b}", {"project": {"description": "mine now"}}, 403),
    ("disable-B", "PATCH", "projects/{b}", {"project": {"enabled": False}}, 403),
    ("delete-B", "DELETE", "projects/{b}", None, 403),
    ("B-tags", "GET", "projects/{b}/tags", None, 403),
    ("tag-B", "PUT", "projects/{b}/tags/owned", None, 403),
    ("B-assignments", "GET", "role_assignments?scope.project.id={b}", None, 403),
    ("B-grants-of-member-B", "GET", "projects/{b}/users/{member_b}/roles", None, 403),
    ("check-B-grant", "HEAD", "projects/{b}/users/{member_b}/roles/{member}", None, 403),
    ("grant-self-member-on-B", "PUT", "projects/{b}/users/{me}/roles/{member}", None, 403),
    ("grant-self-admin-on-B", "PUT", "projects/{b}/users/{me}/roles/{admin}", None, 403),
    ("grant-self-admin-on-A", "PUT", "projects/{a}/users/{me}/roles/{admin}", None, 403),
    ("revoke-member-B", "DELETE", "projects/{b}/users/{member_b}/roles/{member}", None, 403),
    ("show-user-of-B", "GET", "users/{member_b}", None, 403),
    ("update-user-of-B", "PATCH", "users/{member_b}", {"user": {"email": "x@example.org"}}, 403),
    ("disable-user-of-B", "PATCH", "users/{member_b}", {"user": {"enabled": False}}, 403),
    ("reset-password-of-B", "PATCH", "users/{member_b}", {"user": {"password": "owned"}}, 403),
    ("delete-user-of-B", "DELETE", "users/{member_b}", None, 403),
    ("projects-of-user-of-B", "GET", "users/{member_b}/projects", None, 403),
    ("groups-of-user-of-B", "GET", "users/{member_b}/groups", None, 403),
    ("list-all-projects", "GET", "projects", None, 403),
    ("list-all-users", "GET", "users", None, 403),
    ("list-all-assignments", "GET", "role_assignments", None, 403),
]


@pytest.mark.parametrize("case", CROSS_PROJECT, ids=[c[0] for c in CROSS_PROJECT])
def test_member_of_a_cannot_touch_project_b(live_cloud: Cloud, world: World, api, case):
    _, method, path, body, status = case
    w = world
    path = path.format(a=w.a["id"], b=w.b["id"], me=w.member_a.id, member_b=w.member_b.id,
                       member=w.roles["member"], admin=w.roles["admin"])
    before = snapshot(api, w)
    with live_cloud.http(w.member_a.token) as http:
        r = http.request(method, path, json=body)
    if method == "HEAD":
        assert r.status_code == status, f"HEAD {path} -> {r.status_code}"
    else:
        assert_error(r, status)
    assert snapshot(api, w) == before, f"{method} {path} changed something"


def test_member_of_a_cannot_get_a_token_for_b(live_cloud: Cloud, world: World):
    w = world
    # Password authentication scoped to B.
    r = live_cloud.auth(w.member_a.name, w.member_a.password, project_id=w.b["id"])
    assert_error(r, 401)
    r = live_cloud.auth(w.member_a.name, w.member_a.password, project=w.b["name"])
    assert_error(r, 401)
    # Rescoping A's token to B.
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": w.member_a.token}},
                     "scope": {"project": {"id": w.b["id"]}}}}
    with live_cloud.http() as http:
        r = http.post("auth/tokens", json=body)
    assert_error(r, 401)
    # B's member's token is not visible to A's member.
    with live_cloud.http(w.member_a.token) as http:
        r = http.get("auth/tokens", headers={"X-Subject-Token": w.member_b.token})
    assert_error(r, 403)


def test_member_listings_never_show_project_b(live_cloud: Cloud, world: World):
    w = world
    with live_cloud.http(w.member_a.token) as http:
        mine = ok(http.get("auth/projects"))["projects"]
        assert [p["id"] for p in mine] == [w.a["id"]]
        mine = ok(http.get(f"users/{w.member_a.id}/projects"))["projects"]
        assert [p["id"] for p in mine] == [w.a["id"]]
        assert ok(http.get("auth/domains"))["domains"] == []
        # The project A itself is readable by its member.
        assert ok(http.get(f"projects/{w.a['id']}"))["project"]["name"] == w.a["name"]
        catalog = ok(http.get("auth/catalog"))["catalog"]
        assert "identity" in {c["type"] for c in catalog}
        for path in ("projects", f"projects?name={w.b['name']}", "users", "groups",
                     "role_assignments", f"role_assignments?user.id={w.member_b.id}"):
            r = http.get(path)
            assert r.status_code < 500, f"GET {path} -> {r.status_code} {r.text}"
            assert w.b["id"] not in r.text, f"GET {path} shows project B to a member of A"
            assert_error(r, 403)   # upstream: listing is for admins and readers of the domain


# -- a reader of A ------------------------------------------------------------------
def _reader_writes(w: World) -> list[tuple[str, str, str, dict | None]]:
    return [
        ("create-project", "POST", "projects", {"project": {"name": unique("by-reader")}}),
        ("create-child-of-A", "POST", "projects",
         {"project": {"name": unique("by-reader"), "parent_id": w.a["id"]}}),
        ("create-user", "POST", "users", {"user": {"name": unique("by-reader")}}),
        ("create-group", "POST", "groups", {"group": {"name": unique("by-reader")}}),
        ("create-role", "POST", "roles", {"role": {"name": unique("by-reader")}}),
        ("create-domain", "POST", "domains", {"domain": {"name": unique("by-reader")}}),
        ("update-A", "PATCH", f"projects/{w.a['id']}", {"project": {"description": "r"}}),
        ("disable-A", "PATCH", f"projects/{w.a['id']}", {"project": {"enabled": False}}),
        ("delete-A", "DELETE", f"projects/{w.a['id']}", None),
        ("tag-A", "PUT", f"projects/{w.a['id']}/tags/reader", None),
        ("replace-A-tags", "PUT", f"projects/{w.a['id']}/tags", {"tags": []}),
        ("grant-self-member-on-A", "PUT",
         f"projects/{w.a['id']}/users/{w.reader_a.id}/roles/{w.roles['member']}", None),
        ("grant-other-reader-on-A", "PUT",
         f"projects/{w.a['id']}/users/{w.member_b.id}/roles/{w.roles['reader']}", None),
        ("grant-self-on-domain", "PUT",
         f"domains/default/users/{w.reader_a.id}/roles/{w.roles['reader']}", None),
        ("revoke-own-reader", "DELETE",
         f"projects/{w.a['id']}/users/{w.reader_a.id}/roles/{w.roles['reader']}", None),
        ("update-self", "PATCH", f"users/{w.reader_a.id}", {"user": {"email": "r@example.org"}}),
        ("create-region", "POST", "regions", {"region": {"id": unique("reader-region")}}),
        ("create-service", "POST", "services", {"service": {"type": "reader-svc"}}),
    ]


READER_WRITE_IDS = ["create-project", "create-child-of-A", "create-user", "create-group",
                    "create-role", "create-domain", "update-A", "disable-A", "delete-A",
                    "tag-A", "replace-A-tags", "grant-self-member-on-A",
                    "grant-other-reader-on-A", "grant-self-on-domain", "revoke-own-reader",
                    "update-self", "create-region", "create-service"]


@pytest.mark.parametrize("case_id", READER_WRITE_IDS)
def test_reader_cannot_write(live_cloud: Cloud, world: World, api, case_id):
    w = world
    case = {c[0]: c for c in _reader_writes(w)}[case_id]
    _, method, path, body = case
    before = snapshot(api, w)
    regions = ok(api.get("regions"))["regions"]
    services = ok(api.get("services"))["services"]
    with live_cloud.http(w.reader_a.token) as http:
        r = http.request(method, path, json=body)
    assert_error(r, 403)
    assert snapshot(api, w) == before, f"{method} {path} changed something"
    assert ok(api.get("regions"))["regions"] == regions
    assert ok(api.get("services"))["services"] == services


def test_reader_can_read_project_a(live_cloud: Cloud, world: World):
    w = world
    with live_cloud.http(w.reader_a.token) as http:
        me = ok(http.get("auth/tokens", headers={"X-Subject-Token": w.reader_a.token}))["token"]
        assert [r["name"] for r in me["roles"]] == ["reader"]
        p = ok(http.get(f"projects/{w.a['id']}"))["project"]
        assert (p["id"], p["name"]) == (w.a["id"], w.a["name"])
        assert ok(http.get(f"projects/{w.a['id']}/tags"))["tags"] == ["a"]
        assert [x["id"] for x in ok(http.get("auth/projects"))["projects"]] == [w.a["id"]]
        assert ok(http.get(f"users/{w.reader_a.id}"))["user"]["name"] == w.reader_a.name
        # ...but not project B.
        assert_error(http.get(f"projects/{w.b['id']}"), 403)


# -- non-admins -----------------------------------------------------------------------
@pytest.mark.parametrize("who", ["member_a", "reader_a", "demo"])
def test_non_admin_cannot_create_users_or_roles(live_cloud: Cloud, world: World, api, who):
    token = (live_cloud.token("demo", live_cloud.demo_password, project="demo")
             if who == "demo" else getattr(world, who).token)
    users = sorted(u["id"] for u in ok(api.get("users"))["users"])
    roles = sorted(r["id"] for r in ok(api.get("roles"))["roles"])
    with live_cloud.http(token) as http:
        assert_error(http.post("users", json={"user": {"name": unique("nope"),
                                                       "password": "x"}}), 403)
        assert_error(http.post("users", json={"user": {"name": unique("nope"),
                                                       "domain_id": "default"}}), 403)
        assert_error(http.post("roles", json={"role": {"name": unique("nope")}}), 403)
        assert_error(http.post("roles", json={"role": {"name": unique("nope"),
                                                       "domain_id": "default"}}), 403)
        assert_error(http.put(f"roles/{world.roles['member']}/implies/"
                              f"{world.roles['reader']}"), 403)
        assert_error(http.patch(f"roles/{world.roles['reader']}",
                                json={"role": {"description": "x"}}), 403)
        assert_error(http.delete(f"roles/{world.roles['reader']}"), 403)
    assert sorted(u["id"] for u in ok(api.get("users"))["users"]) == users
    assert sorted(r["id"] for r in ok(api.get("roles"))["roles"]) == roles


# -- own records -------------------------------------------------------------------
def test_user_reads_own_record_not_anothers(live_cloud: Cloud, world: World):
    w = world
    with live_cloud.http(w.member_a.token) as http:
        me = ok(http.get(f"users/{w.member_a.id}"))["user"]
        assert (me["id"], me["name"]) == (w.member_a.id, w.member_a.name)
        assert "password" not in me
        assert ok(http.get(f"users/{w.member_a.id}/groups"))["groups"] == []
        assert_error(http.get(f"users/{w.member_b.id}"), 403)
        assert_error(http.get(f"users/{w.reader_a.id}"), 403)   # same project, still not


def test_user_changes_only_own_password(private_cloud: Cloud):
    """On a server of its own: the revoked token is used afterwards."""
    cloud = private_cloud
    with cloud.admin_http() as api:
        member = ok(api.get("roles", params={"name": "member"}))["roles"][0]["id"]
        project = ok(api.post("projects", json={"project": {"name": unique("pw")}}),
                     201)["project"]
        alice = new_persona(cloud, api, project, member, "alice")
        bob = new_persona(cloud, api, project, member, "bob")
        bob_before = ok(api.get(f"users/{bob.id}"))["user"]

    with cloud.http(alice.token) as http:
        # Not somebody else's password (upstream: 401, the original password is
        # wrong; a stricter policy may answer 403 first).
        r = http.post(f"users/{bob.id}/password",
                      json={"user": {"original_password": "guess", "password": "owned"}})
        assert r.status_code in (401, 403), r.text
        assert_error(r, r.status_code)
        # Not through the admin API either, not even one's own (update_user is
        # admin-only).
        assert_error(http.patch(f"users/{bob.id}", json={"user": {"password": "owned"}}), 403)
        assert_error(http.patch(f"users/{alice.id}", json={"user": {"password": "mine"}}), 403)
        # One's own, with the right original password.
        r = http.post(f"users/{alice.id}/password",
                      json={"user": {"original_password": alice.password,
                                     "password": "alice-new-pw"}})
        assert r.status_code == 204, r.text
        # The token that made the change is revoked with the others.
        assert_error(http.get("auth/projects"), 401)

    assert cloud.auth(alice.name, alice.password, project_id=project["id"]).status_code == 401
    assert cloud.auth(alice.name, "alice-new-pw", project_id=project["id"]).status_code == 201
    # Bob is untouched: same record, old password works, his token still valid.
    assert cloud.auth(bob.name, bob.password, project_id=project["id"]).status_code == 201
    assert cloud.auth(bob.name, "owned", project_id=project["id"]).status_code == 401
    with cloud.admin_http() as api:
        assert ok(api.get(f"users/{bob.id}"))["user"] == bob_before
    with cloud.http(bob.token) as http:
        assert ok(http.get("auth/projects"))["projects"]
