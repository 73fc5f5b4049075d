"""/v2.0/security-groups"""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.network import common as c
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.db.models import security_group as sg
from stratus.network import security_groups as groups
from stratus.network import sg_state
from stratus.network import sg_views

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "name": A("name"), "description": A("description"),
    "project_id": A("project_id", put=False), "tenant_id": A("project_id", put=False),
    "stateful": A("stateful", "bool"),
    "security_group_rules": A(None, post=False, put=False),
    "revision_number": A("revision_number", "int", post=False, put=False),
}


def render_all(s, rows) -> list[dict]:
    rules = groups.rules_of(s, [g.id for g in rows])
    return [sg_views.group_dict(g, rules[g.id]) for g in rows]


def visible(req, s, sg_id) -> sg.SecurityGroup:
    return groups.get_visible(s, sg_id, req.ctx.project_id, req.ctx.is_admin)


@routes.post("/v2.0/security-groups")
def create_security_group(req):
    ref = c.body(req, "security_group", ATTRS, "post")
    project = c.owner(req, ref)
    req.authorize("create_security_group", {"project_id": project})
    with req.db.session() as s:
        groups.ensure_default(s, project)
        quotas.check(s, req.conf, "security_group", project)
        group = groups.create_group(s, project_id=project, name=ref.get("name", ""),
                                    description=ref.get("description", ""),
                                    stateful=ref.get("stateful", True))
        return 201, {"security_group": render_all(s, [group])[0]}


@routes.get("/v2.0/security-groups")
def list_security_groups(req):
    with req.db.session() as s:
        if req.ctx.project_id:
            groups.ensure_default(s, req.ctx.project_id)   # upstream: made on first use
        stmt = select(sg.SecurityGroup).where(
            groups.visible_clause(req.ctx.project_id, req.ctx.is_admin))
        return c.listing(req, s, stmt, sg.SecurityGroup, "security_groups", ATTRS,
                         lambda rows: render_all(s, rows))


@routes.get("/v2.0/security-groups/{sg_id}")
def show_security_group(req):
    with req.db.session() as s:
        group = visible(req, s, req.path_params["sg_id"])
        return {"security_group": c.only_fields(req, render_all(s, [group])[0])}


@routes.put("/v2.0/security-groups/{sg_id}")
def update_security_group(req):
    ref = c.body(req, "security_group", ATTRS, "put")
    with req.db.session() as s:
        group = visible(req, s, req.path_params["sg_id"])
        req.authorize("update_security_group", {"project_id": group.project_id})
        groups.update_group(s, group, ref)
        sg_state.bump(s, [group.id])
        return {"security_group": render_all(s, [group])[0]}


@routes.delete("/v2.0/security-groups/{sg_id}")
def delete_security_group(req):
    with req.db.session() as s:
        group = visible(req, s, req.path_params["sg_id"])
        req.authorize("delete_security_group", {"project_id": group.project_id})
        affected = sg_state.hosts_for_groups(s, [group.id])   # via rules naming it
        groups.delete_group(s, group, is_admin=req.ctx.is_admin)
        sg_state.bump(s, hosts=affected)
    return 204, None
