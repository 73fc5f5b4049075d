"""DHCP for one network on one host: a ``qdhcp-`` namespace holding the DHCP
port's veth end with its IP, the peer ``tap`` end on the network's bridge in
the host namespace, and a dnsmasq serving static leases (``--dhcp-range=...,
static``) from a hosts file.

Level-triggered: files are rewritten only when their content differs, and a
running dnsmasq is sent SIGHUP (it re-reads the hosts and opts files), never
restarted; it is restarted only if its command line must change (another
subnet) or it died.  Its pid lives in ``<state_dir>/dhcp/<network id>/pid``.

dnsmasq keeps leases in memory and refuses a configured address that is
still leased to another MAC ("not using configured address ... because it is
leased to ..."), so when an entry leaves the hosts file (a port deleted, its
address or MAC changed) its lease is released with a DHCPRELEASE sent from
the DHCP namespace, as neutron does with ``dhcp_release``; otherwise the next
port given that address gets no lease until the old one expires."""
from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import subprocess

from stratus.dataplane import bridge, netns
from stratus.dataplane.ip import addresses, ip, links

LOG = logging.getLogger(__name__)
DHCP_PREFIX = "qdhcp-"


def namespace(network_id: str, host_ns: str) -> str:
    return f"{DHCP_PREFIX}{network_id[:8]}-{host_ns.removeprefix('shost-')}"


def ns_dev(port_id: str) -> str:
    return "ns-" + port_id[:11]


def conf_dir(state_dir: str, network_id: str) -> str:
    return os.path.join(state_dir, "dhcp", network_id)


# -- file contents (pure) -------------------------------------------------------
def hostname(ip_address: str) -> str:
    return "host-" + ip_address.replace(".", "-")


def hosts_file(subnet: dict, ports: list[dict]) -> str:
    lines = []
    for p in sorted(ports, key=lambda p: p["mac_address"]):
        for f in p["fixed_ips"]:
            if f["subnet_id"] == subnet["id"]:
                lines.append(f"{p['mac_address']},{hostname(f['ip_address'])},"
                             f"{f['ip_address']}\n")
    return "".join(lines)


def opts_file(subnet: dict, mtu: int | None, metadata_nexthop: str | None = None) -> str:
    """``metadata_nexthop``: the DHCP port's address, where 169.254.169.254/32
    is routed (the metadata proxy listens in this namespace, as Neutron's
    isolated metadata does)."""
    tag = "tag:subnet0,"
    lines = []
    if subnet.get("dns_nameservers"):
        lines.append(tag + "option:dns-server," + ",".join(subnet["dns_nameservers"]))
    routes = [(r["destination"], r["nexthop"]) for r in subnet.get("host_routes") or []]
    if metadata_nexthop and not any(d == "169.254.169.254/32" for d, _ in routes):
        routes.append(("169.254.169.254/32", metadata_nexthop))
    if subnet.get("gateway_ip"):
        lines.append(tag + "option:router," + subnet["gateway_ip"])
        if routes:  # RFC 3442: clients ignore option 3 when 121 is present
            routes.append(("0.0.0.0/0", subnet["gateway_ip"]))
    else:
        lines.append(tag + "option:router")
    if routes:
        lines.append(tag + "option:classless-static-route," +
                     ",".join(f"{d},{n}" for d, n in routes))
    if mtu:
        lines.append(tag + f"option:mtu,{mtu}")
    return "".join(line + "\n" for line in lines)


def argv(ns: str, dev: str, subnet: dict, files: dict, lease: int) -> list[str]:
    net = ipaddress.ip_network(subnet["cidr"])
    return ["dnsmasq", "--no-hosts", "--no-resolv", "--port=0", "--conf-file=/dev/null",
            "--user=root", "--group=root", "--bind-interfaces", f"--interface={dev}",
            "--except-interface=lo", "--dhcp-authoritative", "--leasefile-ro",
            f"--pid-file={files['pid']}", f"--dhcp-hostsfile={files['host']}",
            f"--dhcp-optsfile={files['opts']}",
            f"--dhcp-range=set:subnet0,{net.network_address},static,{net.netmask},{lease}s"]


# -- side effects -----------------------------------------------------------------
def hosts_entries(content: str) -> set[tuple[str, str]]:
    """(mac, ip) pairs of a hosts file's content (pure)."""
    out = set()
    for line in content.splitlines():
        parts = line.strip().split(",")
        if len(parts) >= 3:
            out.add((parts[0].lower(), parts[-1]))
    return out


RELEASE = """
import socket, struct, sys
dev, server, addr, mac = sys.argv[1:5]
chaddr = bytes(int(x, 16) for x in mac.split(":")).ljust(16, b"\\0")
pkt = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x5354524c, 0, 0,
                  socket.inet_aton(addr), bytes(4), bytes(4), bytes(4), chaddr,
                  bytes(64), bytes(128))
pkt += bytes([99, 130, 83, 99, 53, 1, 7, 54, 4]) + socket.inet_aton(server) + bytes([255])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
s.sendto(pkt, (server, 67))
"""


def release(ns: str, dev: str, server: str, address: str, mac: str) -> None:
    """Send dnsmasq (listening on ``dev`` in ``ns``, address ``server``) a
    DHCPRELEASE of ``address`` for ``mac``, as ``dhcp_release`` does."""
    import sys
    subprocess.run(netns.exec_argv(ns, [sys.executable, "-c", RELEASE, dev, server, address,
                                        mac]), check=True, capture_output=True, timeout=30)


def _write_if_changed(path: str, content: str) -> bool:
    try:
        with open(path) as f:
            if f.read() == content:
                return False
    except FileNotFoundError:
        pass
    with open(path + ".tmp", "w") as f:
        f.write(content)
    os.replace(path + ".tmp", path)
    return True


def running_pid(state_dir: str, network_id: str) -> int | None:
    """The pid of this network's dnsmasq if that process is alive and is it."""
    path = os.path.join(conf_dir(state_dir, network_id), "pid")
    try:
        pid = int(open(path).read().strip())
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if "dnsmasq" in cmdline and conf_dir(state_dir, network_id) in cmdline else None


def _ensure_veth(host_ns: str, ns: str, network: dict, dhcp_port: dict, prefixlen: int) -> str:
    dev, peer = ns_dev(dhcp_port["id"]), bridge.tap_name(dhcp_port["id"])
    inside, outside = links(ns), links(host_ns)
    if dev not in inside or peer not in outside:
        for name, where in ((dev, ns), (peer, host_ns)):
            if name in (inside if where == ns else outside):
                ip(where, "link", "del", name)
        ip(host_ns, "link", "add", peer, "type", "veth", "peer", "name", dev, "netns", ns)
        inside, outside = links(ns), links(host_ns)
    if inside[dev]["address"] != dhcp_port["mac_address"]:
        ip(ns, "link", "set", dev, "address", dhcp_port["mac_address"])
    if network.get("mtu") and inside[dev]["mtu"] != network["mtu"]:
        ip(ns, "link", "set", dev, "mtu", str(network["mtu"]))
    if not inside[dev]["up"]:
        ip(ns, "link", "set", dev, "up")
    want = {f"{f['ip_address']}/{prefixlen}" for f in dhcp_port["fixed_ips"]}
    have = addresses(ns, dev)
    for a in sorted(have - want):
        ip(ns, "addr", "del", a, "dev", dev)
    for a in sorted(want - have):
        ip(ns, "addr", "add", a, "dev", dev)
    bridge.attach(host_ns, peer, network, outside[peer])
    return dev


def ensure(host_ns: str, network: dict, subnet: dict, dhcp_port: dict, ports: list[dict], *,
           state_dir: str, lease_seconds: int = 86400) -> str:
    """Converge DHCP of ``network`` on this host; returns "started", "reloaded"
    or "unchanged".  ``ports`` are the ports to serve (the DHCP port's own
    entry is ignored); ``dhcp_port`` holds an address on ``subnet``."""
    ns = namespace(network["id"], host_ns)
    netns.ensure(ns)
    prefixlen = ipaddress.ip_network(subnet["cidr"]).prefixlen
    dhcp_port = {**dhcp_port, "fixed_ips": [f for f in dhcp_port["fixed_ips"]
                                            if f["subnet_id"] == subnet["id"]]}
    dev = _ensure_veth(host_ns, ns, network, dhcp_port, prefixlen)
    d = conf_dir(state_dir, network["id"])
    os.makedirs(d, exist_ok=True)
    files = {k: os.path.join(d, k) for k in ("host", "opts", "pid", "args")}
    served = [p for p in ports if p["id"] != dhcp_port["id"]]
    try:
        with open(files["host"]) as f:
            gone = hosts_entries(f.read())
    except FileNotFoundError:
        gone = set()
    gone -= hosts_entries(hosts_file(subnet, served))
    changed = _write_if_changed(files["host"], hosts_file(subnet, served))
    changed |= _write_if_changed(files["opts"], opts_file(
        subnet, network.get("mtu"), next((f["ip_address"] for f in dhcp_port["fixed_ips"]), None)))
    cmd = argv(ns, dev, subnet, files, lease_seconds)
    args_changed = _write_if_changed(files["args"], "\n".join(cmd) + "\n")
    pid = running_pid(state_dir, network["id"])
    if pid is not None and not args_changed:
        if changed:
            os.kill(pid, signal.SIGHUP)
            server = next((f["ip_address"] for f in dhcp_port["fixed_ips"]), None)
            for mac, address in sorted(gone) if server else ():
                try:
                    release(ns, dev, server, address, mac)
                except (OSError, subprocess.SubprocessError) as exc:   # the lease expires
                    LOG.warning("DHCPRELEASE of %s (%s) failed: %s", address, mac, exc)
            return "reloaded"
        return "unchanged"
    if pid is not None:
        _stop(pid)
    # dnsmasq daemonizes; its output goes to a file so nothing waits on a pipe.
    with open(os.path.join(d, "log"), "ab") as log:
        subprocess.run(netns.exec_argv(ns, cmd), check=True, stdin=subprocess.DEVNULL,
                       stdout=log, stderr=log, timeout=30)
    return "started"


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    import time
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}"):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def remove(host_ns: str, network_id: str, *, state_dir: str,
           dhcp_port_id: str | None = None) -> None:
    """Stop dnsmasq, delete the namespace (the veth pair goes with it) and the
    files.  Idempotent."""
    pid = running_pid(state_dir, network_id)
    if pid is not None:
        _stop(pid)
    netns.delete(namespace(network_id, host_ns))
    if dhcp_port_id is not None and bridge.tap_name(dhcp_port_id) in links(host_ns):
        ip(host_ns, "link", "del", bridge.tap_name(dhcp_port_id))
    shutil.rmtree(conf_dir(state_dir, network_id), ignore_errors=True)


def present(state_dir: str) -> set[str]:
    """Network ids with DHCP state recorded on this host."""
    base = os.path.join(state_dir, "dhcp")
    return set(os.listdir(base)) if os.path.isdir(base) else set()


def namespaces(host_ns: str) -> set[str]:
    """The DHCP namespaces of this host that exist in the kernel."""
    # qdhcp-<8 characters of the network id>-<host>: compare the host part
    # exactly, so host "b" never claims the namespaces of host "a-b".
    host = host_ns.removeprefix("shost-")
    start = len(DHCP_PREFIX) + 8
    return {n for n in netns.list_all()
            if n.startswith(DHCP_PREFIX) and n[start:start + 1] == "-" and n[start + 1:] == host}
