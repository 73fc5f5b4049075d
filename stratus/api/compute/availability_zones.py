"""/v2.1/os-availability-zone (and /detail, admin): the zones that have
compute hosts, from aggregates' ``availability_zone`` metadata; hosts in no
zoned aggregate are in ``[compute] default_availability_zone``.  A zone is
available when at least one of its compute services is enabled (as nova)."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.compute import zones
from stratus.db.models import compute as m

routes = RouteTable()
BINARY = "nova-compute"


def zone_table(nodes, host_zones: dict[str, set[str]], default_zone: str,
               service_down_time: int, now=None) -> dict[str, dict]:
    """zone -> {"available": bool, "hosts": {host: service dict}} (pure)."""
    out: dict[str, dict] = {}
    for node in nodes:
        for zone in sorted(host_zones.get(node.host) or {default_zone}):
            entry = out.setdefault(zone, {"available": False, "hosts": {}})
            entry["available"] = entry["available"] or not node.disabled
            entry["hosts"][node.host] = {BINARY: {
                "available": zones.is_up(node, service_down_time, now),
                "active": not node.disabled,
                "updated_at": c.isotime(node.last_seen_up)}}
    return out


def _table(req):
    with req.db.session() as s:
        nodes = list(s.scalars(select(m.ComputeNode).order_by(m.ComputeNode.host)))
        return zone_table(nodes, zones.host_zones(s), req.conf.compute.default_availability_zone,
                          req.conf.compute.service_down_time)


@routes.get("/v2.1/os-availability-zone")
def list_zones(req):
    req.authorize("os_compute_api:os-availability-zone:list")
    table = _table(req)
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": z["available"]}, "hosts": None}
        for name, z in sorted(table.items())]}


@routes.get("/v2.1/os-availability-zone/detail")
def list_zones_detail(req):
    req.authorize("os_compute_api:os-availability-zone:detail")
    table = _table(req)
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": z["available"]},
         "hosts": z["hosts"] if z["available"] else None}
        for name, z in sorted(table.items())]}
