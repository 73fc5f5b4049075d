"""Loopback benchmark of the transfer protocol:

    .venv/bin/python -m stratus.transfer.bench --size-mb 200 [--mtu 1500] [--profile]

Runs the real TransferServer in a child process (as `stratus up` does) with
a plain-directory stand-in for the object store and a fixed token, puts a
file of random bytes and gets it back, and prints goodput; with --profile it
prints the top functions of the client (sender) and server (receiver) by
their own time.  No cloud needed; everything stays on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import multiprocessing
import os
import pstats
import shutil
import tempfile
import time
from types import SimpleNamespace

from stratus.common import errors


class _Store:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "staging"), exist_ok=True)

    def staging_dir(self, conf):
        return os.path.join(self.root, "staging")

    def authorize_write(self, *a):
        pass

    def _path(self, name):
        return os.path.join(self.root, hashlib.sha1(name.encode()).hexdigest())

    def commit_file(self, db, conf, account, container, name, path, *, etag=None, **kw):
        os.replace(path, self._path(name))
        return SimpleNamespace(etag=etag, size=os.path.getsize(self._path(name)))

    def authorize_read(self, db, conf, auth, account, container, name):
        return None

    def open_object(self, db, conf, account, container, name):
        p = self._path(name)
        with open(p, "rb") as f:
            etag = hashlib.md5(f.read()).hexdigest()
        return open(p, "rb"), SimpleNamespace(etag=etag, size=os.path.getsize(p), metadata={})


class _Runtime:
    db = None

    def authenticate(self, ctx, headers, **kw):
        if headers.get("x-auth-token") != "bench":
            raise errors.Unauthorized("bad token")
        ctx.user_id, ctx.project_id, ctx.roles = "u", "bench", ["member"]


def _server(root, port_q, profile_path):
    from stratus.common.config import Config
    from stratus.transfer.server import TransferServer
    conf = Config(None, {"DEFAULT": {"state_path": root},
                         "transfer": {"bind_host": "127.0.0.1", "port": 0}})
    srv = TransferServer(conf, runtime=_Runtime(), store=_Store(root))
    srv.port = 0
    prof = cProfile.Profile() if profile_path else None
    if prof:   # profile the session threads
        orig = srv._session

        def session(conn):
            prof.enable()
            try:
                orig(conn)
            finally:
                prof.disable()
                prof.dump_stats(profile_path)
        srv._session = session
    srv.start()
    port_q.put(srv.port)
    srv.stopping.wait()


def _top(stats: pstats.Stats, n=12) -> str:
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(n)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    return "\n".join(lines[start:start + n + 1])


def main(argv=None) -> int:
    from stratus.transfer import client
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--mtu", type=int, default=None)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-get", action="store_true")
    args = ap.parse_args(argv)
    root = tempfile.mkdtemp(prefix="xfer-bench-")
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    sprof = os.path.join(root, "server.prof") if args.profile else None
    proc = ctx.Process(target=_server, args=(root, q, sprof), daemon=True)
    proc.start()
    try:
        port = q.get(timeout=30)
        src = os.path.join(root, "src.bin")
        with open(src, "wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1 << 20))
        ep = client.Endpoint("127.0.0.1", port, "bench")
        cprof = cProfile.Profile() if args.profile else None
        if cprof:
            cprof.enable()
        t0 = time.process_time()
        r = client.put(ep, src, "bench", "obj", mtu=args.mtu)
        cpu = time.process_time() - t0
        if cprof:
            cprof.disable()
        print(f"put {r['bytes'] / 1e6:.0f} MB in {r['seconds']:.2f} s: "
              f"{r['goodput_mbps']:.0f} Mbit/s, block {r['block_size']} B, "
              f"{r['retransmitted_pct']:.2f}% retransmitted, client CPU {cpu:.2f} s")
        if not args.no_get:
            g = client.get(ep, "bench", "obj", os.path.join(root, "dst.bin"), mtu=args.mtu)
            print(f"get {g['bytes'] / 1e6:.0f} MB in {g['seconds']:.2f} s: "
                  f"{g['goodput_mbps']:.0f} Mbit/s, {g['retransmitted_pct']:.2f}% retransmitted")
        if cprof:
            print("\nclient (sender) by own time:")
            print(_top(pstats.Stats(cprof)))
            time.sleep(0.5)
            if os.path.exists(sprof):
                print("\nserver (receiver, then sender for get) by own time:")
                print(_top(pstats.Stats(sprof)))
    finally:
        proc.terminate()
        proc.join(5)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
