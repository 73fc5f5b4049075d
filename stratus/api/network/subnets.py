"""/v2.0/subnets (IPv4)."""
from __future__ import annotations

from sqlalchemy import or_, select, true

from stratus.api.network import common as c
from stratus.api.network import networks as net_api
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import subnets as subs
from stratus.network import views

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "name": A("name"), "description": A("description"),
    "network_id": A("network_id", put=False), "project_id": A("project_id", put=False),
    "tenant_id": A("project_id", put=False), "ip_version": A("ip_version", "int", put=False),
    "cidr": A("cidr", put=False), "gateway_ip": A("gateway_ip", nullable=True),
    "enable_dhcp": A("enable_dhcp", "bool"), "allocation_pools": A(None, "list"),
    "dns_nameservers": A(None, "list"), "host_routes": A(None, "list"),
    "revision_number": A("revision_number", "int", post=False, put=False),
    "subnetpool_id": A(None, nullable=True, put=False),
    "ipv6_ra_mode": A(None, nullable=True, put=False),
    "ipv6_address_mode": A(None, nullable=True, put=False),
}


def visible_clause(req):
    """Subnets of networks the caller sees that are theirs or shared."""
    if req.ctx.is_admin:
        return true()
    shared = select(m.Network.id).where(m.Network.shared.is_(True))
    return or_(m.Subnet.project_id == req.ctx.project_id, m.Subnet.network_id.in_(shared))


def visible(req, s, subnet_id) -> m.Subnet:
    return c.get_visible(s, m.Subnet, subnet_id, visible_clause(req), exc.SubnetNotFound)


@routes.post("/v2.0/subnets")
def create_subnet(req):
    if c.is_bulk(req, "subnets"):
        return c.bulk_create(req, "subnet", "subnets", create_subnet, delete_subnet)
    ref = c.body(req, "subnet", ATTRS, "post")
    for unsupported in ("subnetpool_id", "ipv6_ra_mode", "ipv6_address_mode"):
        if ref.get(unsupported) is not None:
            raise exc.InvalidInput(f"{unsupported} is not supported (IPv4 only, no subnet "
                                   "pools).")
    if not ref.get("network_id") or not ref.get("cidr"):
        raise errors.BadRequest("Failed to parse request. Required attribute "
                                f"'{'network_id' if not ref.get('network_id') else 'cidr'}' "
                                "not specified")
    project = c.owner(req, ref)
    with req.db.session() as s:
        net = net_api.visible(req, s, ref["network_id"])
        req.authorize("create_subnet", {"project_id": net.project_id})
        quotas.check(s, req.conf, "subnet", project)
        sub = subs.create_subnet(
            s, net, project_id=project, cidr=ref["cidr"], name=ref.get("name", ""),
            description=ref.get("description", ""), ip_version=ref.get("ip_version", 4),
            gateway_ip=ref.get("gateway_ip", "default"),
            allocation_pools=ref.get("allocation_pools"),
            enable_dhcp=ref.get("enable_dhcp", True),
            dns_nameservers=ref.get("dns_nameservers") or [],
            host_routes=ref.get("host_routes") or [])
        return 201, {"subnet": views.subnet_dict(sub)}


@routes.get("/v2.0/subnets")
def list_subnets(req):
    with req.db.session() as s:
        stmt = select(m.Subnet).where(visible_clause(req))
        return c.listing(req, s, stmt, m.Subnet, "subnets", ATTRS,
                         lambda rows: [views.subnet_dict(r) for r in rows])


@routes.get("/v2.0/subnets/{subnet_id}")
def show_subnet(req):
    with req.db.session() as s:
        sub = visible(req, s, req.path_params["subnet_id"])
        return {"subnet": c.only_fields(req, views.subnet_dict(sub))}


@routes.put("/v2.0/subnets/{subnet_id}")
def update_subnet(req):
    ref = c.body(req, "subnet", ATTRS, "put")
    with req.db.session() as s:
        sub = visible(req, s, req.path_params["subnet_id"])
        req.authorize("update_subnet", {"project_id": sub.project_id})
        subs.update_subnet(s, sub, ref)
        return {"subnet": views.subnet_dict(sub)}


@routes.delete("/v2.0/subnets/{subnet_id}")
def delete_subnet(req):
    with req.db.session() as s:
        sub = visible(req, s, req.path_params["subnet_id"])
        req.authorize("delete_subnet", {"project_id": sub.project_id})
        subs.delete_subnet(s, sub)
    return 204, None
