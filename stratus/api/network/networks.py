"""/v2.0/networks"""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.network import common as c
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.db.models import network as m
from stratus.db.models.router import FloatingIP
from stratus.network import availability_zones as az
from stratus.network import exceptions as exc
from stratus.network import floating_ips as fip_lib
from stratus.network import qos
from stratus.network import networks as nets
from stratus.network import port_security
from stratus.network import views

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "name": A("name"), "description": A("description"),
    "project_id": A("project_id", put=False), "tenant_id": A("project_id", put=False),
    "admin_state_up": A("admin_state_up", "bool"), "shared": A("shared", "bool", admin=True),
    "router:external": A("external", "bool", admin=True), "mtu": A("mtu", "int"),
    "status": A("status", post=False, put=False),
    "provider:network_type": A("network_type", put=False, admin=True, hidden=True),
    "provider:physical_network": A("physical_network", put=False, admin=True, hidden=True,
                                   nullable=True),
    "provider:segmentation_id": A("segmentation_id", "int", put=False, admin=True,
                                  hidden=True, nullable=True),
    "revision_number": A("revision_number", "int", post=False, put=False),
    "port_security_enabled": A(None, "bool"),
    "availability_zone_hints": A(None, "list", put=False),
    "subnets": A(None, post=False, put=False),
    "qos_policy_id": A(None, nullable=True),   # stratus/network/qos.py
}


def subnet_ids(s, network_ids) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in network_ids}
    for sid, nid in s.execute(select(m.Subnet.id, m.Subnet.network_id)
                              .where(m.Subnet.network_id.in_(list(network_ids)))):
        out[nid].append(sid)
    return out


def render(req, s, net):
    return qos.decorate(s, "network", [views.network_dict(
        net, subnet_ids(s, [net.id])[net.id], req.ctx.is_admin,
        port_security.network_port_security(s, net.id),
        az.network_zones(s, req.conf, [net.id])[net.id])])[0]


def visible(req, s, network_id) -> m.Network:
    return c.get_visible(s, m.Network, network_id,
                         nets.visible_clause(req.ctx.project_id, req.ctx.is_admin),
                         exc.NetworkNotFound)


@routes.post("/v2.0/networks")
def create_network(req):
    if c.is_bulk(req, "networks"):
        return c.bulk_create(req, "network", "networks", create_network, delete_network)
    ref = c.body(req, "network", ATTRS, "post")
    req.authorize("create_network", {"project_id": req.ctx.project_id})
    project = c.owner(req, ref)
    secure = ref.pop("port_security_enabled", True)   # the default of its ports
    hints = az.check_hints(ref.pop("availability_zone_hints", []))
    with req.db.session() as s:
        az.validate(s, req.conf, hints, "network")
        quotas.check(s, req.conf, "network", project)
        net = nets.create_network(
            s, req.conf, project_id=project, name=ref.get("name", ""),
            description=ref.get("description", ""),
            admin_state_up=ref.get("admin_state_up", True), shared=ref.get("shared", False),
            external=ref.get("router:external", False), mtu=ref.get("mtu"),
            network_type=ref.get("provider:network_type"),
            physical_network=ref.get("provider:physical_network"),
            segmentation_id=ref.get("provider:segmentation_id"))
        net.availability_zone_hints = hints   # network_availability_zone
        if not secure:
            port_security.set_network_port_security(s, net.id, False)
        policy = ref["qos_policy_id"] if "qos_policy_id" in ref else \
            qos.default_policy(s, project)    # qos-default
        if policy:
            qos.bind(s, "network", net.id, policy, req.ctx.project_id, req.ctx.is_admin)
        return 201, {"network": render(req, s, net)}


@routes.get("/v2.0/networks")
def list_networks(req):
    with req.db.session() as s:
        stmt = select(m.Network).where(nets.visible_clause(req.ctx.project_id,
                                                           req.ctx.is_admin))

        def render_all(rows):
            subs = subnet_ids(s, [n.id for n in rows])
            zones = az.network_zones(s, req.conf, [n.id for n in rows])
            return qos.decorate(s, "network", [
                views.network_dict(n, subs[n.id], req.ctx.is_admin,
                                   port_security.network_port_security(s, n.id), zones[n.id])
                for n in rows])
        return c.listing(req, s, stmt, m.Network, "networks", ATTRS, render_all)


@routes.get("/v2.0/networks/{network_id}")
def show_network(req):
    with req.db.session() as s:
        net = visible(req, s, req.path_params["network_id"])
        return {"network": c.only_fields(req, render(req, s, net))}


@routes.put("/v2.0/networks/{network_id}")
def update_network(req):
    ref = c.body(req, "network", ATTRS, "put")
    with req.db.session() as s:
        net = visible(req, s, req.path_params["network_id"])
        req.authorize("update_network", {"project_id": net.project_id})
        if "mtu" in ref:
            limit = nets.max_mtu(req.conf, net.network_type)
            if not 68 <= ref["mtu"] <= limit:
                raise exc.InvalidInput(f"Requested MTU {ref['mtu']} is outside 68 through "
                                       f"{limit}.")
        cols = {"name": "name", "description": "description", "mtu": "mtu",
                "admin_state_up": "admin_state_up", "shared": "shared",
                "router:external": "external"}
        for key, col in cols.items():
            if key in ref:
                setattr(net, col, ref[key])
        if "port_security_enabled" in ref:
            port_security.set_network_port_security(s, net.id, ref["port_security_enabled"])
        if "qos_policy_id" in ref:
            qos.bind(s, "network", net.id, ref["qos_policy_id"], req.ctx.project_id,
                     req.ctx.is_admin)
        net.revision_number += 1
        s.flush()
        return {"network": render(req, s, net)}


@routes.delete("/v2.0/networks/{network_id}")
def delete_network(req):
    with req.db.session() as s:
        net = visible(req, s, req.path_params["network_id"])
        req.authorize("delete_network", {"project_id": net.project_id})
        # neutron releases the floating IPs allocated from a network with it
        # (a router gateway on it still makes the delete a 409 NetworkInUse)
        for fip in list(s.scalars(select(FloatingIP).where(
                FloatingIP.floating_network_id == net.id))):
            fip_lib.release(s, fip)
        nets.delete_network(s, net)
    return 204, None
