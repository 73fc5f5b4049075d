"""Per-network Linux bridges and per-port taps in a host namespace.

Names (as Neutron's Linux bridge agent): bridge ``brq`` + network id[:11],
tap ``tap`` + port id[:11].  A VM's tap is persistent (``ip tuntap``) so QEMU
opens it by name; its MAC is the port's with the first octet ``fe`` (as
libvirt does) so the bridge never takes the guest's address.  Every function
reads the links first and changes only what differs."""
from __future__ import annotations

from stratus.dataplane.ip import ip, links

BRIDGE_PREFIX, TAP_PREFIX = "brq", "tap"


def bridge_name(network_id: str) -> str:
    return BRIDGE_PREFIX + network_id[:11]


def tap_name(port_id: str) -> str:
    return TAP_PREFIX + port_id[:11]


def tap_mac(port_mac: str) -> str:
    return "fe" + port_mac[2:]


def ensure_network(host_ns: str, network: dict) -> str:
    """Bridge of ``network`` ({"id", "mtu"}) up with the network's MTU."""
    name = bridge_name(network["id"])
    have = links(host_ns).get(name)
    if have is None:
        ip(host_ns, "link", "add", name, "type", "bridge")
        have = {"up": False, "mtu": None}
    if network.get("mtu") and have["mtu"] != network["mtu"]:
        ip(host_ns, "link", "set", name, "mtu", str(network["mtu"]))
    if not have["up"]:
        ip(host_ns, "link", "set", name, "up")
    return name


def attach(host_ns: str, dev: str, network: dict, have: dict) -> None:
    """Put an existing link on the network's bridge, MTU and up, if not so yet."""
    br = bridge_name(network["id"])
    if have.get("master") != br:
        ip(host_ns, "link", "set", dev, "master", br)
    if network.get("mtu") and have.get("mtu") != network["mtu"]:
        ip(host_ns, "link", "set", dev, "mtu", str(network["mtu"]))
    if not have.get("up"):
        ip(host_ns, "link", "set", dev, "up")


def plug_tap(host_ns: str, port: dict, network: dict | None = None) -> str:
    """Persistent tap of ``port`` ({"id", "network_id", "mac_address"}) on its
    network's bridge, up.  ``network`` gives the MTU (bridge's otherwise)."""
    name = tap_name(port["id"])
    current = links(host_ns)
    have = current.get(name)
    if have is not None and have["kind"] != "tun":
        ip(host_ns, "link", "del", name)       # a stale device of another kind
        have = None
    if have is None:
        ip(host_ns, "tuntap", "add", "dev", name, "mode", "tap")
        have = {"up": False, "master": None, "mtu": None, "address": None}
    mac = tap_mac(port["mac_address"])
    if have.get("address") != mac:
        ip(host_ns, "link", "set", name, "address", mac)
    br = current.get(bridge_name(port["network_id"])) or {}
    net = network or {"id": port["network_id"], "mtu": br.get("mtu")}
    attach(host_ns, name, net, have)
    return name


def unplug_tap(host_ns: str, port_id: str) -> bool:
    name = tap_name(port_id)
    if name not in links(host_ns):
        return False
    ip(host_ns, "link", "del", name)
    return True


def remove_network(host_ns: str, network_id: str) -> bool:
    name = bridge_name(network_id) if not network_id.startswith(BRIDGE_PREFIX) else network_id
    if name not in links(host_ns):
        return False
    ip(host_ns, "link", "del", name)
    return True
