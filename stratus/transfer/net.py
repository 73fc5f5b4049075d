"""Socket helpers: UDP sockets with large buffers, path MTU discovery, kernel
receive timestamps and UDP GRO for the receiver, and the PROBE packet a
receiving client sends so the server learns its address."""
from __future__ import annotations

import socket
import struct
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.transfer import crypto, wire

# Linux values (the socket module does not export them all).
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)
IP_MTU = getattr(socket, "IP_MTU", 14)
SO_RCVBUFFORCE, SO_SNDBUFFORCE = 33, 32
BUFFER = 64 << 20           # socket buffers: 0.5 s at 1 Gbit/s (a receiver descheduled
                            # for a while must not overflow; memory is used only when behind)
PROBE_SEQ_BASE = 1 << 63      # probes use report nonces with the top bit set

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_UDP = getattr(socket, "SOL_UDP", 17)
UDP_GRO = getattr(socket, "UDP_GRO", 104)
_TIMESPEC = struct.Struct("@qq")
_INT = struct.Struct("@i")
_ANC = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_INT.size)


def kernel_timestamps(sock: socket.socket) -> bool:
    """Ask for the kernel's receive time of every datagram (SO_TIMESTAMPNS):
    the one-way delay then excludes the time a packet waited in the socket
    buffer for this process to be scheduled."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def enable_gro(sock: socket.socket) -> bool:
    """UDP GRO (Linux >= 5.0): the kernel may hand several consecutive
    datagrams of one flow over in one recvmsg, with their size in a UDP_GRO
    control message (read_ancillary); one system call for many packets."""
    try:
        sock.setsockopt(SOL_UDP, UDP_GRO, 1)
        return True
    except OSError:
        return False


def read_ancillary(anc, total: int) -> tuple[int | None, int]:
    """(kernel receive time in µs of CLOCK_REALTIME or None, segment size) from
    the control messages of one recvmsg of ``total`` bytes.  Without a
    UDP_GRO message the buffer is one datagram (segment size = total); with
    one, the buffer is datagrams of that size, the last possibly shorter."""
    stamp, seg = None, total
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = _TIMESPEC.unpack_from(data)
            stamp = sec * 1_000_000 + nsec // 1000
        elif level == SOL_UDP and kind == UDP_GRO and len(data) >= _INT.size:
            size = _INT.unpack_from(data)[0]
            if 0 < size < total:
                seg = size
    return stamp, max(seg, 1)


def udp_socket(host: str, port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    for force, opt in ((SO_RCVBUFFORCE, socket.SO_RCVBUF), (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
        try:
            s.setsockopt(socket.SOL_SOCKET, force, BUFFER)   # root: above rmem_max
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, opt, BUFFER)
    if family == socket.AF_INET:
        try:   # DF set: datagrams are never fragmented (a too-large one fails)
            s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        except OSError:
            pass
    s.bind((host, port))
    return s


def path_mtu(host: str, port: int) -> int:
    """The route MTU towards host (IP_MTU of a connected UDP socket); 1500 if unknown."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            if family == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
            s.connect((host, port))
            if family == socket.AF_INET:
                return s.getsockopt(socket.IPPROTO_IP, IP_MTU)
            return s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MTU)
        except OSError:
            return 1500


def probe_packet(key: bytes, session: int, k: int) -> bytes:
    seq = PROBE_SEQ_BASE | k
    hdr = wire.SHORT.pack(wire.T_PROBE, wire.C2S, 0, session, seq)
    return hdr + AESGCM(key).encrypt(crypto.report_nonce(wire.C2S, seq), b"", hdr)


def wait_probe(sock: socket.socket, key: bytes, session: int, timeout: float):
    """Wait for an authentic PROBE; connect the socket to its source and
    return the address (None on timeout).  Anything else is ignored."""
    aead = AESGCM(key)
    deadline = time.monotonic() + timeout
    buf = bytearray(2048)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            n, addr = sock.recvfrom_into(buf)
        except (socket.timeout, ConnectionRefusedError):
            continue
        pkt = bytes(buf[:n])
        try:
            t, d, sess, seq = wire.unpack_short(pkt)
            if t != wire.T_PROBE or d != wire.C2S or sess != session:
                continue
            aead.decrypt(crypto.report_nonce(d, seq), pkt[wire.SHORT.size:],
                         pkt[:wire.SHORT.size])
        except (wire.WireError, InvalidTag):
            continue
        sock.connect(addr)
        return addr
