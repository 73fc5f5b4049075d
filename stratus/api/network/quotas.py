"""/v2.0/quotas: per-project limits of networks, subnets and ports.

Defaults come from ``[quota] network/subnet/port``; an admin may override
them per project (``network_quota`` rows).  Usage is counted from the
resources themselves, so it cannot drift."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from stratus.api.network import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import network as m
from stratus.db.models import router as l3m
from stratus.db.models import security_group as sgm
from stratus.network import exceptions as exc

routes = RouteTable()
MODELS = {"network": m.Network, "subnet": m.Subnet, "port": m.Port}
MODELS.update({"router": l3m.Router, "floatingip": l3m.FloatingIP})  # L3
MODELS.update({"security_group": sgm.SecurityGroup,                   # security groups
               "security_group_rule": sgm.SecurityGroupRule})


def limits(session, conf, project_id: str) -> dict[str, int]:
    out = {r: getattr(conf.quota, r) for r in MODELS}
    for row in session.scalars(select(m.NetworkQuota)
                               .where(m.NetworkQuota.project_id == project_id)):
        out[row.resource] = row.hard_limit
    return out


def used(session, resource: str, project_id: str) -> int:
    model = MODELS[resource]
    return session.scalar(select(func.count()).select_from(model)
                          .where(model.project_id == project_id))


def check(session, conf, resource: str, project_id: str, count: int = 1) -> None:
    """409 OverQuota if ``count`` more would exceed the project's limit."""
    limit = limits(session, conf, project_id)[resource]
    if limit >= 0 and used(session, resource, project_id) + count > limit:
        raise exc.OverQuota(resource, limit)


def _project(req, rule: str = "get_quota") -> str:
    project = req.path_params["project_id"]
    req.authorize(rule, {"project_id": project})
    return project


@routes.get("/v2.0/quotas")
def list_quotas(req):
    req.authorize("admin_only", {})
    with req.db.session() as s:
        projects = sorted(set(s.scalars(select(m.NetworkQuota.project_id))))
        return {"quotas": [{**limits(s, req.conf, p), "project_id": p, "tenant_id": p}
                           for p in projects]}


@routes.get("/v2.0/quotas/{project_id}")
def show_quota(req):
    project = _project(req)
    with req.db.session() as s:
        return {"quota": limits(s, req.conf, project)}


@routes.get("/v2.0/quotas/{project_id}/default")
def show_default_quota(req):
    """What a project gets without an override (``openstack quota show --default``)."""
    _project(req)
    return {"quota": {r: getattr(req.conf.quota, r) for r in MODELS}}


@routes.get("/v2.0/quotas/{project_id}/details")
def show_quota_details(req):
    project = _project(req)
    with req.db.session() as s:
        return {"quota": {r: {"limit": lim, "used": used(s, r, project), "reserved": 0}
                          for r, lim in limits(s, req.conf, project).items()}}


@routes.put("/v2.0/quotas/{project_id}")
def update_quota(req):
    project = _project(req, "admin_only")
    doc = req.json()
    if not isinstance(doc, dict) or not isinstance(doc.get("quota"), dict):
        raise errors.BadRequest("Resource body required: expected an object under 'quota'.")
    quota = dict(doc["quota"])
    # quota-check-limit: refuse a limit below what the project already uses.
    check_limit = quota.pop("check_limit", False)
    if not isinstance(check_limit, bool):
        check_limit = str(check_limit).lower() in ("1", "true", "yes", "on")
    doc = {"quota": quota}
    unknown = sorted(set(doc["quota"]) - set(MODELS))
    if unknown:
        raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    new = {}
    for resource, value in doc["quota"].items():
        value = c.check_value(resource, c.Attr(None, "int"), value)
        if value < -1:
            raise exc.HTTPBadRequest(f"'{value}' should be greater than or equal to -1 for "
                                     f"{resource}.")
        new[resource] = value
    with req.db.session() as s:
        for resource, value in new.items():
            in_use = used(s, resource, project) if check_limit else 0
            if check_limit and 0 <= value < in_use:
                raise exc.HTTPBadRequest(f"Quota limit {value} for {resource} must be greater "
                                         f"than or equal to already used and reserved {in_use}.")
            row = s.get(m.NetworkQuota, (project, resource))
            if row is None:
                s.add(m.NetworkQuota(project_id=project, resource=resource, hard_limit=value))
            else:
                row.hard_limit = value
        s.flush()
        return {"quota": limits(s, req.conf, project)}


@routes.delete("/v2.0/quotas/{project_id}")
def reset_quota(req):
    project = _project(req, "admin_only")
    with req.db.session() as s:
        s.execute(delete(m.NetworkQuota).where(m.NetworkQuota.project_id == project))
    return 204, None
