"""The security-group part of a host's desired state (the ``firewall`` key of
``ports.host_network_state``), and who must hear of a change.

``firewall`` = {"ports": {port_id: {"port_security_enabled",
"security_groups", "allowed_address_pairs"}}, "groups": {group_id:
{"stateful", "rules": [...]}}, "members": {group_id: {"IPv4": [...],
"IPv6": [...]}}}.  ``groups`` holds the groups of the host's ports;
``members`` the addresses (fixed IPs and allowed address pairs) of every
port, on any host, bound to a group some rule names as its remote group."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select

from stratus.db.models import network as m
from stratus.db.models import security_group as sg
from stratus.network import port_security
from stratus.network import security_groups as groups


def _rule(r: sg.SecurityGroupRule) -> dict:
    return {"id": r.id, "direction": r.direction, "ethertype": r.ethertype,
            "protocol": r.protocol, "port_range_min": r.port_range_min,
            "port_range_max": r.port_range_max, "remote_ip_prefix": r.remote_ip_prefix,
            "remote_group_id": r.remote_group_id}


def members(session, group_ids) -> dict[str, dict[str, list[str]]]:
    out = {g: {"IPv4": set(), "IPv6": set()} for g in group_ids}
    if not out:
        return {}
    bound = list(session.execute(
        select(sg.PortSecurityGroupBinding.security_group_id, m.Port.id,
               m.Port.allowed_address_pairs)
        .join(m.Port, m.Port.id == sg.PortSecurityGroupBinding.port_id)
        .where(sg.PortSecurityGroupBinding.security_group_id.in_(list(out)))))
    ips: dict[str, list[str]] = {}
    for port_id, ip in session.execute(select(m.IPAllocation.port_id, m.IPAllocation.ip_address)
                                       .where(m.IPAllocation.port_id.in_(
                                           [b[1] for b in bound]))):
        ips.setdefault(port_id, []).append(ip)
    for group_id, port_id, pairs in bound:
        for addr in ips.get(port_id, []) + [p["ip_address"] for p in pairs or []]:
            net = ipaddress.ip_network(addr, strict=False)
            out[group_id][f"IPv{net.version}"].add(str(net))
    return {g: {fam: sorted(v) for fam, v in d.items()} for g, d in out.items()}


def firewall_state(session, ports: list[m.Port]) -> dict:
    bound = port_security.groups_of(session, [p.id for p in ports])
    used = sorted({g for gs in bound.values() for g in gs})
    rows = {g.id: g for g in session.scalars(select(sg.SecurityGroup)
                                               .where(sg.SecurityGroup.id.in_(used)))}
    rules = groups.rules_of(session, used)
    remote = sorted({r.remote_group_id for rs in rules.values() for r in rs
                     if r.remote_group_id})
    return {
        "ports": {p.id: {"port_security_enabled": bool(p.port_security_enabled),
                         "security_groups": bound[p.id],
                         "allowed_address_pairs": [dict(a) for a in
                                                   p.allowed_address_pairs or []]}
                  for p in ports},
        "groups": {g: {"stateful": rows[g].stateful, "rules": [_rule(r) for r in rules[g]]}
                   for g in used if g in rows},
        "members": members(session, remote),
    }


def hosts_for_groups(session, group_ids) -> set[str]:
    """Hosts whose firewall depends on ``group_ids``: those with a port in one
    of them, or in a group with a rule naming one of them as remote."""
    ids = set(group_ids)
    if not ids:
        return set()
    ids |= set(session.scalars(select(sg.SecurityGroupRule.security_group_id).where(
        sg.SecurityGroupRule.remote_group_id.in_(list(ids)))))
    return set(session.scalars(
        select(m.Port.host_id).distinct()
        .join(sg.PortSecurityGroupBinding, sg.PortSecurityGroupBinding.port_id == m.Port.id)
        .where(sg.PortSecurityGroupBinding.security_group_id.in_(list(ids)),
               m.Port.host_id != "")))


def bump(session, group_ids=(), hosts=()) -> set[str]:
    """Bump the revision of every host affected by a change to ``group_ids``
    (plus ``hosts``), so their agents converge on their next poll."""
    from stratus.compute import revision
    targets = hosts_for_groups(session, group_ids) | {h for h in hosts if h}
    for host in sorted(targets):
        revision.bump(session, host)
    return targets
