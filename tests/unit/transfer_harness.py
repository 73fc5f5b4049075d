"""Test doubles for the transfer tests: an in-process transfer server with a
stand-in object store and token check, and a fault-injecting UDP relay."""
from __future__ import annotations

import hashlib
import os
import random
import select
import shutil
import socket
import threading
from dataclasses import dataclass, field

from stratus.common import errors
from stratus.common.config import Config
from stratus.transfer.server import TransferServer


@dataclass
class Info:
    etag: str
    size: int
    metadata: dict = field(default_factory=dict)


class FakeStore:
    """The ingest contract over two directories; container ``locked`` is not
    writable, ``missing`` does not exist."""

    def __init__(self, root: str):
        self.root = root
        self.staging = os.path.join(root, "staging")
        self.objects = os.path.join(root, "objects")
        os.makedirs(self.staging, exist_ok=True)
        os.makedirs(self.objects, exist_ok=True)
        self.commits = 0

    def staging_dir(self, conf):
        return self.staging

    def _check(self, container):
        if container == "locked":
            raise errors.Forbidden("Forbidden")
        if container == "missing":
            raise errors.NotFound(f"Container {container} not found.")

    def authorize_write(self, db, conf, auth, account, container):
        self._check(container)

    def _path(self, account, container, name):
        return os.path.join(self.objects, hashlib.sha1(f"{account}/{container}/{name}".encode())
                            .hexdigest())

    def authorize_read(self, db, conf, auth, account, container, name):
        self._check(container)
        p = self._path(account, container, name)
        if not os.path.exists(p):
            raise errors.NotFound(f"Object {name} not found.")
        return self._info(p)

    def _info(self, p):
        with open(p, "rb") as f:
            return Info(hashlib.md5(f.read()).hexdigest(), os.path.getsize(p))

    def commit_file(self, db, conf, account, container, name, path, *, etag=None,
                    content_type="application/octet-stream", metadata=None, timestamp=None):
        p = self._path(account, container, name)
        os.replace(path, p)
        self.commits += 1
        info = self._info(p)
        assert etag is None or etag == info.etag
        return info

    def open_object(self, db, conf, account, container, name):
        p = self._path(account, container, name)
        return open(p, "rb"), self._info(p)

    def read(self, account, container, name) -> bytes:
        with open(self._path(account, container, name), "rb") as f:
            return f.read()


class FakeRuntime:
    """Token ``good-<project>`` is valid for that project; anything else 401."""
    db = None

    def authenticate(self, ctx, headers, service=None, method="GET", path="/"):
        token = headers.get("x-auth-token") or ""
        if not token.startswith("good-"):
            raise errors.Unauthorized("The request you have made requires authentication.")
        ctx.user_id = "u1"
        ctx.user_name = "user"
        ctx.project_id = token[5:]
        ctx.roles = ["member"]


def start_server(tmp: str, **transfer) -> tuple[TransferServer, FakeStore]:
    conf = Config(None, {"DEFAULT": {"state_path": tmp},
                         "transfer": {"bind_host": "127.0.0.1", "port": 0, "idle_timeout": 10,
                                      **transfer}})
    store = FakeStore(tmp)
    srv = TransferServer(conf, runtime=FakeRuntime(), store=store)
    srv.port = 0
    srv.start()
    return srv, store


class Relay:
    """UDP relay between a client and one server data port on loopback,
    dropping / duplicating / reordering / tampering packets at random."""

    def __init__(self, target_port: int, drop=0.0, dup=0.0, reorder=0.0, tamper=0.0,
                 seed=1):
        self.target = ("127.0.0.1", target_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        for s in (self.front, self.back):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.port = self.front.getsockname()[1]
        self.drop, self.dup, self.reorder, self.tamper = drop, dup, reorder, tamper
        self.rng = random.Random(seed)
        self.client = None
        self.stats = {"dropped": 0, "duplicated": 0, "reordered": 0, "tampered": 0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _mangle(self, pkt: bytes) -> list[bytes]:
        r = self.rng.random
        if r() < self.drop:
            self.stats["dropped"] += 1
            return []
        if len(pkt) > 60 and r() < self.tamper:
            self.stats["tampered"] += 1
            b = bytearray(pkt)
            b[50] ^= 0x20
            pkt = bytes(b)
        out = [pkt]
        if r() < self.dup:
            self.stats["duplicated"] += 1
            out.append(pkt)
        return out

    def _run(self):
        held = None
        while not self.stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for s in ready:
                try:
                    pkt, addr = s.recvfrom(65536)
                except OSError:
                    continue
                if s is self.front:
                    self.client = addr
                    dest, out = self.target, self.back
                elif self.client is None:
                    continue
                else:
                    dest, out = self.client, self.front
                for p in self._mangle(pkt):
                    if held is None and self.rng.random() < self.reorder:
                        held = (out, p, dest)          # sent after the next packet
                        self.stats["reordered"] += 1
                        continue
                    try:
                        out.sendto(p, dest)
                        if held is not None:
                            held[0].sendto(held[1], held[2])
                            held = None
                    except OSError:
                        pass

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.front.close()
        self.back.close()


def cleanup(srv, tmp):
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)
