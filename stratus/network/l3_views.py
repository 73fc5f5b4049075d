"""Router and floating IP rows → Neutron v2.0 wire dicts (``router``,
``ext-gw-mode``, ``extraroute``, standard attributes)."""
from __future__ import annotations

from stratus.db.models.router import FloatingIP, Router
from stratus.network.views import ts


def gateway_info(router: Router, gw_allocs: list | None, network_id: str | None) -> dict | None:
    if network_id is None:
        return None
    return {"network_id": network_id, "enable_snat": router.enable_snat,
            "external_fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                                   for a in sorted(gw_allocs or [],
                                                   key=lambda a: (a.subnet_id, a.ip_address))]}


def router_dict(router: Router, gw_info: dict | None) -> dict:
    return {"id": router.id, "name": router.name, "description": router.description or "",
            "project_id": router.project_id, "tenant_id": router.project_id,
            "admin_state_up": router.admin_state_up, "status": router.status,
            "external_gateway_info": gw_info, "routes": list(router.routes or []),
            "revision_number": router.revision_number,
            "created_at": ts(router.created_at), "updated_at": ts(router.updated_at)}


def fip_dict(fip: FloatingIP) -> dict:
    return {"id": fip.id, "project_id": fip.project_id, "tenant_id": fip.project_id,
            "description": fip.description or "",
            "floating_network_id": fip.floating_network_id,
            "floating_ip_address": fip.floating_ip_address, "router_id": fip.router_id,
            "port_id": fip.fixed_port_id, "fixed_ip_address": fip.fixed_ip_address,
            "status": fip.status, "revision_number": fip.revision_number,
            "created_at": ts(fip.created_at), "updated_at": ts(fip.updated_at)}
