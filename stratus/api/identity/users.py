"""/v3/users: users, password change, a user's groups and projects."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.identity.projects import to_dict as project_dict
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import assignments, cleanup, compliance, tokens as tok
from stratus.identity.passwords import verify_password

routes = RouteTable()
PASSWORD = {"type": ["string", "null"], "maxLength": 4096}
OPTIONS = {"type": "object", "additionalProperties": {"type": ["boolean", "null", "array"]}}
CREATE = c.entity_schema({"name": c.NAME_255, "domain_id": c.ID, "password": PASSWORD,
                          "enabled": c.BOOL, "default_project_id": c.NULLABLE_ID,
                          "description": c.DESCRIPTION, "options": OPTIONS,
                          "federated": {"type": "array"}}, required=["name"])
UPDATE = c.entity_schema({"name": c.NAME_255, "domain_id": c.ID, "password": PASSWORD,
                          "enabled": c.BOOL, "default_project_id": c.NULLABLE_ID,
                          "description": c.DESCRIPTION, "options": OPTIONS},
                         min_properties=1)
CHANGE_PASSWORD = c.entity_schema({"password": {"type": "string", "maxLength": 4096},
                                   "original_password": {"type": "string", "maxLength": 4096}},
                                  required=["password", "original_password"], extra=False)
FIELDS = ("id", "name", "domain_id", "password", "enabled", "default_project_id",
          "description", "options", "links", "password_expires_at", "federated")


def to_dict(req, u: m.User) -> dict:
    d = {**(u.extra or {}), "id": u.id, "name": u.name, "domain_id": u.domain_id,
         "enabled": u.enabled, "options": u.options or {},
         "password_expires_at": tok.isotime(u.password_expires_at.replace(
             tzinfo=dt.timezone.utc).timestamp()) if u.password_expires_at else None,
         "links": c.link(req, f"/v3/users/{u.id}")}
    if u.default_project_id:
        d["default_project_id"] = u.default_project_id
    if u.description is not None:
        d["description"] = u.description
    return d


def _target(u: m.User) -> dict:
    return {"target": {"user": {"id": u.id, "domain_id": u.domain_id}}}


def _check_default_project(s, project_id: str | None, domain_id: str) -> None:
    if not project_id:
        return
    p = s.get(m.Project, project_id)
    if p is None or p.is_domain:
        raise errors.ValidationError(f"Invalid default_project_id {project_id}: no such project.")


@routes.post("/v3/users")
def create_user(req):
    ref = c.validate(req.json(), "user", CREATE)
    domain_id = ref.get("domain_id") or req.ctx.domain_id or req.conf.identity.default_domain_id
    req.authorize("identity:create_user", {"target": {"user": {"domain_id": domain_id}}})
    with req.db.session() as s:
        dom = s.get(m.Project, domain_id)
        if dom is None or not dom.is_domain:
            raise errors.NotFound(f"Could not find domain: {domain_id}.")
        _check_default_project(s, ref.get("default_project_id"), domain_id)
        u = m.User(id=c.new_id(), name=ref["name"], domain_id=domain_id,
                   enabled=ref.get("enabled", True),
                   default_project_id=ref.get("default_project_id"),
                   description=ref.get("description"), options=ref.get("options") or {},
                   extra=c.extra_of(ref, FIELDS))
        s.add(u)
        c.flush_unique(s, "user", ref["name"], domain_id)
        if ref.get("password") is not None:
            compliance.set_password(s, req.conf, u, ref["password"], by_admin=True)
        return 201, {"user": to_dict(req, u)}


@routes.get("/v3/users")
def list_users(req):
    req.authorize("identity:list_users", {"target": {"domain_id": req.ctx.domain_id}})
    with req.db.session() as s:
        q = c.apply_filters(select(m.User), m.User, req, ["name", "enabled", "domain_id"])
        return c.listing(req, "users", list(s.scalars(q.order_by(m.User.name))),
                         lambda u: to_dict(req, u))


def _get(s, req) -> m.User:
    return c.get_or_404(s, m.User, req.path_params["user_id"], "user")


@routes.get("/v3/users/{user_id}")
def get_user(req):
    with req.db.session() as s:
        u = _get(s, req)
        req.authorize("identity:get_user", _target(u))
        return {"user": to_dict(req, u)}


@routes.patch("/v3/users/{user_id}")
def update_user(req):
    ref = c.validate(req.json(), "user", UPDATE)
    with req.db.session() as s:
        u = _get(s, req)
        req.authorize("identity:update_user", _target(u))
        if "domain_id" in ref and ref["domain_id"] != u.domain_id:
            raise errors.ValidationError("Update of `domain_id` is not allowed.")
        for k in ("name", "description", "default_project_id"):
            if k in ref:
                setattr(u, k, ref[k])
        _check_default_project(s, ref.get("default_project_id"), u.domain_id)
        if "options" in ref:
            u.options = {k: v for k, v in {**(u.options or {}), **ref["options"]}.items()
                         if v is not None}
        if "enabled" in ref:
            if not ref["enabled"] and u.enabled:
                tok.revoke(s, user_id=u.id)
            u.enabled = ref["enabled"]
        if "enabled" in ref and ref["enabled"]:
            u.failed_auth_count, u.failed_auth_at = 0, None  # re-enabling unlocks
            u.last_active_at = dt.datetime.utcnow()  # not instantly "inactive" again
        if "password" in ref:
            compliance.set_password(s, req.conf, u, ref["password"], by_admin=True)
            tok.revoke(s, user_id=u.id)
        u.extra = {**(u.extra or {}), **c.extra_of(ref, FIELDS)}
        c.flush_unique(s, "user", ref.get("name"))
        return {"user": to_dict(req, u)}


@routes.delete("/v3/users/{user_id}")
def delete_user(req):
    with req.db.session() as s:
        u = _get(s, req)
        req.authorize("identity:delete_user", _target(u))
        cleanup.user_deleted(s, u.id)
        s.delete(u)
    return 204, None


@routes.post("/v3/users/{user_id}/password")
def change_password(req):
    ref = c.validate(req.json(), "user", CHANGE_PASSWORD)
    with req.db.session() as s:
        u = s.get(m.User, req.path_params["user_id"])
        if u is None:  # upstream authenticates first: an unknown user is a 401
            raise errors.Unauthorized("The original password is incorrect.")
        req.authorize("identity:change_password", _target(u))
        if not verify_password(ref["original_password"], u.password_hash):
            raise errors.Unauthorized("The original password is incorrect.")
        compliance.check_self_service(s, req.conf, u, ref["password"])
        compliance.set_password(s, req.conf, u, ref["password"], by_admin=False)
        # Every token issued before now stops working, the caller's included.
        tok.revoke(s, user_id=u.id)
    return 204, None


@routes.get("/v3/users/{user_id}/groups")
def list_user_groups(req):
    from stratus.api.identity.groups import to_dict as group_dict
    with req.db.session() as s:
        u = _get(s, req)
        req.authorize("identity:list_groups_for_user", _target(u))
        gids = assignments.group_ids_of(s, u.id)
        q = select(m.Group).where(m.Group.id.in_(gids))
        q = c.apply_filters(q, m.Group, req, ["name", "domain_id"]).order_by(m.Group.name)
        return {"groups": [group_dict(req, g) for g in s.scalars(q)],
                "links": c.collection_links(req)}


@routes.get("/v3/users/{user_id}/projects")
def list_user_projects(req):
    with req.db.session() as s:
        u = _get(s, req)
        req.authorize("identity:list_user_projects", _target(u))
        projects = assignments.projects_with_roles(s, u.id)
        for key in ("enabled", "name", "domain_id"):
            v = req.query.get(key)
            if v is not None:
                want = c.bool_query(req, key) if key == "enabled" else v
                projects = [p for p in projects if getattr(p, key) == want]
        return {"projects": [project_dict(req, s, p) for p in projects],
                "links": c.collection_links(req)}
