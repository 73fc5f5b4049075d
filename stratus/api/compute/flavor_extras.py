"""Flavor extra specs (/flavors/{id}/os-extra_specs) and private-flavor
access (/flavors/{id}/os-flavor-access, addTenantAccess/removeTenantAccess)."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.compute import microversion
from stratus.api.compute import res_common as c
from stratus.api.compute.flavors import get_or_404
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import compute as m
from stratus.db.models import identity as idm
from stratus.scheduler import request

routes = RouteTable()
KEY = r"^[a-zA-Z0-9-_:. ]{1,255}$"
VALUE = {"type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}
SPECS = {"type": "object",
         "properties": {"extra_specs": {"type": "object", "patternProperties": {KEY: VALUE},
                                        "additionalProperties": False}},
         "required": ["extra_specs"], "additionalProperties": False}
ONE_SPEC = {"type": "object", "patternProperties": {KEY: VALUE}, "additionalProperties": False,
            "minProperties": 1, "maxProperties": 1}
TENANT = {"type": "object", "properties": {"tenant": {"type": "string", "minLength": 1,
                                                      "maxLength": 255}},
          "required": ["tenant"], "additionalProperties": False}
ACTION = {"type": "object", "properties": {"addTenantAccess": TENANT,
                                           "removeTenantAccess": TENANT},
          "minProperties": 1, "maxProperties": 1, "additionalProperties": False}


def _value(v) -> str:
    if isinstance(v, bool):
        return str(v)
    return v if isinstance(v, str) else str(v)


def _specs(s, f: m.Flavor) -> dict[str, str]:
    return {r.key: r.value for r in s.scalars(
        select(m.FlavorExtraSpec).where(m.FlavorExtraSpec.flavor_id == f.id))}


def _put(s, f: m.Flavor, specs: dict) -> dict[str, str]:
    try:   # scheduler demands (ECU, bandwidth) must be non-negative numbers
        request.check_demands({k: _value(v) for k, v in specs.items()})
    except request.BadDemand as exc:
        raise errors.BadRequest(str(exc)) from None
    out = {}
    for key, value in specs.items():
        row = s.get(m.FlavorExtraSpec, (f.id, key))
        if row is None:
            s.add(m.FlavorExtraSpec(flavor_id=f.id, key=key, value=_value(value)))
        else:
            row.value = _value(value)
        out[key] = _value(value)
    return out


@routes.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
def list_specs(req):
    req.authorize("os_compute_api:os-flavor-extra-specs:index")
    with req.db.session() as s:
        return {"extra_specs": _specs(s, get_or_404(s, req, req.path_params["flavor_id"]))}


@routes.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
def create_specs(req):
    req.authorize("os_compute_api:os-flavor-extra-specs:create")
    body = c.validate(req.json(), SPECS)
    with req.db.session() as s:
        f = get_or_404(s, req, req.path_params["flavor_id"])
        return {"extra_specs": _put(s, f, body["extra_specs"])}


@routes.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def show_spec(req):
    req.authorize("os_compute_api:os-flavor-extra-specs:show")
    flavor_id, key = req.path_params["flavor_id"], req.path_params["key"]
    with req.db.session() as s:
        return {key: _spec(s, req, flavor_id, key).value}


@routes.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def update_spec(req):
    req.authorize("os_compute_api:os-flavor-extra-specs:update")
    key = req.path_params["key"]
    body = c.validate(req.json(), ONE_SPEC)
    if key not in body:
        raise errors.BadRequest("Request body and URI mismatch")
    with req.db.session() as s:
        f = get_or_404(s, req, req.path_params["flavor_id"])
        return _put(s, f, body)


@routes.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def delete_spec(req):
    req.authorize("os_compute_api:os-flavor-extra-specs:delete")
    flavor_id, key = req.path_params["flavor_id"], req.path_params["key"]
    with req.db.session() as s:
        s.delete(_spec(s, req, flavor_id, key))
    return 200, None


def _spec(s, req, flavor_id: str, key: str) -> m.FlavorExtraSpec:
    """The extra spec ``key`` of a visible flavor, or 404 naming both."""
    f = get_or_404(s, req, flavor_id)
    row = s.get(m.FlavorExtraSpec, (f.id, key))
    if row is None:
        raise errors.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return row


def _access(s, f: m.Flavor) -> dict:
    rows = s.scalars(select(m.FlavorProject).where(m.FlavorProject.flavor_id == f.id)
                     .order_by(m.FlavorProject.project_id))
    return {"flavor_access": [{"flavor_id": f.flavorid, "tenant_id": r.project_id}
                              for r in rows]}


@routes.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
def list_access(req):
    req.authorize("os_compute_api:os-flavor-access")
    with req.db.session() as s:
        f = get_or_404(s, req, req.path_params["flavor_id"])
        if f.is_public:
            raise errors.NotFound("Access list not available for public flavors.")
        return _access(s, f)


@routes.post("/v2.1/flavors/{flavor_id}/action")
def flavor_action(req):
    body = c.validate(req.json(), ACTION)
    flavor_id = req.path_params["flavor_id"]
    if "addTenantAccess" in body:
        req.authorize("os_compute_api:os-flavor-access:add_tenant_access")
        tenant = body["addTenantAccess"]["tenant"]
    else:
        req.authorize("os_compute_api:os-flavor-access:remove_tenant_access")
        tenant = body["removeTenantAccess"]["tenant"]
    with req.db.session() as s:
        f = get_or_404(s, req, flavor_id)
        existing = s.get(m.FlavorProject, (f.id, tenant))
        if "addTenantAccess" in body:
            # nova checks is_public from microversion 2.7; before, the access
            # row is added to a public flavor (where it has no effect).
            if f.is_public and microversion.at_least(req, 2, 7):
                raise errors.Conflict("Can not add access to a public flavor.")
            project = s.get(idm.Project, tenant)
            if project is None or project.is_domain:
                raise errors.BadRequest(f"Project ID {tenant} is not a valid project.")
            if existing is not None:
                raise errors.Conflict(f"Flavor access already exists for flavor {flavor_id} "
                                      f"and project {tenant} combination.")
            s.add(m.FlavorProject(flavor_id=f.id, project_id=tenant))
        else:
            if existing is None:
                raise errors.NotFound(f"Flavor access not found for {flavor_id} / "
                                      f"{tenant} combination.")
            s.delete(existing)
        s.flush()
        return _access(s, f)
