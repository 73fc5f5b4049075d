"""Client side of ``stratus transfer put/get``: authenticate with
keystoneauth (clouds.yaml / OS_* as the openstack CLI), find the
``object-transfer`` endpoint in the catalog, run one transfer.

``put``/``get`` return a result dict: bytes, seconds, goodput_mbps,
retransmitted_pct and the counters of both ends.  Errors raise
TransferError(status, message).
"""
from __future__ import annotations

import hashlib
import mmap
import os
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from stratus.transfer import control, net, wire
from stratus.transfer.blocks import BlockMap, SendQueue
from stratus.transfer.congestion import DelayController
from stratus.transfer.control import Control, ProtocolError
from stratus.transfer.receiver import Receiver
from stratus.transfer.sender import Sender
from stratus.transfer.staging import Staging, StagingError

INITIAL_RATE = 5e6


class TransferError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{message} (HTTP {status})")
        self.status, self.message = status, message


@dataclass
class Endpoint:
    host: str
    port: int
    token: str

    @classmethod
    def parse(cls, url: str, token: str) -> "Endpoint":
        u = urlparse(url)
        if u.scheme != "stratus-udp" or not u.hostname or not u.port:
            raise TransferError(400, f"not a transfer endpoint: {url}")
        return cls(u.hostname, u.port, token)


def endpoint_from_session(session, interface: str = "public", region: str | None = None
                          ) -> Endpoint:
    """The token and object-transfer endpoint of a keystoneauth session."""
    access = session.auth.get_access(session)
    url = access.service_catalog.url_for(service_type="object-transfer", interface=interface,
                                         region_name=region)
    return Endpoint.parse(url, session.get_token())


def _connect(ep: Endpoint) -> tuple[Control, float]:
    t0 = time.monotonic()
    sock = socket.create_connection((ep.host, ep.port), timeout=30)
    rtt = max(time.monotonic() - t0, 0.0005)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Control(sock), rtt


def _check(reply: dict, expected: str) -> dict:
    if reply.get("type") == "error":
        raise TransferError(int(reply.get("status", 500)), str(reply.get("message")))
    if reply.get("type") != expected:
        raise ProtocolError(f"expected {expected}, got {reply.get('type')}")
    return reply


def _udp_to(ep: Endpoint, port: int) -> socket.socket:
    s = net.udp_socket("::" if ":" in ep.host else "0.0.0.0")
    s.connect((ep.host, port))
    return s


def _file_sha256(path: str, out: dict) -> None:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(4 << 20)
        mv = memoryview(buf)
        while n := f.readinto(buf):
            h.update(mv[:n])
    out["sha256"] = h.hexdigest()


def put(ep: Endpoint, path: str, container: str, name: str, *, rate_limit_mbps: float = 0,
        transfer_id: str | None = None, mtu: int | None = None, progress=None,
        target_delay: float = 0.025, trace: list | None = None) -> dict:
    """Upload ``path`` as CONTAINER/NAME; resumes a transfer interrupted earlier
    (same file size, mtime and path, or the same ``transfer_id``)."""
    st = os.stat(path)
    size = st.st_size
    ctl, rtt = _connect(ep)
    started = time.monotonic()
    accepted = threading.Event()
    digest: dict = {}

    def hash_then_finish():
        # `finish` goes as soon as the hash is known (usually while data still
        # flows) when the server says it takes it early (`early_finish`): it
        # then commits without waiting one more round trip
        _file_sha256(path, digest)
        accepted.wait()
        if digest.get("go"):
            ctl.send({"type": "finish", "sha256": digest["sha256"]})
            digest["sent"] = True
    hasher = threading.Thread(target=hash_then_finish, daemon=True, name="transfer-hash")
    hasher.start()
    try:
        req = {"type": "request", "op": "put", "token": ep.token, "container": container,
               "object": name, "size": size, "mtime": int(st.st_mtime_ns),
               "path_hash": hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:16],
               "mtu": mtu or net.path_mtu(ep.host, ep.port)}
        if transfer_id:
            req["transfer_id"] = transfer_id
        reply, keys = control.client_handshake(ctl, req)
        try:
            acc = _check(reply, "accept")
            digest["go"] = acc.get("early_finish") is True
        finally:
            accepted.set()
        phases = {"accepted": time.monotonic() - started}
        bs, nblocks = acc["block_size"], acc["nblocks"]
        have = BlockMap.decode(nblocks, control.unb64(acc["have"]))
        todo = list(have.missing()) if acc.get("resumed") else range(nblocks)
        udp = _udp_to(ep, acc["data_port"])
        cap = rate_limit_mbps * 125_000.0
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) if size else b""
        try:
            tx = Sender(udp, keys.c2s, keys.s2c, wire.C2S, keys.session, data, size, bs,
                        SendQueue(nblocks, todo), DelayController(INITIAL_RATE,
                                                                  target_delay=target_delay),
                        srtt=rtt, local_cap=lambda: cap,
                        progress=(lambda n: progress(min(n * bs, size), size)) if progress
                        else None)
            tx.trace = trace
            tx.run(ctrl_sock=ctl.sock, timeout=60)
            phases["data_sent"] = time.monotonic() - started
        finally:
            if isinstance(data, mmap.mmap):
                data.close()
            udp.close()
        _check(ctl.recv(), "complete")
        phases["complete"] = time.monotonic() - started
        if progress:
            progress(size, size)
        hasher.join()
        if not digest.get("sent"):   # a server without early_finish: now
            ctl.send({"type": "finish", "sha256": digest["sha256"]})
        done = _check(ctl.recv(), "committed")
        phases["committed"] = time.monotonic() - started
    finally:
        accepted.set()
        ctl.close()
    secs = time.monotonic() - started
    sent = tx.queue.sent_new + tx.queue.sent_retx
    return {"bytes": size, "seconds": secs, "goodput_mbps": size * 8 / secs / 1e6 if secs else 0,
            "retransmitted_pct": 100.0 * tx.queue.sent_retx / sent if sent else 0.0,
            "sent_new": tx.queue.sent_new, "sent_retx": tx.queue.sent_retx,
            "send_blocked": tx.blocked, "nacks_ignored": tx.queue.ignored,
            "credit_forfeited": int(tx.forfeited), "send_calls": tx.batches,
            "resumed": bool(acc.get("resumed")), "blocks": nblocks, "block_size": bs,
            "transfer_id": acc["transfer_id"], "etag": done["etag"], "sha256": done["sha256"],
            "phases": {k: round(v, 3) for k, v in phases.items()},
            "server": done.get("counters", {})}


def get(ep: Endpoint, container: str, name: str, path: str, *, rate_limit_mbps: float = 0,
        mtu: int | None = None, progress=None) -> dict:
    """Download CONTAINER/NAME into ``path`` (written as ``path.part`` and
    renamed once its SHA-256 matches the server's)."""
    ctl, rtt = _connect(ep)
    started = time.monotonic()
    staging = None
    try:
        req = {"type": "request", "op": "get", "token": ep.token, "container": container,
               "object": name, "mtu": mtu or net.path_mtu(ep.host, ep.port),
               "rate_limit": rate_limit_mbps * 125_000.0}
        reply, keys = control.client_handshake(ctl, req)
        acc = _check(reply, "accept")
        size, bs = acc["size"], acc["block_size"]
        try:
            staging = Staging(os.path.abspath(path) + ".part", size, bs, {"etag": acc["etag"]})
        except StagingError as exc:
            raise TransferError(exc.status, exc.message) from None
        staging.map = BlockMap(staging.nblocks)    # a get always starts afresh
        udp = _udp_to(ep, acc["data_port"])
        rx = Receiver(udp, keys.s2c, keys.c2s, wire.S2C, keys.session, staging,
                      progress=(lambda n: progress(min(n * bs, size), size)) if progress
                      else None)
        probes = iter(range(1 << 30))

        def probe():
            try:
                udp.send(net.probe_packet(keys.c2s, keys.session, next(probes)))
            except OSError:
                pass
        rx.on_tick = probe
        if staging.nblocks:
            probe()
            result = rx.run(ctrl_sock=ctl.sock, timeout=60)
            if result != "complete":
                _check(ctl.recv(), "summary")
                raise TransferError(502, f"transfer stopped: {result}")
        udp.close()
        ctl.send({"type": "complete"})
        staging.checkpoint()
        md5, sha = staging.hashes()
        summary = _check(ctl.recv(), "summary")
    finally:
        ctl.close()
    staging.close()
    if summary.get("sha256") != sha:
        staging.remove()
        raise TransferError(422, "SHA-256 of the received data does not match the server's.")
    os.replace(staging.data_path, path)
    staging.remove()
    secs = time.monotonic() - started
    return {"bytes": size, "seconds": secs, "goodput_mbps": size * 8 / secs / 1e6 if secs else 0,
            "retransmitted_pct": _retx_pct(summary.get("counters", {})),
            "etag": summary.get("etag"), "md5": md5, "sha256": sha, "client": rx.counters,
            "server": summary.get("counters", {})}


def _retx_pct(counters: dict) -> float:
    sent = counters.get("sent_new", 0) + counters.get("sent_retx", 0)
    return 100.0 * counters.get("sent_retx", 0) / sent if sent else 0.0
