"""The per-host metadata proxy: 169.254.169.254:80 inside every DHCP
namespace of the host, forwarding to the metadata service's unix socket.

A VM reaches 169.254.169.254 through the classless static route DHCP gives
it (via the DHCP port's address, stratus/dataplane/dnsmasq.py), so its
packets arrive in the network's ``qdhcp-`` namespace with the VM's fixed IP
as source.  The listening socket is made inside that namespace (a short-lived
helper thread ``setns`` there; the socket keeps its namespace), so the peer
address is the VM's own and the namespace names the network: the proxy sets
``X-Forwarded-For`` and ``X-Neutron-Network-ID`` from those two facts and
drops whatever identity headers the VM sent.

Level-triggered: ``sync(state)`` looks at the listeners it holds and at the
namespaces (by inode), opens what is missing, closes what is no longer
wanted, and leaves a healthy listener alone (a re-sync never restarts it).
One accept thread per listener, one short thread per request."""
from __future__ import annotations

import ctypes
import logging
import os
import socket
import threading

from stratus.dataplane import dnsmasq, netns
from stratus.dataplane.ip import addresses, ip

LOG = logging.getLogger(__name__)
METADATA_IP, METADATA_PORT = "169.254.169.254", 80
CLONE_NEWNET, IP_FREEBIND = 0x40000000, 15
MAX_HEAD = 16384
DROP = {"x-forwarded-for", "x-neutron-network-id", "x-neutron-router-id", "x-instance-id",
        "x-instance-id-signature", "x-tenant-id", "connection", "keep-alive",
        "proxy-connection", "host"}
_libc = ctypes.CDLL(None, use_errno=True)


def wanted(state: dict, host_ns: str) -> dict[str, str]:
    """{DHCP namespace: network id} of the networks this host serves DHCP for (pure)."""
    nets = {n["id"] for n in state.get("networks", [])}
    return {dnsmasq.namespace(p["network_id"], host_ns): p["network_id"]
            for p in state.get("ports", [])
            if p.get("device_owner") == "network:dhcp" and p["network_id"] in nets
            and p.get("fixed_ips")}


def ns_inode(ns: str) -> int | None:
    try:
        return os.stat(os.path.join(netns.NETNS_DIR, ns)).st_ino
    except FileNotFoundError:
        return None


def listen_in(ns: str, address=(METADATA_IP, METADATA_PORT)) -> socket.socket:
    """A listening TCP socket made inside namespace ``ns``."""
    out: dict = {}

    def make():
        try:
            fd = os.open(os.path.join(netns.NETNS_DIR, ns), os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            finally:
                os.close(fd)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            s.bind(address)
            s.listen(64)
            out["sock"] = s
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller
            out["error"] = exc
    t = threading.Thread(target=make, name=f"mdproxy-setns-{ns}")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["sock"]


def ensure_address(ns: str) -> bool:
    """169.254.169.254/32 on the namespace's loopback; True if added."""
    if f"{METADATA_IP}/32" in addresses(ns, "lo"):
        return False
    ip(ns, "addr", "add", f"{METADATA_IP}/32", "dev", "lo")
    return True


def rewrite_head(head: bytes, peer_ip: str, network_id: str) -> bytes | None:
    """The request head to forward (pure): the VM's identity headers dropped,
    the proxy's added, ``Connection: close``.  None if not GET/HEAD."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
        return None
    kept = [ln for ln in lines[1:] if ln and ":" in ln
            and ln.split(":", 1)[0].strip().lower() not in DROP]
    out = [f"{parts[0]} {parts[1]} HTTP/1.0", *kept, "Host: 169.254.169.254",
           f"X-Forwarded-For: {peer_ip}", f"X-Neutron-Network-ID: {network_id}",
           "Connection: close", "", ""]
    return "\r\n".join(out).encode("latin-1")


class Listener:
    def __init__(self, ns: str, network_id: str, sock: socket.socket, inode: int,
                 upstream: str):
        self.ns, self.network_id, self.sock, self.inode = ns, network_id, sock, inode
        self.upstream = upstream
        self.thread = threading.Thread(target=self._accept, name=f"mdproxy-{ns}", daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return                                  # closed by close()
            threading.Thread(target=self._serve, args=(conn, peer[0]), daemon=True).start()

    def _serve(self, conn: socket.socket, peer_ip: str):
        with conn:
            conn.settimeout(10)
            try:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                request = rewrite_head(head.split(b"\r\n\r\n", 1)[0], peer_ip,
                                       self.network_id)
                if request is None:
                    conn.sendall(b"HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0"
                                 b"\r\nConnection: close\r\n\r\n")
                    return
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as up:
                    up.settimeout(30)
                    up.connect(self.upstream)
                    up.sendall(request)
                    while chunk := up.recv(65536):
                        conn.sendall(chunk)
            except OSError as exc:
                LOG.debug("metadata proxy %s: %s", self.ns, exc)
                try:
                    conn.sendall(b"HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)     # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()


class MetadataProxy:
    """One per host agent.  ``upstream``: the metadata service's unix socket."""

    def __init__(self, host_ns: str, upstream: str):
        self.host_ns, self.upstream = host_ns, upstream
        self.listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()

    def sync(self, state: dict) -> list[str]:
        """Converge; returns what it did (``open <ns>``, ``close <ns>``, ``address <ns>``)."""
        done, failures = [], []
        with self._lock:
            want = wanted(state, self.host_ns)
            for ns in sorted(set(self.listeners) - set(want)):
                self.listeners.pop(ns).close()
                done.append(f"close {ns}")
            for ns, network_id in sorted(want.items()):
                inode = ns_inode(ns)
                if inode is None:
                    continue                           # DHCP not plumbed yet: next sync
                try:
                    if ensure_address(ns):
                        done.append(f"address {ns}")
                    have = self.listeners.get(ns)
                    if have is not None and have.inode == inode and \
                            have.network_id == network_id and have.thread.is_alive():
                        continue
                    if have is not None:
                        self.listeners.pop(ns).close()
                    self.listeners[ns] = Listener(ns, network_id, listen_in(ns), inode,
                                                  self.upstream)
                    done.append(f"open {ns}")
                except Exception as exc:  # noqa: BLE001 - one namespace does not stop others
                    LOG.warning("metadata proxy in %s: %s", ns, exc)
                    failures.append(f"{ns}: {exc}")
        if failures:
            raise RuntimeError("metadata proxy: " + "; ".join(failures))
        return done

    def close(self) -> None:
        with self._lock:
            for listener in self.listeners.values():
                listener.close()
            self.listeners.clear()
