"""/v2.0/routers (``router``, ``ext-gw-mode``, ``extraroute``,
``extraroute-atomic``): CRUD, ``add_router_interface`` /
``remove_router_interface``, ``add_extraroutes`` / ``remove_extraroutes``.

Others' routers are 404 (reads filtered in SQL); admins see all."""
from __future__ import annotations

from sqlalchemy import select, true

from stratus.api.network import common as c
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import network as m
from stratus.db.models.router import Router
from stratus.network import availability_zones as az
from stratus.network import exceptions as exc
from stratus.network import l3_errors as l3
from stratus.network import l3_views
from stratus.network import ports as port_lib
from stratus.network import routers as lib

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "name": A("name"), "description": A("description"),
    "project_id": A("project_id", put=False), "tenant_id": A("project_id", put=False),
    "admin_state_up": A("admin_state_up", "bool"), "status": A("status", post=False, put=False),
    "external_gateway_info": A(None, "any", nullable=True),
    "routes": A(None, "list", post=False, nullable=True),   # None: no routes (neutron)
    "revision_number": A("revision_number", "int", post=False, put=False),
    "availability_zone_hints": A(None, "list", put=False),   # router_availability_zone
}
OWNER = "rule:admin_or_owner"
L3_POLICY_DEFAULTS = {
    "create_router": "", "get_router": OWNER, "update_router": OWNER, "delete_router": OWNER,
    "add_router_interface": OWNER, "remove_router_interface": OWNER,
    "create_floatingip": "", "get_floatingip": OWNER, "update_floatingip": OWNER,
    "delete_floatingip": OWNER,
}


def visible_clause(req):
    return true() if req.ctx.is_admin else Router.project_id == req.ctx.project_id


def visible(req, s, router_id) -> Router:
    return c.get_visible(s, Router, router_id, visible_clause(req), l3.RouterNotFound)


def render_all(s, rows, conf) -> list[dict]:
    gw_ids = [r.gw_port_id for r in rows if r.gw_port_id]
    allocs = port_lib.allocations(s, gw_ids)
    nets = dict(s.execute(select(m.Port.id, m.Port.network_id)
                          .where(m.Port.id.in_(gw_ids))).all()) if gw_ids else {}
    zones = az.router_zones(s, conf, rows)
    return [{**l3_views.router_dict(r, l3_views.gateway_info(r, allocs.get(r.gw_port_id),
                                                             nets.get(r.gw_port_id))),
             "availability_zone_hints": list(r.availability_zone_hints or []),
             "availability_zones": zones[r.id]}
            for r in rows]


def _gateway(req, s, info):
    """Gateway info as given, after checking the caller may see the network."""
    if info and isinstance(info, dict) and isinstance(info.get("network_id"), str):
        from stratus.api.network import networks as net_api
        net_api.visible(req, s, info["network_id"])
    return info


@routes.post("/v2.0/routers")
def create_router(req):
    ref = c.body(req, "router", ATTRS, "post")
    project = c.owner(req, ref)
    req.authorize("create_router", {"project_id": project})
    hints = az.check_hints(ref.get("availability_zone_hints", []))
    with req.db.session() as s:
        az.validate(s, req.conf, hints, "router")
        quotas.check(s, req.conf, "router", project)
        router = lib.create_router(
            s, req.conf, project_id=project, name=ref.get("name", ""),
            description=ref.get("description", ""),
            admin_state_up=ref.get("admin_state_up", True),
            gateway=_gateway(req, s, ref.get("external_gateway_info")),
            is_admin=req.ctx.is_admin, availability_zone_hints=hints)
        return 201, {"router": render_all(s, [router], req.conf)[0]}


@routes.get("/v2.0/routers")
def list_routers(req):
    with req.db.session() as s:
        return c.listing(req, s, select(Router).where(visible_clause(req)), Router, "routers",
                         ATTRS, lambda rows: render_all(s, rows, req.conf))


@routes.get("/v2.0/routers/{router_id}")
def show_router(req):
    with req.db.session() as s:
        router = visible(req, s, req.path_params["router_id"])
        return {"router": c.only_fields(req, render_all(s, [router], req.conf)[0])}


@routes.put("/v2.0/routers/{router_id}")
def update_router(req):
    ref = c.body(req, "router", ATTRS, "put")
    with req.db.session() as s:
        router = visible(req, s, req.path_params["router_id"])
        req.authorize("update_router", {"project_id": router.project_id})
        for key in ("name", "description", "admin_state_up"):
            if key in ref:
                setattr(router, key, ref[key])
        if "external_gateway_info" in ref:
            lib.set_gateway(s, router, _gateway(req, s, ref["external_gateway_info"]),
                            req.ctx.is_admin)
        if "routes" in ref:
            lib.set_routes(s, router, ref["routes"] or [])
        router.revision_number += 1
        s.flush()
        lib.bump(s, router.host)
        return {"router": render_all(s, [router], req.conf)[0]}


@routes.delete("/v2.0/routers/{router_id}")
def delete_router(req):
    with req.db.session() as s:
        router = visible(req, s, req.path_params["router_id"])
        req.authorize("delete_router", {"project_id": router.project_id})
        lib.delete_router(s, router)
    return 204, None


def _interface_body(req) -> dict:
    doc = req.json()
    if not isinstance(doc, dict) or not doc:
        raise errors.BadRequest("Bad router request: Either subnet_id or port_id must be "
                                "specified")
    unknown = sorted(set(doc) - {"subnet_id", "port_id"})
    if unknown:
        raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for k, v in doc.items():
        if not isinstance(v, str):
            raise exc.HTTPBadRequest(f"Invalid input for {k}. Reason: '{v}' is not a valid "
                                     "UUID.")
    return doc


@routes.put("/v2.0/routers/{router_id}/add_router_interface")
def add_router_interface(req):
    doc = _interface_body(req)
    if "subnet_id" in doc and "port_id" in doc:
        raise l3.BadRequest("router", "Cannot specify both subnet-id and port-id")
    from stratus.api.network import ports as port_api
    with req.db.session() as s:
        router = visible(req, s, req.path_params["router_id"])
        req.authorize("add_router_interface", {"project_id": router.project_id})
        if "port_id" in doc:
            port = port_api.visible(req, s, doc["port_id"])
            return lib.add_interface(s, router, port=port)
        sub = s.get(m.Subnet, doc["subnet_id"])
        net = s.get(m.Network, sub.network_id) if sub else None
        if net is None or not (req.ctx.is_admin or net.shared or
                               net.project_id == req.ctx.project_id):
            raise exc.SubnetNotFound(doc["subnet_id"])
        quotas.check(s, req.conf, "port", router.project_id)
        return lib.add_interface(s, router, subnet=sub)


@routes.put("/v2.0/routers/{router_id}/remove_router_interface")
def remove_router_interface(req):
    doc = _interface_body(req)
    with req.db.session() as s:
        router = visible(req, s, req.path_params["router_id"])
        req.authorize("remove_router_interface", {"project_id": router.project_id})
        return lib.remove_interface(s, router, subnet_id=doc.get("subnet_id"),
                                    port_id=doc.get("port_id"))


def _routes_body(req) -> list:
    doc = req.json()
    if not isinstance(doc, dict) or not isinstance(doc.get("router"), dict) or \
            set(doc["router"]) != {"routes"}:
        raise errors.BadRequest("Resource body required: expected {\"router\": {\"routes\": "
                                "[...]}}.")
    if not isinstance(doc["router"]["routes"], list):
        raise exc.HTTPBadRequest("Invalid input for routes: expected a list.")
    return doc["router"]["routes"]


def _change_routes(req, add: bool):
    given = _routes_body(req)
    with req.db.session() as s:
        router = visible(req, s, req.path_params["router_id"])
        req.authorize("update_router", {"project_id": router.project_id})
        checked = lib.check_routes(s, router, given) if add else given
        current = list(router.routes or [])
        new = current + [r for r in checked if r not in current] if add else \
            [r for r in current if r not in checked]
        lib.set_routes(s, router, new)
        return {"router": render_all(s, [router], req.conf)[0]}


@routes.put("/v2.0/routers/{router_id}/add_extraroutes")
def add_extraroutes(req):
    return _change_routes(req, add=True)


@routes.put("/v2.0/routers/{router_id}/remove_extraroutes")
def remove_extraroutes(req):
    return _change_routes(req, add=False)
