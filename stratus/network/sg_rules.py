"""Security-group rule validation as upstream does it
(neutron/db/securitygroups_db.py ``_validate_security_group_rule``), pure:
a request dict in, the normalised column values out, or the upstream error.

Normalisation: ``ethertype`` case-insensitive to ``IPv4``/``IPv6``;
``protocol`` lower-cased, ``any`` → None, kept as given otherwise (a name or
a number 0-255, as upstream stores it); ``remote_ip_prefix`` to its network
address (``10.0.0.5/8`` → ``10.0.0.0/8``)."""
from __future__ import annotations

import ipaddress

from stratus.network import sg_exceptions as sgx
from stratus.network.ipam import InvalidInput

PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
             "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
             "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
             "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
             "vrrp": 112}
PORT_PROTOCOLS = {6, 17, 33, 132, 136}      # tcp udp dccp sctp udplite
ICMP_PROTOCOLS = {1, 58}
V6_ONLY = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts",
           "ipv6-route"}
ETHERTYPES = {"ipv4": "IPv4", "ipv6": "IPv6"}
DIRECTIONS = ("ingress", "egress")


def protocol_number(protocol: str | None) -> int | None:
    """The IP protocol number of a stored protocol value (None: any)."""
    if protocol is None:
        return None
    if protocol in PROTOCOLS:
        return PROTOCOLS[protocol]
    return int(protocol)


def _protocol(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", "any"):
        return None
    if text in PROTOCOLS:
        return text
    if text.isdigit() and 0 <= int(text) <= 255:
        return str(int(text))
    raise sgx.SecurityGroupRuleInvalidProtocol(value, sorted(PROTOCOLS) + ["any"])


def _port(value, name: str):
    """Upstream's convert_validate_port_value: None or an integer 0-65535."""
    if value is None:
        return None
    try:
        number = int(value)
        if isinstance(value, bool) or not 0 <= number <= 65535:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(f"Invalid value for port {value}.") from None
    return number


def _port_range(protocol: str | None, lo, hi) -> None:
    if lo is None and hi is None:
        return
    if protocol is None:
        raise sgx.SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(protocol)
    if number in PORT_PROTOCOLS:
        if lo == 0 or hi == 0:
            raise sgx.SecurityGroupInvalidPortValue(0)
        if lo is None or hi is None or lo > hi or lo < 0 or hi < 0:
            raise sgx.SecurityGroupInvalidPortRange()
    elif number in ICMP_PROTOCOLS:
        for value, field, attr in ((lo, "type", "port_range_min"),
                                   (hi, "code", "port_range_max")):
            if value is not None and not 0 <= value <= 255:
                raise sgx.SecurityGroupInvalidIcmpValue(field, attr, value)
        if lo is None and hi is not None:
            raise sgx.SecurityGroupMissingIcmpType(hi)
    else:
        raise sgx.SecurityGroupInvalidProtocolForPort(protocol)


def normalise(rule: dict) -> dict:
    """Validated column values of a rule request (``direction``,
    ``ethertype``, ``protocol``, ``port_range_min/max``, ``remote_ip_prefix``,
    ``remote_group_id``, ``description``); raises the upstream 400s."""
    direction = rule.get("direction")
    if direction not in DIRECTIONS:
        raise sgx.SecurityGroupRuleInvalidDirection(direction)
    raw_eth = rule.get("ethertype") or "IPv4"
    ethertype = ETHERTYPES.get(str(raw_eth).lower())
    if ethertype is None:
        raise sgx.SecurityGroupRuleInvalidEtherType(raw_eth)
    protocol = _protocol(rule.get("protocol"))
    if ethertype == "IPv4" and protocol is not None and (
            protocol in V6_ONLY or protocol == "58"):
        raise sgx.SecurityGroupEthertypeConflictWithProtocol(ethertype, protocol)
    lo = _port(rule.get("port_range_min"), "port_range_min")
    hi = _port(rule.get("port_range_max"), "port_range_max")
    _port_range(protocol, lo, hi)
    prefix = rule.get("remote_ip_prefix")
    group = rule.get("remote_group_id")
    if prefix is not None and (group is not None or rule.get("remote_address_group_id")):
        raise sgx.SecurityGroupRemoteGroupAndRemoteIpPrefix()
    if prefix is not None:
        try:
            net = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            raise sgx.errors.BadRequest(f"Invalid input for remote_ip_prefix. Reason: "
                                        f"'{prefix}' is not a valid IP subnet.") from None
        if ETHERTYPES[f"ipv{net.version}"] != ethertype:
            raise sgx.SecurityGroupRuleParameterConflict(ethertype, prefix)
        prefix = str(net)
    return {"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": lo, "port_range_max": hi, "remote_ip_prefix": prefix,
            "remote_group_id": group, "description": rule.get("description") or ""}


def same_rule(a: dict, b: dict) -> bool:
    """Upstream's duplicate test: equal on every matching field (a prefix of
    0.0.0.0/0 or ::/0 equals none)."""
    def key(r):
        prefix = r.get("remote_ip_prefix")
        if prefix in ("0.0.0.0/0", "::/0"):
            prefix = None
        proto = r.get("protocol")
        number = protocol_number(proto)
        return (r["direction"], r["ethertype"], number, r.get("port_range_min"),
                r.get("port_range_max"), prefix, r.get("remote_group_id"))
    return key(a) == key(b)
