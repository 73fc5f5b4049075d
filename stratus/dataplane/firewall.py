"""Security groups → nftables, as a pure function of a host's desired state
(``stratus.network.ports.host_network_state``: ``ports``, ``networks`` and
``firewall``, see stratus/network/sg_state.py).  Side effects:
stratus/dataplane/nft.py.  Design: docs/design/network-security-groups.md.

Two tables named ``stratus-sg`` in the host namespace, replaced together in
one transaction:

- ``bridge stratus-sg`` sees frames on the bridge ports, so it knows which
  tap a frame came from and goes to.  ``port-in`` (prerouting) jumps to
  ``from-<port>``: it marks the packet with the port's index (low 16 bits of
  the mark) and drops what the port may not send (anti-spoofing of the
  source MAC, IPv4/IPv6 source and ARP sender, honouring allowed address
  pairs).  ``port-out`` (forward) ORs the destination port's index into the
  high 16 bits (``to-<port>``).
- ``inet stratus-sg`` holds the stateful rules (this kernel has no bridge
  conntrack; br_netfilter hands bridged IP packets to the inet hooks with
  conntrack).  ``sg-forward`` dispatches on the mark: the sender's
  ``egress-<port>`` (returns when allowed, drops otherwise) then the
  receiver's ``ingress-<port>`` (accepts or drops).  ``sg-zone`` gives each
  bridge its own conntrack zone, so equal addresses on two networks never
  share a connection entry.  Remote groups are named sets
  ``rg4-<group>``/``rg6-<group>``.

Ports with port security off, trusted ports (``network:*`` owners) and ports
without firewall data get no chains: their traffic is not filtered."""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from stratus.network.sg_rules import ICMP_PROTOCOLS, PORT_PROTOCOLS, protocol_number

TABLE = "stratus-sg"
FAMILIES = ("bridge", "inet")
MAX_PORTS = 0xFFFF
DHCP_V4_CLIENT = "udp sport 68 udp dport 67"
DHCP_V4_SERVER = "udp sport 67 udp dport 68"
DHCP_V6_CLIENT = "udp sport 546 udp dport 547"
DHCP_V6_SERVER = "udp sport 547 udp dport 546"
ND_OUT = "{ nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, " \
         "mld-listener-report, mld2-listener-report }"
ND_IN = "{ nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query }"


@dataclass
class Ruleset:
    """The desired contents of both tables: per family, chains (name → the
    lines inside its braces) and sets (name → (type, elements))."""
    chains: dict = field(default_factory=lambda: {f: {} for f in FAMILIES})
    sets: dict = field(default_factory=lambda: {f: {} for f in FAMILIES})
    ports: list = field(default_factory=list)     # filtered port ids, mark order

    def text(self) -> str:
        """The ``nft -f`` text declaring both tables (sets first)."""
        out = []
        for fam in FAMILIES:
            out.append(f"table {fam} {TABLE} {{")
            for name, (kind, elements) in sorted(self.sets[fam].items()):
                elems = f" elements = {{ {', '.join(elements)} }};" if elements else ""
                out.append(f"\tset {name} {{ type {kind}; flags interval;{elems} }}")
            for name, lines in self.chains[fam].items():
                out.append(f"\tchain {name} {{")
                out += [f"\t\t{line}" for line in lines]
                out.append("\t}")
            out.append("}")
        return "\n".join(out) + "\n"

    def digest(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()

    @property
    def empty(self) -> bool:
        return not self.ports


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address of ``mac``."""
    b = bytes(int(x, 16) for x in mac.split(":"))
    eui = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui))


def _collapse(addresses) -> list[str]:
    """Sorted, non-overlapping elements (overlapping interval elements are
    refused by the kernel)."""
    out = []
    parsed = [ipaddress.ip_network(a, strict=False) for a in addresses]
    for version in (4, 6):
        for n in ipaddress.collapse_addresses(p for p in parsed if p.version == version):
            out.append(str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n))
    return out


def _allowed(port: dict, fw: dict) -> dict[str, dict[int, list[str]]]:
    """{mac: {4: [addresses], 6: [addresses]}} the port may send from."""
    allowed: dict[str, set] = {port["mac_address"]: set()}
    for f in port.get("fixed_ips", []):
        allowed[port["mac_address"]].add(f["ip_address"])
    for pair in fw.get("allowed_address_pairs", []):
        allowed.setdefault(pair.get("mac_address") or port["mac_address"], set()).add(
            pair["ip_address"])
    out = {}
    for mac, addrs in sorted(allowed.items()):
        addrs = addrs | {link_local(mac)}
        coll = _collapse(addrs)
        out[mac] = {4: [a for a in coll if ":" not in a], 6: [a for a in coll if ":" in a]}
    return out


def _pairs_set(field_a: str, field_b: str, allowed: dict, version: int) -> str | None:
    elems = [f"{mac} . {a}" for mac, fams in allowed.items() for a in fams[version]]
    return f"{field_a} . {field_b} {{ {', '.join(elems)} }}" if elems else None


def from_port(index: int, port: dict, fw: dict) -> list[str]:
    """Bridge chain for frames a port sends: mark, then anti-spoofing."""
    allowed = _allowed(port, fw)
    macs = ", ".join(allowed)
    lines = [f"meta mark set 0x{index:08x}", f"ether saddr != {{ {macs} }} drop",
             "arp saddr ip 0.0.0.0 return"]
    arp = _pairs_set("arp saddr ether", "arp saddr ip", allowed, 4)
    v4 = _pairs_set("ether saddr", "ip saddr", allowed, 4)
    v6 = _pairs_set("ether saddr", "ip6 saddr", allowed, 6)
    lines += [f"{arp} return"] if arp else []
    lines += ["ether type arp drop",
              f"ip saddr 0.0.0.0 ip daddr 255.255.255.255 {DHCP_V4_CLIENT} return"]
    lines += [f"{v4} return"] if v4 else []
    lines += ["ether type ip drop", f"ip6 saddr :: icmpv6 type {ND_OUT} return",
              f"{v6} return", "ether type ip6 drop"]
    return lines


def _match(rule: dict) -> str:
    """The nft match of one security-group rule (without its verdict)."""
    v6 = rule["ethertype"] == "IPv6"
    parts = ["meta nfproto ipv6" if v6 else "meta nfproto ipv4"]
    side = "saddr" if rule["direction"] == "ingress" else "daddr"
    ipx = "ip6" if v6 else "ip"
    prefix = rule.get("remote_ip_prefix")
    if prefix and ipaddress.ip_network(prefix).prefixlen > 0:
        parts.append(f"{ipx} {side} {prefix}")
    if rule.get("remote_group_id"):
        parts.append(f"{ipx} {side} @{group_set(rule['remote_group_id'], 6 if v6 else 4)}")
    number = protocol_number(rule.get("protocol"))
    if number == 1 and v6:
        number = 58          # upstream: "icmp" on an IPv6 rule means ICMPv6
    lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
    if number is None:
        pass
    elif number in PORT_PROTOCOLS:
        parts.append(f"meta l4proto {number}")
        if lo is not None:
            parts.append(f"th dport {lo}" if lo == hi else f"th dport {lo}-{hi}")
    elif number in ICMP_PROTOCOLS:
        kind = "icmpv6" if number == 58 else "icmp"
        parts.append(f"meta l4proto {'ipv6-icmp' if number == 58 else 'icmp'}")
        if lo is not None:
            parts.append(f"{kind} type {lo}")
            if hi is not None:
                parts.append(f"{kind} code {hi}")
    else:
        parts.append(f"meta l4proto {number}")
    return " ".join(parts)


def group_set(group_id: str, version: int) -> str:
    return f"rg{version}-{group_id}"


def _rules(port_fw: dict, groups: dict, direction: str) -> list[str]:
    seen, out = set(), []
    for gid in port_fw.get("security_groups", []):
        for rule in (groups.get(gid) or {}).get("rules", []):
            if rule["direction"] == direction:
                m = _match(rule)
                if m not in seen:
                    seen.add(m)
                    out.append(m)
    return out


def egress(port_fw: dict, groups: dict, stateful: bool) -> list[str]:
    """Inet chain for what a port sends: returns when allowed, else drops."""
    lines = [f"{DHCP_V4_CLIENT} return", f"{DHCP_V4_SERVER} drop",
             f"{DHCP_V6_CLIENT} return", f"{DHCP_V6_SERVER} drop",
             "icmpv6 type nd-router-advert drop", f"icmpv6 type {ND_OUT} return"]
    if stateful:
        lines += ["ct state established,related return", "ct state invalid drop"]
    return lines + [f"{m} return" for m in _rules(port_fw, groups, "egress")] + ["drop"]


def ingress(port_fw: dict, groups: dict, stateful: bool) -> list[str]:
    """Inet chain for what a port receives: accepts or drops."""
    lines = []
    if stateful:
        lines += ["ct state established,related accept", "ct state invalid drop"]
    lines += [f"{DHCP_V4_SERVER} accept", f"{DHCP_V6_SERVER} accept",
              f"icmpv6 type {ND_IN} accept"]
    return lines + [f"{m} accept" for m in _rules(port_fw, groups, "ingress")] + ["drop"]


def conntrack_zone(network_id: str) -> int:
    """A stable zone per network (1-65535; a rare collision only shares a zone)."""
    return 1 + int(hashlib.sha256(network_id.encode()).hexdigest()[:8], 16) % 0xFFFF


def filtered_ports(state: dict) -> list[dict]:
    """The ports this host filters, in mark order."""
    fw = (state.get("firewall") or {}).get("ports") or {}
    out = [p for p in state.get("ports", [])
           if p["id"] in fw and fw[p["id"]].get("port_security_enabled")
           and not (p.get("device_owner") or "").startswith("network:")]
    out.sort(key=lambda p: p["id"])
    if len(out) > MAX_PORTS:
        raise ValueError(f"{len(out)} filtered ports on one host; at most {MAX_PORTS}")
    return out


def _vmap(key: str, entries: list[tuple[str, str]]) -> str:
    return f"{key} vmap {{ {', '.join(f'{k} : jump {c}' for k, c in entries)} }}"


def compile_ruleset(state: dict) -> Ruleset:
    """The whole desired ruleset of a host (pure, deterministic)."""
    fw = state.get("firewall") or {}
    groups, members = fw.get("groups") or {}, fw.get("members") or {}
    rs = Ruleset()
    ports = filtered_ports(state)
    rs.ports = [p["id"] for p in ports]
    b, i = rs.chains["bridge"], rs.chains["inet"]
    tap = {p["id"]: p.get("tap") or "tap" + p["id"][:11] for p in ports}
    b["port-in"] = ["type filter hook prerouting priority -200; policy accept;"]
    b["port-out"] = ["type filter hook forward priority -200; policy accept;"]
    i["sg-zone"] = ["type filter hook prerouting priority -300; policy accept;"]
    i["sg-forward"] = ["type filter hook forward priority 0; policy accept;"]
    i["sg-input"] = ["type filter hook input priority 0; policy accept;"]
    for n in sorted({p["network_id"] for p in ports}):
        i["sg-zone"].append(f'iifname "brq{n[:11]}" ct zone set {conntrack_zone(n)}')
    idx = {p["id"]: n + 1 for n, p in enumerate(ports)}
    if ports:
        b["port-in"].append(_vmap("iifname", [(f'"{tap[p["id"]]}"', f"from-{p['id']}")
                                              for p in ports]))
        b["port-out"].append(_vmap("oifname", [(f'"{tap[p["id"]]}"', f"to-{p['id']}")
                                               for p in ports]))
        out_map = _vmap("meta mark & 0x0000ffff",
                        [(f"0x{idx[p['id']]:08x}", f"egress-{p['id']}") for p in ports])
        in_map = _vmap("meta mark & 0xffff0000",
                       [(f"0x{idx[p['id']] << 16:08x}", f"ingress-{p['id']}") for p in ports])
        i["sg-forward"] += [out_map, in_map]
        i["sg-input"].append(out_map)
    remote: set[tuple[str, int]] = set()
    for p in ports:
        pfw = fw["ports"][p["id"]]
        used = [groups[g] for g in pfw.get("security_groups", []) if g in groups]
        stateful = not used or any(g.get("stateful", True) for g in used)
        b[f"from-{p['id']}"] = from_port(idx[p["id"]], p, pfw)
        b[f"to-{p['id']}"] = [f"meta mark set meta mark | 0x{idx[p['id']] << 16:08x}"]
        i[f"egress-{p['id']}"] = egress(pfw, groups, stateful)
        i[f"ingress-{p['id']}"] = ingress(pfw, groups, stateful)
        remote |= {(r["remote_group_id"], 6 if r["ethertype"] == "IPv6" else 4)
                   for g in used for r in g["rules"] if r.get("remote_group_id")}
    for rg, v in sorted(remote):    # once per set, however many ports use it
        addrs = (members.get(rg) or {}).get(f"IPv{v}", [])
        rs.sets["inet"][group_set(rg, v)] = ("ipv6_addr" if v == 6 else "ipv4_addr",
                                             _collapse(addrs))
    return rs


def transaction(desired: Ruleset, chains: dict, sets: dict) -> str:
    """One ``nft -f`` script turning the tables holding ``chains``/``sets``
    ({family: set of names}, as observed) into ``desired``: declare the
    tables, flush every existing chain and set, delete the ones no longer
    wanted, then add the desired contents.  The kernel applies the script
    as one transaction: packets see the old ruleset or the new, never a mix,
    and conntrack entries are untouched (tables are never deleted)."""
    lines = [f"add table {fam} {TABLE}" for fam in FAMILIES]
    for fam in FAMILIES:
        lines += [f"flush chain {fam} {TABLE} {c}" for c in sorted(chains.get(fam, ()))]
        lines += [f"flush set {fam} {TABLE} {s}" for s in sorted(sets.get(fam, ()))]
    for fam in FAMILIES:
        lines += [f"delete chain {fam} {TABLE} {c}"
                  for c in sorted(set(chains.get(fam, ())) - set(desired.chains[fam]))]
        lines += [f"delete set {fam} {TABLE} {s}"
                  for s in sorted(set(sets.get(fam, ())) - set(desired.sets[fam]))]
    return "\n".join(lines) + "\n" + desired.text()
