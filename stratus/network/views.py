"""Rows → Neutron v2.0 wire dicts.  ``admin`` adds what upstream shows only to
admins (``provider:*`` on networks, ``binding:*`` on ports)."""
from __future__ import annotations

from stratus.db.models import network as m


def ts(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def tap_name(port_id: str) -> str:
    return "tap" + port_id[:11]


def bridge_name(network_id: str) -> str:
    return "brq" + network_id[:11]


def network_dict(net: m.Network, subnet_ids: list[str], admin: bool,
                 port_security: bool = True, zones: list[str] = ()) -> dict:
    """``zones``: where the network is realised (availability_zones.network_zones)."""
    d = {"id": net.id, "name": net.name, "description": net.description or "",
         "project_id": net.project_id, "tenant_id": net.project_id,
         "admin_state_up": net.admin_state_up, "shared": net.shared,
         "router:external": net.external, "mtu": net.mtu, "status": net.status,
         "subnets": sorted(subnet_ids),
         "availability_zone_hints": list(net.availability_zone_hints or []),
         "availability_zones": list(zones), "port_security_enabled": port_security,
         "ipv4_address_scope": None, "ipv6_address_scope": None,
         "revision_number": net.revision_number,
         "created_at": ts(net.created_at), "updated_at": ts(net.updated_at)}
    if admin:
        d.update({"provider:network_type": net.network_type,
                  "provider:physical_network": net.physical_network,
                  "provider:segmentation_id": net.segmentation_id})
    return d


def subnet_dict(sub: m.Subnet) -> dict:
    return {"id": sub.id, "name": sub.name, "description": sub.description or "",
            "network_id": sub.network_id, "project_id": sub.project_id,
            "tenant_id": sub.project_id, "ip_version": sub.ip_version, "cidr": sub.cidr,
            "gateway_ip": sub.gateway_ip, "enable_dhcp": sub.enable_dhcp,
            "allocation_pools": list(sub.allocation_pools or []),
            "dns_nameservers": list(sub.dns_nameservers or []),
            "host_routes": list(sub.host_routes or []),
            "ipv6_ra_mode": None, "ipv6_address_mode": None, "subnetpool_id": None,
            "service_types": [], "revision_number": sub.revision_number,
            "created_at": ts(sub.created_at), "updated_at": ts(sub.updated_at)}


def port_dict(port: m.Port, allocations: list[m.IPAllocation], admin: bool) -> dict:
    d = {"id": port.id, "name": port.name, "description": port.description or "",
         "network_id": port.network_id, "project_id": port.project_id,
         "tenant_id": port.project_id, "mac_address": port.mac_address,
         "admin_state_up": port.admin_state_up, "status": port.status,
         "device_id": port.device_id, "device_owner": port.device_owner,
         "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                       for a in allocations],
         "allowed_address_pairs": list(port.allowed_address_pairs or []),
         "port_security_enabled": port.port_security_enabled,
         "security_groups": list(port.security_groups or []),
         "revision_number": port.revision_number,
         "created_at": ts(port.created_at), "updated_at": ts(port.updated_at)}
    if admin:
        d.update({"binding:host_id": port.host_id, "binding:vif_type": port.vif_type,
                  "binding:vnic_type": port.vnic_type,
                  "binding:vif_details": dict(port.vif_details or {}),
                  "binding:profile": dict(port.profile or {})})
    else:
        d["binding:vnic_type"] = port.vnic_type  # users may read and set it upstream
    return d
