"""/v2.1/os-server-groups: affinity groups of a project (the scheduler enforces
them when a server is created with the ``group`` hint).  Bodies as nova 2.1
(``policies`` list, ``metadata`` {}); the soft variants are accepted too."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import quotas
from stratus.db.models import compute as m

routes = RouteTable()
POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]
CREATE = {"type": "object", "properties": {"server_group": {
    "type": "object",
    "properties": {"name": c.NAME,
                   "policies": {"type": "array", "minItems": 1, "maxItems": 1,
                                "items": {"type": "string", "enum": POLICIES}}},
    "required": ["name", "policies"], "additionalProperties": False}},
    "required": ["server_group"], "additionalProperties": False}


def members(s, group: m.ServerGroup) -> list[str]:
    """UUIDs of the group's live servers."""
    return list(s.scalars(
        select(m.ServerGroupMember.instance_uuid)
        .join(m.Instance, m.Instance.uuid == m.ServerGroupMember.instance_uuid)
        .where(m.ServerGroupMember.group_id == group.id, m.Instance.deleted == 0)
        .order_by(m.Instance.id)))


def _view(s, g: m.ServerGroup) -> dict:
    return {"id": g.uuid, "name": g.name, "policies": [g.policy], "members": members(s, g),
            "metadata": {}}


def _get(s, req, group_id: str) -> m.ServerGroup:
    g = s.scalar(select(m.ServerGroup).where(m.ServerGroup.uuid == group_id))
    if g is None or (g.project_id != req.ctx.project_id and not req.ctx.is_admin):
        raise errors.NotFound(f"Instance group {group_id} could not be found.")
    return g


@routes.post("/v2.1/os-server-groups")
def create_group(req):
    req.authorize("os_compute_api:os-server-groups:create",
                  {"project_id": req.ctx.project_id, "user_id": req.ctx.user_id})
    body = c.validate(req.json(), CREATE)["server_group"]
    with req.db.session() as s:
        used = s.scalar(select(func.count(m.ServerGroup.id)).where(
            m.ServerGroup.project_id == req.ctx.project_id))
        quotas.check_one(s, req.conf, req.ctx, "server_groups", int(used))
        g = m.ServerGroup(uuid=str(uuid.uuid4()), name=body["name"],
                          project_id=req.ctx.project_id, user_id=req.ctx.user_id,
                          policy=body["policies"][0], rules={})
        s.add(g)
        s.flush()
        return {"server_group": _view(s, g)}


@routes.get("/v2.1/os-server-groups")
def list_groups(req):
    req.authorize("os_compute_api:os-server-groups:index",
                  {"project_id": req.ctx.project_id, "user_id": req.ctx.user_id})
    stmt = select(m.ServerGroup).order_by(m.ServerGroup.id)
    all_projects = "all_projects" in req.query and \
        c.to_bool(req.query["all_projects"] or "true", "all_projects")
    if all_projects:
        req.authorize("os_compute_api:os-server-groups:index:all_projects",
                      {"project_id": req.ctx.project_id})
    else:
        stmt = stmt.where(m.ServerGroup.project_id == req.ctx.project_id)
    offset = c.to_int(req.query.get("offset", 0), "offset", 0)
    limit = min(c.to_int(req.query.get("limit", req.conf.DEFAULT.osapi_max_limit), "limit", 0),
                req.conf.DEFAULT.osapi_max_limit)
    with req.db.session() as s:
        rows = s.scalars(stmt.offset(offset).limit(limit))
        return {"server_groups": [_view(s, g) for g in rows]}


@routes.get("/v2.1/os-server-groups/{group_id}")
def show_group(req):
    with req.db.session() as s:
        g = _get(s, req, req.path_params["group_id"])
        req.authorize("os_compute_api:os-server-groups:show", {"project_id": g.project_id})
        return {"server_group": _view(s, g)}


@routes.delete("/v2.1/os-server-groups/{group_id}")
def delete_group(req):
    with req.db.session() as s:
        g = _get(s, req, req.path_params["group_id"])
        req.authorize("os_compute_api:os-server-groups:delete", {"project_id": g.project_id})
        for row in s.scalars(select(m.ServerGroupMember).where(
                m.ServerGroupMember.group_id == g.id)):
            s.delete(row)
        s.delete(g)
    return 204, None
