"""The lab's shape as a pure function: which hosts, their namespaces and
underlay addresses, and the names of the fabric that joins them.

A lab of N hosts named ``<prefix>1 .. <prefix>N``: each is a network
namespace ``shost-<host>`` (the name every agent uses for its host) with an
underlay interface ``ul0`` holding a fixed address of ``underlay_cidr``
(hosts get .11, .12, ...); the other end of each underlay veth is a port of
the fabric bridge ``fab0`` in the fabric namespace.  VXLAN tunnels run
between the ``ul0`` addresses.  Each host also has a provider interface
``ph0`` (physical network ``physnet1``), the other end a port of the
provider bridge ``phys0`` in the fabric namespace: a plain bridge (no VLAN
filtering) that carries the 802.1Q-tagged frames of VLAN networks between
hosts as a trunk switch would.  Names fit the kernel's 15 characters."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

FIRST_HOST_OFFSET = 11
PROVIDER_PHYSNET, PROVIDER_INTERFACE = "physnet1", "ph0"   # each host's agent maps them
MAX_HOSTS = 200


class LabError(ValueError):
    """A lab that cannot be built as asked (the message says why)."""


@dataclass(frozen=True)
class LabHost:
    index: int
    host: str               # compute host name the agent registers
    namespace: str          # shost-<host>
    underlay_ip: str        # its VXLAN endpoint
    prefixlen: int
    fabric_port: str        # the veth end on the fabric bridge
    provider_port: str = ""  # the veth end on the provider bridge (host side: ph0)


@dataclass(frozen=True)
class Lab:
    prefix: str
    fabric_namespace: str
    fabric_bridge: str
    hosts: tuple[LabHost, ...]
    provider_bridge: str = "phys0"


def physical_interface_mappings() -> list[str]:
    """``[linux_bridge] physical_interface_mappings`` of every lab host's agent."""
    return [f"{PROVIDER_PHYSNET}:{PROVIDER_INTERFACE}"]


def host_namespace(host: str) -> str:
    return f"shost-{host}"[:15]


def plan(n: int, prefix: str = "lab", underlay_cidr: str = "10.250.0.0/24") -> Lab:
    if not isinstance(n, int) or n < 1:
        raise LabError("a lab needs at least one host")
    if n > MAX_HOSTS:
        raise LabError(f"a lab has at most {MAX_HOSTS} hosts")
    if not prefix or not prefix.isalnum() or not prefix[0].isalpha() or len(prefix) > 6:
        raise LabError("the lab prefix must be 1-6 letters or digits, starting with a letter")
    try:
        net = ipaddress.IPv4Network(underlay_cidr)
    except ValueError as exc:
        raise LabError(f"underlay_cidr {underlay_cidr!r}: {exc}") from None
    if net.num_addresses - 2 < FIRST_HOST_OFFSET + n:
        raise LabError(f"underlay_cidr {underlay_cidr} is too small for {n} hosts")
    hosts = []
    for i in range(1, n + 1):
        host = f"{prefix}{i}"
        hosts.append(LabHost(index=i, host=host, namespace=host_namespace(host),
                             underlay_ip=str(net.network_address + FIRST_HOST_OFFSET + i - 1),
                             prefixlen=net.prefixlen, fabric_port=f"ul-{prefix}{i}"[:15],
                             provider_port=f"ph-{prefix}{i}"[:15]))
    return Lab(prefix=prefix, fabric_namespace=f"sfab-{prefix}"[:15], fabric_bridge="fab0",
               hosts=tuple(hosts))
