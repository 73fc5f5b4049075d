"""Network availability zones (neutron's ``availability_zone``,
``availability_zone_filter``, ``network_availability_zone`` and
``router_availability_zone`` extensions).

Where a zone comes from: in neutron each DHCP and L3 agent reports the
``[agent] availability_zone`` of its node.  In Stratus one host agent plays
both roles on a compute host, so a host's network zone *is* its compute zone
(stratus/compute/zones.py: the ``availability_zone`` of the aggregates it is
in, else ``[compute] default_availability_zone``, ``nova`` by default).  One
source of truth, changed at run time through the aggregates API, and the same
names ``openstack availability zone list --compute`` shows.  Every zone with
a host is listed twice, as resource ``network`` and ``router``; it is
``available`` when at least one of its hosts is enabled and up (heartbeat
within ``[compute] service_down_time``, not forced down), the hosts that can
take a router now.

Hints (``availability_zone_hints``, set at creation only) must name zones
that have a host (else 404 AvailabilityZoneNotFound, as neutron).  A
router's host is picked among the up hosts of its hinted zones, and among all
up hosts when none of those is up (a hint, not a constraint: the router still
gets a host; its ``availability_zones`` then shows where it really runs).
DHCP is not placed separately: each host where a network has a port serves
DHCP for it, so a network's ``availability_zones`` are the zones of the hosts
where it has bound ports, and its hints only record what was asked.
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from stratus.common import errors
from stratus.compute import zones as compute_zones
from stratus.db.models import network as m
from stratus.db.models.compute import ComputeNode
from stratus.network.ipam import HTTPBadRequest, InvalidInput

RESOURCES = ("network", "router")
HINTS_DB_LEN = 255      # neutron-lib's AZ_HINTS_DB_LEN: the hints as a JSON string
# neutron's agent types, which openstacksdk sends as ``agent_type`` for ``resource``
AGENT_TYPES = {"DHCP agent": "network", "L3 agent": "router"}


class AvailabilityZoneNotFound(errors.NotFound):
    def __init__(self, name: str):
        super().__init__(f"AvailabilityZone {name} could not be found.")


# -- pure -------------------------------------------------------------------------------
def check_hints(value) -> list[str]:
    """``availability_zone_hints`` as given in a request body, validated as
    neutron-lib's ``availability_zone_hint_list``: a list of unique strings
    whose JSON form fits 255 characters.  Raises 400."""
    reason = None
    if not isinstance(value, list):
        reason = f"'{value}' is not a list"
    elif any(not isinstance(v, str) for v in value):
        bad = next(v for v in value if not isinstance(v, str))
        reason = f"'{bad}' is not a valid string"
    elif len(set(value)) != len(value):
        dups = sorted({v for v in value if value.count(v) > 1})
        reason = f"Duplicate items in the list: '{', '.join(dups)}'"
    if reason:
        raise HTTPBadRequest(f"Invalid input for availability_zone_hints. Reason: {reason}.")
    if len(json.dumps(value)) > HINTS_DB_LEN:
        raise InvalidInput("Too many availability_zone_hints specified")
    return list(value)


def zones_of_hosts(hosts, host_zones: dict[str, set[str]], default_zone: str
                   ) -> dict[str, set[str]]:
    """host -> its zones (those of its zoned aggregates, else the default)."""
    return {h: set(host_zones.get(h) or {default_zone}) for h in hosts}


def zone_states(nodes, host_zones: dict[str, set[str]], default_zone: str,
                service_down_time: int, now: dt.datetime | None = None) -> dict[str, bool]:
    """zone -> available (some enabled host of it is up), for every zone
    that has a host."""
    out: dict[str, bool] = {}
    for node in nodes:
        live = not node.disabled and compute_zones.is_up(node, service_down_time, now)
        for zone in host_zones.get(node.host) or {default_zone}:
            out[zone] = out.get(zone, False) or live
    return out


def zone_list(states: dict[str, bool]) -> list[dict]:
    """The ``availability_zones`` collection: each zone once per resource."""
    return [{"name": name, "resource": res, "state": "available" if up else "unavailable"}
            for name, up in sorted(states.items()) for res in RESOURCES]


def filter_zones(items: list[dict], query) -> list[dict]:
    """Apply neutron's filters (``name``, ``resource``, ``state``; repeated =
    any of).  openstacksdk sends ``name`` as ``availability_zone`` and
    ``resource`` as ``agent_type`` (neutron's agent-side names), so those
    are read too.  Other parameters are ignored, as for other resources."""
    wanted: dict[str, set[str]] = {}
    for key, alias in (("name", "availability_zone"), ("resource", "agent_type"),
                       ("state", None)):
        values = list(query.getlist(key)) + (list(query.getlist(alias)) if alias else [])
        if values:
            wanted[key] = {AGENT_TYPES.get(v, v) if key == "resource" else v for v in values}
    return [z for z in items if all(z[k] in vs for k, vs in wanted.items())]


def prefer(hosts: list[str], zones: dict[str, set[str]], hints) -> list[str]:
    """The hosts in the hinted zones if there are any, else all of them."""
    if not hints:
        return list(hosts)
    inside = [h for h in hosts if zones.get(h, set()) & set(hints)]
    return inside or list(hosts)


# -- reads ----------------------------------------------------------------------------
def _nodes(session) -> list[ComputeNode]:
    return list(session.scalars(select(ComputeNode).order_by(ComputeNode.host)))


def host_zone_map(session, conf, hosts=None) -> dict[str, set[str]]:
    """host -> its zones, for ``hosts`` (default: every registered host)."""
    if hosts is None:
        hosts = [n.host for n in _nodes(session)]
    return zones_of_hosts(hosts, compute_zones.host_zones(session),
                          conf.compute.default_availability_zone)


def states(session, conf) -> dict[str, bool]:
    return zone_states(_nodes(session), compute_zones.host_zones(session),
                       conf.compute.default_availability_zone,
                       conf.compute.service_down_time)


def list_zones(session, conf, query=None) -> list[dict]:
    items = zone_list(states(session, conf))
    return filter_zones(items, query) if query is not None else items


def validate(session, conf, hints: list[str], resource: str) -> None:
    """404 AvailabilityZoneNotFound for the first hint naming a zone that has
    no host (a zone whose hosts are all down still exists, as upstream)."""
    assert resource in RESOURCES
    known = set(states(session, conf))
    for name in hints:
        if name not in known:
            raise AvailabilityZoneNotFound(name)


def network_zones(session, conf, network_ids) -> dict[str, list[str]]:
    """network id -> the zones of the hosts where it has bound ports (its
    bridge and DHCP server run there), sorted."""
    network_ids = list(network_ids)
    out: dict[str, list[str]] = {n: [] for n in network_ids}
    if not network_ids:
        return out
    pairs = session.execute(select(m.Port.network_id, m.Port.host_id).distinct().where(
        m.Port.network_id.in_(network_ids), m.Port.host_id != "")).all()
    zones = host_zone_map(session, conf, {h for _, h in pairs})
    acc: dict[str, set[str]] = {}
    for nid, host in pairs:
        acc.setdefault(nid, set()).update(zones[host])
    return {n: sorted(acc.get(n, ())) for n in network_ids}


def router_zones(session, conf, routers) -> dict[str, list[str]]:
    """router id -> the zone(s) of the host running it ([] if unplaced)."""
    zones = host_zone_map(session, conf, {r.host for r in routers if r.host})
    return {r.id: sorted(zones[r.host]) if r.host else [] for r in routers}
