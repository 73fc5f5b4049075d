"""The transfer server: a TCP listener for control connections on
``[transfer] bind_host:port``; one thread per session, each with its own UDP
data socket (an ephemeral port told in the accept message).

Runs in its own process (``start_process``) so the API workers' GIL never
slows the receive path.  Uploads land in the object store through
stratus.objectstore.ingest; downloads read from it.
"""
from __future__ import annotations

import hashlib
import logging
import mmap
import os
import re
import socket
import threading
import time
from urllib.parse import urlparse

from stratus.api.context import RequestContext
from stratus.common import errors
from stratus.transfer import blocks, control, net, wire
from stratus.transfer.blocks import SendQueue
from stratus.transfer.congestion import DelayController
from stratus.transfer.control import Control, ProtocolError
from stratus.transfer.receiver import Receiver
from stratus.transfer.sender import Sender
from stratus.transfer.staging import Staging, StagingError

LOG = logging.getLogger(__name__)


class Unprocessable(errors.APIError):
    status, title = 422, "Unprocessable Entity"
TID = re.compile(r"^[0-9a-f]{16,64}$")
INITIAL_RATE = 5e6            # bytes/s (40 Mbit/s) before the first report


def transfer_port(conf) -> int:
    return conf.transfer.port or conf.api.bind_port + 2


def transfer_host(conf) -> str:
    return conf.transfer.bind_host or conf.api.bind_host


def catalog_url(conf) -> str:
    """``stratus-udp://HOST:PORT``: HOST is the public endpoint's host."""
    host = conf.transfer.public_host or urlparse(conf.public_endpoint).hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"stratus-udp://{host}:{transfer_port(conf)}"


def derive_transfer_id(user_id: str, account: str, container: str, name: str, req: dict) -> str:
    ident = [user_id, account, container, name, req.get("size"), req.get("mtime"),
             req.get("path_hash")]
    return hashlib.sha256(repr(ident).encode()).hexdigest()[:32]


class TransferServer:
    def __init__(self, conf, runtime=None, store=None):
        """``runtime``: authenticates tokens (stratus.api.runtime.Runtime);
        ``store``: the object store's ingest functions (module
        stratus.objectstore.ingest; tests pass a stand-in)."""
        if runtime is None:
            from stratus.api.runtime import Runtime
            runtime = Runtime(conf)
        if store is None:
            from stratus.objectstore import ingest as store
        self.conf = conf
        self.runtime = runtime
        self.store = store
        self.db = self.runtime.db
        self.host, self.port = transfer_host(conf), transfer_port(conf)
        self.max_rate = conf.transfer.max_rate_mbps * 125_000.0
        self.lock = threading.Lock()
        self.active: set[str] = set()
        self.listener: socket.socket | None = None
        self.stopping = threading.Event()
        # The UDP port told to the client; tests put a fault-injecting relay here.
        self.advertise = lambda port: port
        self.stats = {"sessions": 0, "committed": 0, "refused": 0, "tampered": 0}

    # -- lifecycle ------------------------------------------------------
    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(64)
        self.listener = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept_loop, name="transfer-accept", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        if self.listener is not None:
            self.listener.close()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._session, args=(conn,), daemon=True,
                             name="transfer-session").start()

    def share(self) -> float:
        """Bytes/s each active transfer may use under [transfer] max_rate_mbps (0: no cap)."""
        if not self.max_rate:
            return 0.0
        return self.max_rate / max(1, len(self.active))

    # -- one session ----------------------------------------------------
    def _session(self, conn: socket.socket) -> None:
        ctl = Control(conn)
        conn.settimeout(self.conf.transfer.idle_timeout)
        self.stats["sessions"] += 1
        try:
            t0 = time.monotonic()
            request, keys = control.server_handshake(ctl)
            rtt = max(time.monotonic() - t0, 0.0005)
            try:
                ctx = self._authenticate(request)
                op = request.get("op")
                if op == "put":
                    self._put(ctl, keys, ctx, request, rtt)
                elif op == "get":
                    self._get(ctl, keys, ctx, request, rtt)
                else:
                    raise errors.BadRequest("op must be put or get.")
            except (errors.APIError, StagingError) as exc:
                self.stats["refused"] += 1
                ctl.send({"type": "error", "status": exc.status, "message": exc.message})
        except (ProtocolError, OSError) as exc:
            LOG.info("transfer session ended: %s", exc)
        except Exception:  # never kill the server; tell the client
            LOG.exception("transfer session failed")
            try:
                ctl.send({"type": "error", "status": 500, "message": "Internal error."})
            except Exception:
                pass
        finally:
            ctl.close()

    def _authenticate(self, req: dict) -> RequestContext:
        token = req.get("token")
        if not isinstance(token, str) or not token:
            raise errors.Unauthorized("A Keystone token is required.")
        for field in ("container", "object"):
            v = req.get(field)
            if not isinstance(v, str) or not v or len(v.encode()) > (256 if field == "container"
                                                                    else 1024):
                raise errors.BadRequest(f"Invalid {field} name.")
        if "/" in req["container"]:
            raise errors.BadRequest("Invalid container name.")
        ctx = RequestContext(request_id="req-transfer-" + os.urandom(8).hex())
        method = "PUT" if req.get("op") == "put" else "GET"
        self.runtime.authenticate(ctx, {"x-auth-token": token}, service="object-store",
                                  method=method, path=f"/v1/{req['container']}/{req['object']}")
        if not ctx.project_id and not req.get("account"):
            raise errors.Forbidden("A project-scoped token is required.")
        return ctx

    def _account(self, ctx, req) -> str:
        acct = req.get("account") or f"AUTH_{ctx.project_id}"
        if not isinstance(acct, str) or not acct.startswith("AUTH_"):
            raise errors.BadRequest("Invalid account.")
        return acct

    def _block_size(self, req) -> int:
        mtu = req.get("mtu", 1500)
        if not isinstance(mtu, int) or mtu < 576:
            raise errors.BadRequest("Invalid mtu.")
        return wire.block_size_for_mtu(min(mtu, 65536), ":" in self.host)

    @staticmethod
    def _check_blocks(size: int, bs: int) -> None:
        """Block numbers are u32 on the wire: refuse a larger object (400)."""
        why = wire.block_limit(size, bs)
        if why:
            raise errors.BadRequest(why)

    def _udp(self) -> socket.socket:
        return net.udp_socket(self.host, 0)

    def _put(self, ctl: Control, keys, ctx, req: dict, rtt: float) -> None:
        ingest = self.store
        conf, db = self.conf, self.db
        account, container, name = self._account(ctx, req), req["container"], req["object"]
        size = req.get("size")
        if not isinstance(size, int) or size < 0:
            raise errors.BadRequest("Invalid size.")
        if size > conf.object_store.max_file_size:
            raise errors.PayloadTooLarge(f"Object of {size} bytes exceeds max_file_size.")
        ingest.authorize_write(db, conf, ctx, account, container)
        tid = req.get("transfer_id") or derive_transfer_id(ctx.user_id, account, container,
                                                           name, req)
        if not isinstance(tid, str) or not TID.match(tid):
            raise errors.BadRequest("Invalid transfer_id (16-64 lower-case hex digits).")
        bs = self._block_size(req)
        self._check_blocks(size, bs)
        with self.lock:
            if tid in self.active:
                raise errors.Conflict(f"Transfer {tid} is already running.")
            self.active.add(tid)
        staging = None
        try:
            identity = {"user": ctx.user_id, "account": account, "container": container,
                        "object": name}
            base = os.path.join(ingest.staging_dir(conf), f"xfer-{tid}")
            staging = Staging(base, size, bs, identity)
            udp = self._udp()
            ctl.send({"type": "accept", "transfer_id": tid,
                      "data_port": self.advertise(udp.getsockname()[1]),
                      "block_size": staging.block_size, "nblocks": staging.nblocks,
                      "resumed": staging.resumed, "have": control.b64(staging.map.encode()),
                      "cap": self.share(), "early_finish": True})
            rx = Receiver(udp, keys.c2s, keys.s2c, wire.C2S, keys.session, staging,
                          cap=self.share, connected=False)
            rx.srtt = rtt
            early: dict = {}

            def on_control() -> bool:
                """A client may send ``finish`` before the last block arrives
                (as soon as it knows the hash): keep it, go on receiving."""
                try:
                    msg = ctl.recv()
                except (ProtocolError, OSError) as exc:   # EOF / reset: the client is gone
                    early["other"] = exc
                    return False
                if msg.get("type") == "finish" and "finish" not in early:
                    early["finish"] = msg
                    return True
                early["other"] = msg
                return False
            result = rx.run(ctrl_sock=ctl.sock, timeout=conf.transfer.idle_timeout,
                            on_control=on_control)
            udp.close()
            self.stats["tampered"] += rx.counters["tampered"]
            if result != "complete":
                staging.checkpoint()
                msg = early.get("other", {"type": "timeout"})
                if isinstance(msg, Exception):
                    raise msg
                if msg.get("type") == "abort":
                    staging.close()
                    staging.remove()
                # else: the map is durable; the same put resumes
                return
            ctl.send({"type": "complete", "counters": rx.counters})
            staging.checkpoint()            # while "complete" (or "finish") is in flight
            msg = early.get("finish") or ctl.recv()
            if msg.get("type") != "finish":
                raise ProtocolError(f"expected finish, got {msg.get('type')}")
            md5, sha = staging.hashes()
            staging.close()
            if msg.get("sha256") != sha:
                staging.remove()
                raise Unprocessable("The SHA-256 of the received object does not match the "
                                    "client's; nothing was committed.")
            info = ingest.commit_file(db, conf, account, container, name, staging.data_path,
                                      etag=md5, content_type=req.get("content_type") or
                                      "application/octet-stream")
            staging.remove()
            self.stats["committed"] += 1
            ctl.send({"type": "committed", "etag": info.etag, "size": info.size,
                      "sha256": sha, "counters": rx.counters})
        finally:
            if staging is not None:
                staging.close()
            with self.lock:
                self.active.discard(tid)

    def _get(self, ctl: Control, keys, ctx, req: dict, rtt: float) -> None:
        ingest = self.store
        conf, db = self.conf, self.db
        account, container, name = self._account(ctx, req), req["container"], req["object"]
        ingest.authorize_read(db, conf, ctx, account, container, name)
        f, info = ingest.open_object(db, conf, account, container, name)
        try:
            bs = self._block_size(req)
            self._check_blocks(info.size, bs)
        except errors.APIError:
            f.close()
            raise
        data, spool = _mapped(f, info.size, ingest.staging_dir(conf))
        digest: dict = {}
        hasher = threading.Thread(target=lambda: digest.update(sha256=hashlib.sha256(
            data).hexdigest() if info.size else hashlib.sha256().hexdigest()), daemon=True)
        hasher.start()
        tid = os.urandom(16).hex()
        with self.lock:
            self.active.add(tid)
        udp = self._udp()
        try:
            nblocks = blocks.block_count(info.size, bs)
            todo: list[int] | range = range(nblocks)
            ctl.send({"type": "accept", "size": info.size, "etag": info.etag, "block_size": bs,
                      "nblocks": nblocks, "data_port": self.advertise(udp.getsockname()[1]),
                      "cap": self.share()})
            counters = {}
            if nblocks:
                if net.wait_probe(udp, keys.c2s, keys.session, 10.0) is None:
                    raise ProtocolError("no PROBE from the client")
                limit = req.get("rate_limit") or 0
                cap = (lambda: min([c for c in (limit, self.share()) if c] or [0]))
                tx = Sender(udp, keys.s2c, keys.c2s, wire.S2C, keys.session, data, info.size,
                            bs, SendQueue(nblocks, todo), DelayController(INITIAL_RATE,
                            target_delay=conf.transfer.target_delay_ms / 1000),
                            srtt=rtt, local_cap=cap)
                tx.run(ctrl_sock=ctl.sock, timeout=conf.transfer.idle_timeout)
                counters = {"sent_new": tx.queue.sent_new, "sent_retx": tx.queue.sent_retx,
                            "bad_reports": tx.bad}
            msg = ctl.recv()
            if msg.get("type") != "complete":
                return
            hasher.join()
            ctl.send({"type": "summary", "sha256": digest.get("sha256"), "etag": info.etag,
                      "counters": counters})
        finally:
            udp.close()
            with self.lock:
                self.active.discard(tid)
            if isinstance(data, mmap.mmap):
                data.close()
            f.close()
            if spool:
                os.unlink(spool)


def _mapped(f, size: int, spool_dir: str):
    """A read-only buffer of the object: an mmap of its file, or (manifests:
    segment readers have no single file) of a spooled copy."""
    if size == 0:
        return b"", None
    try:
        return mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ), None
    except (AttributeError, OSError, ValueError):
        pass
    path = os.path.join(spool_dir, f"xfer-get-{os.urandom(8).hex()}")
    with open(path, "wb") as out:
        while chunk := f.read(1 << 20):
            out.write(chunk)
    with open(path, "rb") as sp:
        return mmap.mmap(sp.fileno(), size, access=mmap.ACCESS_READ), path


def _process_main(conf_path, overrides) -> None:
    import signal

    from stratus.common import log
    from stratus.common.config import Config
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent stops us (SIGTERM)
    conf = Config(conf_path, overrides)
    log.setup(conf.DEFAULT.debug,
              conf.DEFAULT.log_file or os.path.join(conf.state_path, "stratus.log"))
    srv = TransferServer(conf)
    try:
        srv.start()
    except OSError as exc:
        LOG.error("transfer server not started: cannot listen on %s:%s: %s",
                  srv.host, srv.port, exc.strerror)
        return
    LOG.info("transfer server listening on %s:%s", srv.host, srv.port)
    srv.stopping.wait()


def start_process(conf, overrides: dict):
    """Start the server in a child process (spawned: the caller has threads);
    returns the Process (None when [transfer] enabled is false).  The child
    exits with its parent: it is a daemon process."""
    if not conf.transfer.enabled:
        return None
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_process_main, args=(conf.path, overrides), daemon=True,
                    name="stratus-transfer")
    p.start()
    return p
