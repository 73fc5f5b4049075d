"""/v2.0/availability_zones (``availability_zone``, ``availability_zone_filter``):
the zones that have hosts, once per resource (``network``, ``router``), with
their state; filters ``name``, ``resource``, ``state`` (repeated = any of)
and ``fields=``.  Any authenticated caller may list them (neutron's
``get_availability_zone``).  Where zones come from:
stratus/network/availability_zones.py."""
from __future__ import annotations

from stratus.api.network import common as c
from stratus.api.routing import RouteTable
from stratus.network import availability_zones as az

routes = RouteTable()
AZ_POLICY_DEFAULTS = {"get_availability_zone": ""}


@routes.get("/v2.0/availability_zones")
def list_availability_zones(req):
    req.authorize("get_availability_zone")
    with req.db.session() as s:
        items = az.list_zones(s, req.conf, req.query)
    return {"availability_zones": c.only_fields(req, items)}
