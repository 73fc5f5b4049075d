"""/v2.1/flavors: list, detail, show (os-flavors) and create/delete
(os-flavor-manage), as nova 2.1 serves them."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from stratus.api import pagination
from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import flavors as domain
from stratus.db.models import compute as m

routes = RouteTable()
CREATE = {
    "type": "object",
    "properties": {"flavor": {
        "type": "object",
        "properties": {
            "name": c.NAME,
            "id": {"type": ["string", "integer", "null"], "minLength": 1, "maxLength": 255,
                   "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
            "ram": c.POSITIVE_INT,
            "vcpus": c.POSITIVE_INT,
            "disk": c.NON_NEGATIVE_INT,
            "OS-FLV-EXT-DATA:ephemeral": c.NON_NEGATIVE_INT,
            "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                     "maximum": 0x7FFFFFFF},
            "rxtx_factor": {"type": ["number", "string"],
                            "pattern": r"^[0-9]+(\.[0-9]+)?$",
                            "minimum": 0, "exclusiveMinimum": True,
                            "maximum": 3.40282e38},
            "os-flavor-access:is_public": c.BOOLEAN,
        },
        "required": ["name", "ram", "vcpus", "disk"],
        "additionalProperties": False}},
    "required": ["flavor"], "additionalProperties": False}
SORT_KEYS = {"created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
             "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap",
             "updated_at", "vcpus"}


def summary(req, f: m.Flavor) -> dict:
    return {"id": f.flavorid, "name": f.name, "links": c.links(req, "flavors", f.flavorid)}


def detail(req, f: m.Flavor) -> dict:
    return {**summary(req, f), "ram": f.memory_mb, "disk": f.root_gb, "vcpus": f.vcpus,
            "swap": f.swap or "", "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": bool(f.disabled),
            "os-flavor-access:is_public": bool(f.is_public),
            "rxtx_factor": f.rxtx_factor}


def get_or_404(s, req, flavor_id: str) -> m.Flavor:
    f = domain.get_flavor(s, flavor_id, req.ctx)
    if f is None:
        raise errors.NotFound(f"Flavor {flavor_id} could not be found.")
    return f


def _visible_stmt(req):
    """Nova's filter: public ones plus those granted to the caller's project;
    an admin may ask for ``is_public=none`` (all) or ``false`` (private)."""
    stmt = select(m.Flavor)
    raw = req.query.get("is_public")
    if req.ctx.is_admin and raw is not None and raw.strip().lower() == "none":
        return stmt
    if req.ctx.is_admin and raw is not None:
        return stmt.where(m.Flavor.is_public.is_(c.to_bool(raw, "is_public")))
    if not req.ctx.is_admin:
        stmt = stmt.where(m.Flavor.disabled.is_(False))
    granted = select(m.FlavorProject.flavor_id).where(
        m.FlavorProject.project_id == (req.ctx.project_id or ""))
    return stmt.where(m.Flavor.is_public.is_(True) | m.Flavor.id.in_(granted))


def _list(req, render, key_suffix: str = ""):
    page = pagination.parse(req.query, req.conf.DEFAULT.osapi_max_limit,
                            [("flavorid", "asc")], SORT_KEYS)
    stmt = _visible_stmt(req)
    if "minRam" in req.query:
        stmt = stmt.where(m.Flavor.memory_mb >= c.to_int(req.query["minRam"], "minRam"))
    if "minDisk" in req.query:
        stmt = stmt.where(m.Flavor.root_gb >= c.to_int(req.query["minDisk"], "minDisk"))
    with req.db.session() as s:
        if page.marker is not None and s.scalar(domain.accessible(
                select(m.Flavor.id).where(m.Flavor.flavorid == page.marker), req.ctx)) is None:
            raise errors.BadRequest(f"marker [{page.marker}] not found")
        rows = list(s.scalars(pagination.apply(s, stmt, m.Flavor, page, id_attr="flavorid")))
        items = [render(req, f) for f in rows]
    body = {"flavors": items}
    nxt = pagination.next_link(req.url_for(f"/v2.1/flavors{key_suffix}"), req.query, items, page)
    if nxt:
        body["flavors_links"] = [{"rel": "next", "href": nxt}]
    return body


@routes.get("/v2.1/flavors")
def list_flavors(req):
    return _list(req, summary)


@routes.get("/v2.1/flavors/detail")
def list_flavors_detail(req):
    return _list(req, detail, "/detail")


@routes.get("/v2.1/flavors/{flavor_id}")
def show_flavor(req):
    with req.db.session() as s:
        return {"flavor": detail(req, get_or_404(s, req, req.path_params["flavor_id"]))}


@routes.post("/v2.1/flavors")
def create_flavor(req):
    req.authorize("os_compute_api:os-flavor-manage:create")
    body = c.validate(req.json(), CREATE)["flavor"]
    flavorid = str(body["id"]) if body.get("id") is not None else str(uuid.uuid4())
    name = body["name"]
    is_public = c.to_bool(body.get("os-flavor-access:is_public", True))
    with req.db.session() as s:
        if s.scalar(select(m.Flavor.id).where(m.Flavor.name == name)) is not None:
            raise errors.Conflict(f"Flavor with name {name} already exists.")
        if s.scalar(select(m.Flavor.id).where(m.Flavor.flavorid == flavorid)) is not None:
            raise errors.Conflict(f"Flavor with ID {flavorid} already exists.")
        f = m.Flavor(flavorid=flavorid, name=name, vcpus=int(body["vcpus"]),
                     memory_mb=int(body["ram"]), root_gb=int(body["disk"]),
                     ephemeral_gb=int(body.get("OS-FLV-EXT-DATA:ephemeral") or 0),
                     swap=int(body.get("swap") or 0),
                     rxtx_factor=float(body.get("rxtx_factor", 1.0)),
                     is_public=is_public, disabled=False)
        s.add(f)
        s.flush()
        return {"flavor": detail(req, f)}


@routes.delete("/v2.1/flavors/{flavor_id}")
def delete_flavor(req):
    req.authorize("os_compute_api:os-flavor-manage:delete")
    flavor_id = req.path_params["flavor_id"]
    with req.db.session() as s:
        f = s.scalar(select(m.Flavor).where(m.Flavor.flavorid == flavor_id))
        if f is None:
            raise errors.NotFound(f"Flavor {flavor_id} could not be found.")
        for model in (m.FlavorExtraSpec, m.FlavorProject):
            for row in s.scalars(select(model).where(model.flavor_id == f.id)):
                s.delete(row)
        s.delete(f)
    return 202, None
