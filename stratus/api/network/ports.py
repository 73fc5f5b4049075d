"""/v2.0/ports"""
from __future__ import annotations

import ipaddress

from sqlalchemy import or_, select, true
from sqlalchemy.exc import IntegrityError

from stratus.api.network import common as c
from stratus.api.network import networks as net_api
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import port_security
from stratus.network import qos
from stratus.network import ports as port_lib
from stratus.network import sg_state
from stratus.network import views

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "name": A("name"), "description": A("description"),
    "network_id": A("network_id", put=False), "project_id": A("project_id", put=False),
    "tenant_id": A("project_id", put=False), "mac_address": A("mac_address"),
    "admin_state_up": A("admin_state_up", "bool"), "status": A("status", post=False, put=False),
    "device_id": A("device_id"), "device_owner": A("device_owner"),
    "fixed_ips": A(None, "list"), "allowed_address_pairs": A(None, "list"),
    "port_security_enabled": A("port_security_enabled", "bool"),
    "security_groups": A(None, "list"),
    "binding:host_id": A("host_id", admin=True, hidden=True),
    "binding:profile": A(None, "dict", admin=True, hidden=True),
    "binding:vnic_type": A("vnic_type"),
    "binding:vif_type": A("vif_type", post=False, put=False, hidden=True),
    "binding:vif_details": A(None, post=False, put=False, hidden=True),
    "revision_number": A("revision_number", "int", post=False, put=False),
    "qos_policy_id": A(None, nullable=True),   # stratus/network/qos.py
}


def visible_clause(req):
    """Own ports, and every port on a network the caller's project owns."""
    if req.ctx.is_admin:
        return true()
    owned = select(m.Network.id).where(m.Network.project_id == req.ctx.project_id)
    return or_(m.Port.project_id == req.ctx.project_id, m.Port.network_id.in_(owned))


def render_all(req, s, rows):
    allocs = port_lib.allocations(s, [p.id for p in rows])
    return qos.decorate(s, "port", [
        views.port_dict(p, sorted(allocs[p.id], key=lambda a: (a.subnet_id, a.ip_address)),
                        req.ctx.is_admin) for p in rows])


def visible(req, s, port_id) -> m.Port:
    return c.get_visible(s, m.Port, port_id, visible_clause(req), exc.PortNotFound)


def _pairs(value) -> list[dict]:
    out = []
    for p in value:
        if not isinstance(p, dict) or "ip_address" not in p or set(p) - {"ip_address",
                                                                           "mac_address"}:
            raise exc.InvalidInput(f"Invalid allowed address pair {p}: needs ip_address "
                                   "(and optionally mac_address).")
        try:
            ipaddress.ip_network(p["ip_address"], strict=False)
        except (ValueError, TypeError):
            raise exc.InvalidInput(f"'{p['ip_address']}' is not a valid IP address or "
                                   "CIDR.") from None
        pair = {"ip_address": p["ip_address"]}
        if p.get("mac_address"):
            pair["mac_address"] = port_lib.check_mac(p["mac_address"])
        out.append(pair)
    return out


def _common(ref: dict) -> dict:
    """Column values shared by create and update (security attributes:
    stratus/network/port_security.py)."""
    if ref.get("binding:vnic_type", "normal") != "normal":
        raise exc.InvalidInput(f"binding:vnic_type '{ref['binding:vnic_type']}' is not "
                               "supported; only 'normal'.")
    cols = {}
    for key in ("name", "description", "admin_state_up", "device_id", "device_owner"):
        if key in ref:
            cols[key] = ref[key]
    if "binding:host_id" in ref:
        cols["host_id"] = ref["binding:host_id"]
    if "binding:profile" in ref:
        cols["profile"] = ref["binding:profile"]
    if "allowed_address_pairs" in ref:
        ref["allowed_address_pairs"] = _pairs(ref["allowed_address_pairs"] or [])
    return cols


SECURITY_KEYS = ("security_groups", "port_security_enabled", "allowed_address_pairs")


def _security(ref: dict) -> dict:
    return {k: ref[k] for k in SECURITY_KEYS if k in ref}


@routes.post("/v2.0/ports")
def create_port(req):
    if c.is_bulk(req, "ports"):
        return c.bulk_create(req, "port", "ports", create_port, delete_port)
    ref = c.body(req, "port", ATTRS, "post")
    if not ref.get("network_id"):
        raise errors.BadRequest("Failed to parse request. Required attribute 'network_id' "
                                "not specified")
    project = c.owner(req, ref)
    cols = _common(ref)
    with req.db.session() as s:
        net = net_api.visible(req, s, ref["network_id"])
        req.authorize("create_port", {"project_id": project})
        if not (req.ctx.is_admin or net.shared or net.project_id == req.ctx.project_id):
            raise errors.Forbidden(f"Network {net.id} is neither shared nor owned by your "
                                   "project: only admins may create ports on it.")
        if any(isinstance(f, dict) and "ip_address" in f for f in ref.get("fixed_ips") or []):
            req.authorize("create_port:fixed_ips:ip_address", {"project_id": net.project_id})
        if ref.get("mac_address"):
            req.authorize("create_port:mac_address", {"project_id": net.project_id})
        quotas.check(s, req.conf, "port", project)
        port = port_lib.new_port(s, network_id=net.id, project_id=project,
                                 fixed_ips=ref.get("fixed_ips"), mac=ref.get("mac_address"),
                                 **cols)
        port_security.on_create(s, port, _security(ref), is_admin=req.ctx.is_admin,
                                caller_project=req.ctx.project_id)
        sg_state.bump(s, port.security_groups, hosts=[port.host_id])
        if ref.get("qos_policy_id"):
            qos.bind(s, "port", port.id, ref["qos_policy_id"], req.ctx.project_id,
                     req.ctx.is_admin)
        if port.host_id:
            port.vif_type, port.status = port_lib.VIF_TYPE, "ACTIVE"
            if port.device_owner != port_lib.DHCP_OWNER:
                port_lib.ensure_dhcp_port(s, net.id, port.host_id)
        return 201, {"port": render_all(req, s, [port])[0]}


def _fixed_ip_filter(stmt, req):
    for raw in req.query.getlist("fixed_ips"):
        key, _, value = raw.partition("=")
        if key not in ("ip_address", "subnet_id") or not value:
            raise exc.InvalidInput(f"Invalid fixed_ips filter '{raw}': use ip_address=IP or "
                                   "subnet_id=ID.")
        col = getattr(m.IPAllocation, key)
        stmt = stmt.where(m.Port.id.in_(select(m.IPAllocation.port_id).where(col == value)))
    return stmt


@routes.get("/v2.0/ports")
def list_ports(req):
    with req.db.session() as s:
        stmt = _fixed_ip_filter(select(m.Port).where(visible_clause(req)), req)
        return c.listing(req, s, stmt, m.Port, "ports", ATTRS,
                         lambda rows: render_all(req, s, rows))


@routes.get("/v2.0/ports/{port_id}")
def show_port(req):
    with req.db.session() as s:
        port = visible(req, s, req.path_params["port_id"])
        return {"port": c.only_fields(req, render_all(req, s, [port])[0])}


@routes.put("/v2.0/ports/{port_id}")
def update_port(req):
    ref = c.body(req, "port", ATTRS, "put")
    cols = _common(ref)
    with req.db.session() as s:
        port = visible(req, s, req.path_params["port_id"])
        req.authorize("update_port", {"project_id": port.project_id})
        if "mac_address" in ref:
            if not req.ctx.is_admin:
                raise errors.Forbidden("(rule:update_port:mac_address) is disallowed by policy")
            cols["mac_address"] = port_lib.check_mac(ref["mac_address"])
        before = (list(port.security_groups or []), port.host_id)
        for key, value in cols.items():
            setattr(port, key, value)
        if any(k in ref for k in SECURITY_KEYS):
            port_security.on_update(s, port, _security(ref), is_admin=req.ctx.is_admin,
                                    caller_project=req.ctx.project_id)
        if "binding:host_id" in ref:
            port.vif_type = port_lib.VIF_TYPE if port.host_id else "unbound"
            port.status = "ACTIVE" if port.host_id else "DOWN"
        if "fixed_ips" in ref:
            port_lib.update_fixed_ips(s, port, ref["fixed_ips"])
        if "qos_policy_id" in ref:
            qos.bind(s, "port", port.id, ref["qos_policy_id"], req.ctx.project_id,
                     req.ctx.is_admin)
        port.revision_number += 1
        try:
            s.flush()
        except IntegrityError as e:  # the MAC unique constraint
            if "mac" in str(e).lower():
                raise exc.MacAddressInUse(ref.get("mac_address"), port.network_id) from None
            raise
        sg_state.bump(s, set(before[0]) | set(port.security_groups or []),
                      hosts=[before[1], port.host_id])
        if port.host_id and port.device_owner != port_lib.DHCP_OWNER:
            port_lib.ensure_dhcp_port(s, port.network_id, port.host_id)
        return {"port": render_all(req, s, [port])[0]}


@routes.delete("/v2.0/ports/{port_id}")
def delete_port(req):
    with req.db.session() as s:
        port = visible(req, s, req.path_params["port_id"])
        req.authorize("delete_port", {"project_id": port.project_id})
        from stratus.network import l3_errors, routers as l3_routers  # L3 owns these
        if port.device_owner in (*l3_routers.ROUTER_OWNERS, l3_routers.FLOATINGIP_OWNER):
            raise l3_errors.L3PortInUse(port.id, port.device_owner)
        port_lib.delete_ports(s, [port])
    return 204, None
