"""/v2.0/floatingips: allocate (optionally associated), list, show,
associate / disassociate (PUT ``port_id``), release.

Others' floating IPs are 404; admins see all.  Choosing the address
(``floating_ip_address``) is admin-only by default, as upstream."""
from __future__ import annotations

from sqlalchemy import select, true

from stratus.api.network import common as c
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models.router import FloatingIP
from stratus.network import exceptions as exc
from stratus.network import floating_ips as lib
from stratus.network import l3_errors as l3
from stratus.network import l3_views

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "description": A("description"),
    "project_id": A("project_id", put=False), "tenant_id": A("project_id", put=False),
    "floating_network_id": A("floating_network_id", put=False),
    "floating_ip_address": A("floating_ip_address", put=False, admin=True),
    "subnet_id": A(None, put=False, nullable=True),
    "port_id": A("fixed_port_id", nullable=True),
    "fixed_ip_address": A("fixed_ip_address", nullable=True),
    "router_id": A("router_id", post=False, put=False),
    "status": A("status", post=False, put=False),
    "revision_number": A("revision_number", "int", post=False, put=False),
}


def visible_clause(req):
    return true() if req.ctx.is_admin else FloatingIP.project_id == req.ctx.project_id


def visible(req, s, fip_id) -> FloatingIP:
    return c.get_visible(s, FloatingIP, fip_id, visible_clause(req), l3.FloatingIPNotFound)


def _port(req, s, port_id):
    """The port to associate: one the caller can see (others' are 404)."""
    from stratus.api.network import ports as port_api
    port = port_api.visible(req, s, port_id)
    if not req.ctx.is_admin and port.project_id != req.ctx.project_id:
        raise exc.PortNotFound(port_id)
    return port


@routes.post("/v2.0/floatingips")
def create_floatingip(req):
    ref = c.body(req, "floatingip", ATTRS, "post")
    if not ref.get("floating_network_id"):
        raise errors.BadRequest("Failed to parse request. Required attribute "
                                "'floating_network_id' not specified")
    if ref.get("fixed_ip_address") is not None and not ref.get("port_id"):
        raise l3.BadRequest("floatingip", "fixed_ip_address cannot be specified without a "
                            "port_id")
    project = c.owner(req, ref)
    req.authorize("create_floatingip", {"project_id": project})
    from stratus.api.network import networks as net_api
    with req.db.session() as s:
        net_api.visible(req, s, ref["floating_network_id"])
        quotas.check(s, req.conf, "floatingip", project)
        port = _port(req, s, ref["port_id"]) if ref.get("port_id") else None
        fip = lib.create(s, project_id=project, network_id=ref["floating_network_id"],
                         floating_ip_address=ref.get("floating_ip_address"),
                         subnet_id=ref.get("subnet_id"), description=ref.get("description", ""),
                         port=port, fixed_ip_address=ref.get("fixed_ip_address"))
        return 201, {"floatingip": l3_views.fip_dict(fip)}


@routes.get("/v2.0/floatingips")
def list_floatingips(req):
    with req.db.session() as s:
        return c.listing(req, s, select(FloatingIP).where(visible_clause(req)), FloatingIP,
                         "floatingips", ATTRS,
                         lambda rows: [l3_views.fip_dict(f) for f in rows])


@routes.get("/v2.0/floatingips/{fip_id}")
def show_floatingip(req):
    with req.db.session() as s:
        fip = visible(req, s, req.path_params["fip_id"])
        return {"floatingip": c.only_fields(req, l3_views.fip_dict(fip))}


@routes.put("/v2.0/floatingips/{fip_id}")
def update_floatingip(req):
    ref = c.body(req, "floatingip", ATTRS, "put")
    with req.db.session() as s:
        fip = visible(req, s, req.path_params["fip_id"])
        req.authorize("update_floatingip", {"project_id": fip.project_id})
        if "description" in ref:
            fip.description = ref["description"]
            fip.revision_number += 1
        if ref.get("port_id"):
            lib.associate(s, fip, _port(req, s, ref["port_id"]), ref.get("fixed_ip_address"))
        elif "port_id" in ref:
            lib.disassociate(s, fip)
        elif "fixed_ip_address" in ref:
            raise l3.BadRequest("floatingip", "fixed_ip_address cannot be specified without "
                                "a port_id")
        s.flush()
        return {"floatingip": l3_views.fip_dict(fip)}


@routes.delete("/v2.0/floatingips/{fip_id}")
def delete_floatingip(req):
    with req.db.session() as s:
        fip = visible(req, s, req.path_params["fip_id"])
        req.authorize("delete_floatingip", {"project_id": fip.project_id})
        lib.release(s, fip)
    return 204, None
