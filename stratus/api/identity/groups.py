"""/v3/groups and group membership."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import cleanup

routes = RouteTable()
CREATE = c.entity_schema({"name": c.NAME_64, "domain_id": c.ID,
                          "description": c.DESCRIPTION}, required=["name"])
UPDATE = c.entity_schema({"name": c.NAME_64, "domain_id": c.ID,
                          "description": c.DESCRIPTION}, min_properties=1)
FIELDS = ("id", "name", "domain_id", "description", "links")


def to_dict(req, g: m.Group) -> dict:
    return {**(g.extra or {}), "id": g.id, "name": g.name, "domain_id": g.domain_id,
            "description": g.description or "", "links": c.link(req, f"/v3/groups/{g.id}")}


def _target(g: m.Group) -> dict:
    return {"target": {"group": {"id": g.id, "domain_id": g.domain_id}}}


def _get(s, req) -> m.Group:
    return c.get_or_404(s, m.Group, req.path_params["group_id"], "group")


@routes.post("/v3/groups")
def create_group(req):
    ref = c.validate(req.json(), "group", CREATE)
    domain_id = ref.get("domain_id") or req.ctx.domain_id or req.conf.identity.default_domain_id
    req.authorize("identity:create_group", {"target": {"group": {"domain_id": domain_id}}})
    with req.db.session() as s:
        dom = s.get(m.Project, domain_id)
        if dom is None or not dom.is_domain:
            raise errors.NotFound(f"Could not find domain: {domain_id}.")
        g = m.Group(id=c.new_id(), name=ref["name"], domain_id=domain_id,
                    description=ref.get("description"),
                    extra=c.extra_of(ref, FIELDS))
        s.add(g)
        c.flush_unique(s, "group", ref["name"])
        return 201, {"group": to_dict(req, g)}


@routes.get("/v3/groups")
def list_groups(req):
    req.authorize("identity:list_groups", {"target": {"group": {"domain_id": req.ctx.domain_id}}})
    with req.db.session() as s:
        q = c.apply_filters(select(m.Group), m.Group, req, ["name", "domain_id"])
        return c.listing(req, "groups", list(s.scalars(q.order_by(m.Group.name))),
                         lambda g: to_dict(req, g))


@routes.get("/v3/groups/{group_id}")
def get_group(req):
    with req.db.session() as s:
        g = _get(s, req)
        req.authorize("identity:get_group", _target(g))
        return {"group": to_dict(req, g)}


@routes.patch("/v3/groups/{group_id}")
def update_group(req):
    ref = c.validate(req.json(), "group", UPDATE)
    with req.db.session() as s:
        g = _get(s, req)
        req.authorize("identity:update_group", _target(g))
        if "domain_id" in ref and ref["domain_id"] != g.domain_id:
            raise errors.ValidationError("Update of `domain_id` is not allowed.")
        for k in ("name", "description"):
            if k in ref:
                setattr(g, k, ref[k])
        g.extra = {**(g.extra or {}), **c.extra_of(ref, FIELDS)}
        c.flush_unique(s, "group", ref.get("name"))
        return {"group": to_dict(req, g)}


@routes.delete("/v3/groups/{group_id}")
def delete_group(req):
    with req.db.session() as s:
        g = _get(s, req)
        req.authorize("identity:delete_group", _target(g))
        cleanup.group_deleted(s, g.id)
        s.delete(g)
    return 204, None


@routes.get("/v3/groups/{group_id}/users")
def list_members(req):
    from stratus.api.identity.users import to_dict as user_dict
    with req.db.session() as s:
        g = _get(s, req)
        req.authorize("identity:list_users_in_group", _target(g))
        q = select(m.User).join(m.GroupMembership, m.GroupMembership.user_id == m.User.id) \
            .where(m.GroupMembership.group_id == g.id)
        q = c.apply_filters(q, m.User, req, ["name", "enabled", "domain_id"])
        return {"users": [user_dict(req, u) for u in s.scalars(q.order_by(m.User.name))],
                "links": c.collection_links(req)}


def _membership(req, s, rule):
    g = _get(s, req)
    u = c.get_or_404(s, m.User, req.path_params["user_id"], "user")
    req.authorize(rule, {"target": {"group": {"id": g.id, "domain_id": g.domain_id},
                                    "user": {"id": u.id, "domain_id": u.domain_id}}})
    return g, u


@routes.put("/v3/groups/{group_id}/users/{user_id}")
def add_member(req):
    with req.db.session() as s:
        g, u = _membership(req, s, "identity:add_user_to_group")
        if s.get(m.GroupMembership, (u.id, g.id)) is None:
            s.add(m.GroupMembership(user_id=u.id, group_id=g.id))
    return 204, None


@routes.add("/v3/groups/{group_id}/users/{user_id}", ["GET", "HEAD"])
def check_member(req):
    with req.db.session() as s:
        g, u = _membership(req, s, "identity:check_user_in_group")
        if s.get(m.GroupMembership, (u.id, g.id)) is None:
            raise errors.NotFound(f"User {u.id} is not a member of group {g.id}.")
    return 204, None


@routes.delete("/v3/groups/{group_id}/users/{user_id}")
def remove_member(req):
    with req.db.session() as s:
        g, u = _membership(req, s, "identity:remove_user_from_group")
        mem = s.get(m.GroupMembership, (u.id, g.id))
        if mem is None:
            raise errors.NotFound(f"User {u.id} is not a member of group {g.id}.")
        s.delete(mem)
    return 204, None
