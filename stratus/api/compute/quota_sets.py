"""/v2.1/os-quota-sets and /v2.1/os-quota-class-sets, as nova 2.1 (legacy
quota driver).  Usage (``detail``'s in_use) is counted live from the rows."""
from __future__ import annotations

from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import quotas

routes = RouteTable()
_LIMIT = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1,
          "maximum": 0x7FFFFFFF}
UPDATE = {"type": "object",
          "properties": {"quota_set": {
              "type": "object",
              "properties": {**{name: _LIMIT for name in quotas.RESOURCES},
                             "force": c.BOOLEAN},
              "additionalProperties": False}},
          "required": ["quota_set"], "additionalProperties": False}
CLASS_UPDATE = {"type": "object",
                "properties": {"quota_class_set": {
                    "type": "object",
                    "properties": {name: _LIMIT for name in quotas.RESOURCES},
                    "additionalProperties": False}},
                "required": ["quota_class_set"], "additionalProperties": False}


def _user(req) -> str | None:
    return req.query.get("user_id") or None


def _target(req, project_id: str) -> dict:
    return {"project_id": project_id, "user_id": _user(req) or req.ctx.user_id}


def _values(limits: dict) -> dict:
    return {name: limits[name] for name in quotas.RESOURCES}


@routes.get("/v2.1/os-quota-sets/{project_id}")
def show_quota_set(req):
    project_id = req.path_params["project_id"]
    req.authorize("os_compute_api:os-quota-sets:show", _target(req, project_id))
    with req.db.session() as s:
        limits = quotas.limits_for(s, req.conf, project_id, _user(req))
    return {"quota_set": {"id": project_id, **_values(limits)}}


@routes.get("/v2.1/os-quota-sets/{project_id}/detail")
def show_quota_set_detail(req):
    project_id = req.path_params["project_id"]
    req.authorize("os_compute_api:os-quota-sets:detail", _target(req, project_id))
    with req.db.session() as s:
        limits = quotas.limits_for(s, req.conf, project_id, _user(req))
        used = quotas.usage(s, project_id, _user(req))
    body = {name: {"limit": limits[name], "in_use": used[name], "reserved": 0}
            for name in quotas.RESOURCES}
    return {"quota_set": {"id": project_id, **body}}


@routes.get("/v2.1/os-quota-sets/{project_id}/defaults")
def show_defaults(req):
    project_id = req.path_params["project_id"]
    req.authorize("os_compute_api:os-quota-sets:defaults", _target(req, project_id))
    with req.db.session() as s:
        return {"quota_set": {"id": project_id, **_values(quotas.defaults(s, req.conf))}}


@routes.put("/v2.1/os-quota-sets/{project_id}")
def update_quota_set(req):
    project_id = req.path_params["project_id"]
    req.authorize("os_compute_api:os-quota-sets:update", _target(req, project_id))
    body = c.validate(req.json(), UPDATE)["quota_set"]
    force = c.to_bool(body.pop("force", False), "force")
    user_id = _user(req)
    with req.db.session() as s:
        used = quotas.usage(s, project_id, user_id)
        # A user's limits may not exceed the project's.
        ceiling = quotas.limits_for(s, req.conf, project_id) if user_id else {}
        for name, value in body.items():
            if user_id and name not in quotas.USER_RESOURCES:
                continue  # nova ignores project-only quotas in a per-user update
            limit = quotas.validate_update(name, value, used[name], force,
                                           ceiling.get(name, -1))
            quotas.set_limit(s, project_id, user_id or "", name, limit)
        s.flush()
        limits = quotas.limits_for(s, req.conf, project_id, user_id)
    return {"quota_set": _values(limits)}


@routes.delete("/v2.1/os-quota-sets/{project_id}")
def delete_quota_set(req):
    project_id = req.path_params["project_id"]
    req.authorize("os_compute_api:os-quota-sets:delete", _target(req, project_id))
    with req.db.session() as s:
        quotas.delete_limits(s, project_id, _user(req))
    return 202, None


@routes.get("/v2.1/os-quota-class-sets/{class_name}")
def show_quota_class(req):
    req.authorize("os_compute_api:os-quota-class-sets:show")
    name = req.path_params["class_name"]
    # Only the default class exists (as nova's quota driver uses it); any other
    # name shows the defaults, as nova does for a class without rows.
    with req.db.session() as s:
        return {"quota_class_set": {"id": name, **_values(quotas.defaults(s, req.conf))}}


@routes.put("/v2.1/os-quota-class-sets/{class_name}")
def update_quota_class(req):
    req.authorize("os_compute_api:os-quota-class-sets:update")
    name = req.path_params["class_name"]
    if len(name) > 255:
        raise errors.BadRequest("The quota class name must be at most 255 characters.")
    body = c.validate(req.json(), CLASS_UPDATE)["quota_class_set"]
    if name != "default":
        raise errors.BadRequest("Only the 'default' quota class is used; "
                                f"updating quota class {name!r} would have no effect.")
    with req.db.session() as s:
        for resource, value in body.items():
            limit = quotas.validate_update(resource, value, 0, True)
            quotas.set_limit(s, quotas.DEFAULT_CLASS, "", resource, limit)
        s.flush()
        return {"quota_class_set": _values(quotas.defaults(s, req.conf))}
