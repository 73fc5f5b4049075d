"""/v3/regions, /v3/services and /v3/endpoints: the service catalog's rows."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m

routes = RouteTable()
REGION = c.entity_schema({"id": {"type": "string", "minLength": 1, "maxLength": 255},
                          "description": {"type": ["string", "null"], "maxLength": 255},
                          "parent_region_id": {"type": ["string", "null"]}})
SERVICE = c.entity_schema({"type": {"type": "string", "minLength": 1, "maxLength": 255},
                           "name": {"type": ["string", "null"], "maxLength": 255},
                           "description": c.DESCRIPTION, "enabled": c.BOOL}, required=["type"])
SERVICE_UPDATE = c.entity_schema(SERVICE["properties"], min_properties=1)
INTERFACE = {"type": "string", "enum": ["public", "internal", "admin"]}
URL = {"type": "string", "minLength": 1, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"}
ENDPOINT = c.entity_schema({"service_id": c.ID, "interface": INTERFACE, "url": URL,
                            "region_id": {"type": ["string", "null"]},
                            "region": {"type": ["string", "null"]}, "enabled": c.BOOL},
                           required=["service_id", "interface", "url"])
ENDPOINT_UPDATE = c.entity_schema(ENDPOINT["properties"], min_properties=1)


# -- regions ----------------------------------------------------------------------
def region_dict(req, r: m.Region) -> dict:
    return {**(r.extra or {}), "id": r.id, "description": r.description or "",
            "parent_region_id": r.parent_region_id, "links": c.link(req, f"/v3/regions/{r.id}")}


def _check_parent(s, region_id: str, parent_id: str | None) -> None:
    if parent_id is None:
        return
    seen = {region_id}
    cur = parent_id
    while cur:
        if cur in seen:
            raise errors.ValidationError("Circular reference in region hierarchy.")
        seen.add(cur)
        parent = s.get(m.Region, cur)
        if parent is None:
            raise errors.NotFound(f"Could not find region: {cur}.")
        cur = parent.parent_region_id


def _create_region(req, region_id: str | None, ref: dict):
    req.authorize("identity:create_region", {})
    with req.db.session() as s:
        rid = region_id or ref.get("id") or c.new_id()
        if s.get(m.Region, rid) is not None:
            raise errors.Conflict(f"Conflict occurred attempting to store region - Duplicate "
                                  f"ID, {rid}.")
        _check_parent(s, rid, ref.get("parent_region_id"))
        r = m.Region(id=rid, description=ref.get("description") or "",
                     parent_region_id=ref.get("parent_region_id"),
                     extra=c.extra_of(ref, ("id", "description", "parent_region_id", "links")))
        s.add(r)
        s.flush()
        return 201, {"region": region_dict(req, r)}


@routes.post("/v3/regions")
def create_region(req):
    return _create_region(req, None, c.validate(req.json(), "region", REGION))


@routes.put("/v3/regions/{region_id}")
def create_region_with_id(req):
    ref = c.validate(req.json(), "region", REGION)
    if ref.get("id") not in (None, req.path_params["region_id"]):
        raise errors.ValidationError("The region id in the body does not match the URL.")
    return _create_region(req, req.path_params["region_id"], ref)


@routes.get("/v3/regions")
def list_regions(req):
    req.authorize("identity:list_regions", {})
    with req.db.session() as s:
        q = select(m.Region).order_by(m.Region.id)
        if req.query.get("parent_region_id"):
            q = q.where(m.Region.parent_region_id == req.query["parent_region_id"])
        return {"regions": [region_dict(req, r) for r in s.scalars(q)],
                "links": c.collection_links(req)}


@routes.get("/v3/regions/{region_id}")
def get_region(req):
    req.authorize("identity:get_region", {})
    with req.db.session() as s:
        return {"region": region_dict(req, c.get_or_404(s, m.Region,
                                                        req.path_params["region_id"], "region"))}


@routes.patch("/v3/regions/{region_id}")
def update_region(req):
    ref = c.validate(req.json(), "region", c.entity_schema(REGION["properties"], min_properties=1))
    req.authorize("identity:update_region", {})
    with req.db.session() as s:
        r = c.get_or_404(s, m.Region, req.path_params["region_id"], "region")
        if "id" in ref and ref["id"] != r.id:
            raise errors.ValidationError("Update of `id` is not allowed.")
        if "parent_region_id" in ref:
            _check_parent(s, r.id, ref["parent_region_id"])
            r.parent_region_id = ref["parent_region_id"]
        if "description" in ref:
            r.description = ref["description"] or ""
        r.extra = {**(r.extra or {}), **c.extra_of(ref, ("id", "description", "parent_region_id",
                                                     "links"))}
        return {"region": region_dict(req, r)}


@routes.delete("/v3/regions/{region_id}")
def delete_region(req):
    req.authorize("identity:delete_region", {})
    with req.db.session() as s:
        r = c.get_or_404(s, m.Region, req.path_params["region_id"], "region")
        if s.scalars(select(m.Region).where(m.Region.parent_region_id == r.id)).first():
            raise errors.Forbidden(f"Cannot delete region {r.id}: it has child regions.")
        if s.scalars(select(m.Endpoint).where(m.Endpoint.region_id == r.id)).first():
            raise errors.Forbidden(f"Cannot delete region {r.id}: endpoints refer to it.")
        s.delete(r)
    return 204, None


# -- services ---------------------------------------------------------------------
def service_dict(req, sv: m.Service) -> dict:
    return {**(sv.extra or {}), "id": sv.id, "type": sv.type, "enabled": sv.enabled,
            "links": c.link(req, f"/v3/services/{sv.id}")}


@routes.post("/v3/services")
def create_service(req):
    ref = c.validate(req.json(), "service", SERVICE)
    req.authorize("identity:create_service", {})
    with req.db.session() as s:
        sv = m.Service(id=c.new_id(), type=ref["type"], enabled=ref.get("enabled", True),
                       extra=c.extra_of(ref, ("id", "type", "enabled", "links")))
        s.add(sv)
        s.flush()
        return 201, {"service": service_dict(req, sv)}


@routes.get("/v3/services")
def list_services(req):
    req.authorize("identity:list_services", {})
    with req.db.session() as s:
        q = select(m.Service).order_by(m.Service.type)
        if req.query.get("type"):
            q = q.where(m.Service.type == req.query["type"])
        items = list(s.scalars(q))
        if req.query.get("name"):
            items = [sv for sv in items if (sv.extra or {}).get("name") == req.query["name"]]
        return {"services": [service_dict(req, sv) for sv in items],
                "links": c.collection_links(req)}


@routes.get("/v3/services/{service_id}")
def get_service(req):
    req.authorize("identity:get_service", {})
    with req.db.session() as s:
        return {"service": service_dict(req, c.get_or_404(
            s, m.Service, req.path_params["service_id"], "service"))}


@routes.patch("/v3/services/{service_id}")
def update_service(req):
    ref = c.validate(req.json(), "service", SERVICE_UPDATE)
    req.authorize("identity:update_service", {})
    with req.db.session() as s:
        sv = c.get_or_404(s, m.Service, req.path_params["service_id"], "service")
        if "type" in ref:
            sv.type = ref["type"]
        if "enabled" in ref:
            sv.enabled = ref["enabled"]
        sv.extra = {**(sv.extra or {}), **c.extra_of(ref, ("id", "type", "enabled", "links"))}
        return {"service": service_dict(req, sv)}


@routes.delete("/v3/services/{service_id}")
def delete_service(req):
    req.authorize("identity:delete_service", {})
    with req.db.session() as s:
        sv = c.get_or_404(s, m.Service, req.path_params["service_id"], "service")
        for ep in s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == sv.id)):
            s.delete(ep)
        s.flush()
        s.delete(sv)
    return 204, None


# -- endpoints --------------------------------------------------------------------
def endpoint_dict(req, ep: m.Endpoint) -> dict:
    return {**(ep.extra or {}), "id": ep.id, "service_id": ep.service_id,
            "interface": ep.interface, "url": ep.url, "region_id": ep.region_id,
            "region": ep.region_id, "enabled": ep.enabled,
            "links": c.link(req, f"/v3/endpoints/{ep.id}")}


def _endpoint_refs(s, ref: dict) -> str | None:
    if "service_id" in ref and s.get(m.Service, ref["service_id"]) is None:
        raise errors.ValidationError(f"Invalid service_id {ref['service_id']}: no such service.")
    region = ref.get("region_id") or ref.get("region")
    if region and s.get(m.Region, region) is None:
        if ref.get("region_id"):
            raise errors.ValidationError(f"Invalid region_id {region}: no such region.")
        # The legacy ``region`` attribute creates the region, as Keystone does.
        s.add(m.Region(id=region, description=""))
        s.flush()
    return region


@routes.post("/v3/endpoints")
def create_endpoint(req):
    ref = c.validate(req.json(), "endpoint", ENDPOINT)
    req.authorize("identity:create_endpoint", {})
    with req.db.session() as s:
        region = _endpoint_refs(s, ref)
        ep = m.Endpoint(id=c.new_id(), service_id=ref["service_id"], interface=ref["interface"],
                        url=ref["url"], region_id=region, enabled=ref.get("enabled", True),
                        extra=c.extra_of(ref, ENDPOINT["properties"].keys() | {"id", "links"}))
        s.add(ep)
        s.flush()
        return 201, {"endpoint": endpoint_dict(req, ep)}


@routes.get("/v3/endpoints")
def list_endpoints(req):
    req.authorize("identity:list_endpoints", {})
    with req.db.session() as s:
        q = c.apply_filters(select(m.Endpoint), m.Endpoint, req,
                            ["interface", "service_id", "region_id", "enabled"])
        return {"endpoints": [endpoint_dict(req, ep) for ep in s.scalars(q)],
                "links": c.collection_links(req)}


@routes.get("/v3/endpoints/{endpoint_id}")
def get_endpoint(req):
    req.authorize("identity:get_endpoint", {})
    with req.db.session() as s:
        return {"endpoint": endpoint_dict(req, c.get_or_404(
            s, m.Endpoint, req.path_params["endpoint_id"], "endpoint"))}


@routes.patch("/v3/endpoints/{endpoint_id}")
def update_endpoint(req):
    ref = c.validate(req.json(), "endpoint", ENDPOINT_UPDATE)
    req.authorize("identity:update_endpoint", {})
    with req.db.session() as s:
        ep = c.get_or_404(s, m.Endpoint, req.path_params["endpoint_id"], "endpoint")
        region = _endpoint_refs(s, ref)
        for k in ("service_id", "interface", "url", "enabled"):
            if k in ref:
                setattr(ep, k, ref[k])
        if "region_id" in ref or "region" in ref:
            ep.region_id = region
        ep.extra = {**(ep.extra or {}),
                    **c.extra_of(ref, ENDPOINT["properties"].keys() | {"id", "links"})}
        return {"endpoint": endpoint_dict(req, ep)}


@routes.delete("/v3/endpoints/{endpoint_id}")
def delete_endpoint(req):
    req.authorize("identity:delete_endpoint", {})
    with req.db.session() as s:
        s.delete(c.get_or_404(s, m.Endpoint, req.path_params["endpoint_id"], "endpoint"))
    return 204, None
