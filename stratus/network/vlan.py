"""VLAN segments, as ML2's ``type_vlan``: the ranges of ``[network]
network_vlan_ranges``, validation of a provider request and allocation of
the lowest free VLAN id.

``physnet1:100:199`` makes ids 100..199 of physnet1 available to tenant
networks; a bare ``physnet2`` is known but has no tenant range (admins make
provider networks on it with an explicit id, any of 1..4094).

The database keeps ``segmentation_id`` unique per network type, not per
(type, physical network) (``uq_network_segment``, frozen migration 0001), so
one VLAN id is used at most once across all physical networks: the allocator
skips ids taken on any physnet, and a requested id taken on another physnet
is a 409 that says so."""
from __future__ import annotations

from sqlalchemy import select

from stratus.db.models import network as m
from stratus.network import exceptions as exc

MIN_VLAN, MAX_VLAN = 1, 4094


def parse_ranges(entries: list[str]) -> dict[str, list[tuple[int, int]]]:
    """``["physnet1:100:199", "physnet2"]`` -> ``{"physnet1": [(100, 199)],
    "physnet2": []}`` in the order given.  Raises ValueError naming the bad entry."""
    out: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        parts = [p.strip() for p in entry.split(":")]
        if not parts[0] or len(parts) not in (1, 3):
            raise ValueError(f"[network] network_vlan_ranges: {entry!r} is neither "
                             "'physnet' nor 'physnet:first:last'")
        ranges = out.setdefault(parts[0], [])
        if len(parts) == 3:
            try:
                first, last = int(parts[1]), int(parts[2])
            except ValueError:
                raise ValueError(f"[network] network_vlan_ranges: {entry!r}: VLAN ids "
                                 "must be integers") from None
            if not MIN_VLAN <= first <= last <= MAX_VLAN:
                raise ValueError(f"[network] network_vlan_ranges: {entry!r}: need "
                                 f"{MIN_VLAN} <= first <= last <= {MAX_VLAN}")
            ranges.append((first, last))
    return out


def lowest_free(ranges: dict[str, list[tuple[int, int]]], used: set[int],
                physical_network: str | None = None) -> tuple[str, int] | None:
    """(physnet, id) of the lowest free id of ``physical_network``'s ranges (of
    every physnet's, in configuration order, when None); None when exhausted."""
    for physnet, spans in ranges.items():
        if physical_network is not None and physnet != physical_network:
            continue
        for first, last in spans:
            for vid in range(first, last + 1):
                if vid not in used:
                    return physnet, vid
    return None


def _used(session) -> dict[int, str]:
    return {vid: physnet for vid, physnet in session.execute(
        select(m.Network.segmentation_id, m.Network.physical_network)
        .where(m.Network.network_type == "vlan"))}


def check_free(session, physical_network: str, vid: int) -> None:
    """409 if ``vid`` is taken (on this physnet or, schema-wide, on another)."""
    holder = _used(session).get(vid, False)
    if holder is False:
        return
    if holder == physical_network:
        raise exc.errors.Conflict(f"Unable to create the network. The VLAN {vid} on "
                                  f"physical network {physical_network} is in use.")
    raise exc.errors.Conflict(f"Unable to create the network. The VLAN {vid} is in use on "
                              f"physical network {holder}: this cloud keeps each VLAN id "
                              "unique across physical networks.")


def segment(session, conf, physical_network: str | None,
            segmentation_id) -> tuple[str, int]:
    """(physnet, VLAN id) of a new VLAN network, validated as ML2 does:
    400 for an unknown physnet, an id outside 1..4094, an id without a
    physnet, or no id on a physnet without a range; 409 for an id in use;
    503 NoNetworkAvailable when the ranges are exhausted."""
    try:
        ranges = parse_ranges(conf.network.network_vlan_ranges)
    except ValueError as e:   # the operator's configuration, not the request
        raise exc.errors.ServiceUnavailable(f"VLAN networks are misconfigured: {e}") from None
    if physical_network is not None:
        if physical_network not in ranges:
            raise exc.InvalidInput(f"physical_network '{physical_network}' unknown for VLAN "
                                   "provider network.")
        if segmentation_id is not None:
            if (isinstance(segmentation_id, bool) or not isinstance(segmentation_id, int)
                    or not MIN_VLAN <= segmentation_id <= MAX_VLAN):
                raise exc.InvalidInput(f"segmentation_id out of range ({MIN_VLAN} through "
                                       f"{MAX_VLAN}).")
            check_free(session, physical_network, segmentation_id)
            return physical_network, segmentation_id
        if not ranges[physical_network]:
            raise exc.InvalidInput(f"Physical network {physical_network} requires "
                                   "segmentation_id to be specified when creating a "
                                   "provider network.")
    elif segmentation_id is not None:
        raise exc.InvalidInput("segmentation_id requires physical_network for VLAN provider "
                               "network.")
    picked = lowest_free(ranges, set(_used(session)), physical_network)
    if picked is None:
        raise exc.NoNetworkAvailable()
    return picked


def remote_ports(session, host: str, networks: list) -> dict[str, list[dict]]:
    """network id -> ``[{"mac", "fixed_ips"}]`` of the ports bound to other
    hosts, for the VLAN networks among ``networks`` (rows ``host`` carries).
    A VLAN network is one broadcast domain across hosts, so every host's
    dnsmasq must know every port (as l2pop's ``remote_ports`` for VXLAN):
    whichever answers a DHCP broadcast gives the same address, none NAKs
    another host's client."""
    vlans = sorted(n.id for n in networks if n.network_type == "vlan")
    if not vlans:
        return {}
    from stratus.network.l2pop import NOT_ON_SEGMENT
    rows = session.execute(
        select(m.Port.id, m.Port.network_id, m.Port.mac_address, m.IPAllocation.ip_address,
               m.IPAllocation.subnet_id)
        .outerjoin(m.IPAllocation, m.IPAllocation.port_id == m.Port.id)
        .where(m.Port.network_id.in_(vlans), m.Port.host_id.is_not(None),
               m.Port.host_id != host, m.Port.device_owner.not_in(NOT_ON_SEGMENT)))
    ports: dict[str, dict] = {}
    for port_id, net_id, mac, ip, subnet_id in rows:
        p = ports.setdefault(port_id, {"network_id": net_id, "mac": mac, "fixed_ips": []})
        if ip:
            p["fixed_ips"].append({"subnet_id": subnet_id, "ip_address": ip})
    out: dict[str, list[dict]] = {n: [] for n in vlans}
    for p in sorted(ports.values(), key=lambda p: p["mac"]):
        out[p.pop("network_id")].append(
            dict(p, fixed_ips=sorted(p["fixed_ips"],
                                     key=lambda f: (f["subnet_id"], f["ip_address"]))))
    return out
