"""``stratus api``: API-only workers (stateless; share one PostgreSQL database)."""
from __future__ import annotations

import json
import os
import socket
import sys

from stratus.cmd.common import load_config, overrides_of
from stratus.common import log

# uvicorn, the database and the API stack are imported by run() only: every
# other command (and ``stratus --help``) starts without them.


def register(sub) -> None:
    p = sub.add_parser("api", help="run API worker processes")
    p.add_argument("--state-dir", default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default [api] workers)")
    p.set_defaults(func=run)


def listen_socket(host: str, port: int) -> socket.socket:
    """The shared listening socket, created with IPPROTO_TCP so that asyncio in
    each worker turns on TCP_NODELAY for accepted connections (uvicorn's own
    socket has protocol 0, and every response then stalls ~40 ms on delayed
    ACKs when headers and body are written separately)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"stratus api: cannot listen on {host}:{port}: {exc.strerror}")
    sock.set_inheritable(True)
    return sock


def run(args) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from stratus.cmd.prepare import prepare
    conf = load_config(args, args.state_dir, bind_host=args.host, bind_port=args.port)
    log.setup(conf.DEFAULT.debug, conf.DEFAULT.log_file or None)
    workers = args.workers or conf.api.workers
    if workers > 1 and conf.database_url.startswith("sqlite"):
        print("warning: several workers on SQLite serialize on its single writer; "
              "use PostgreSQL ([database] connection) for multi-worker deployments",
              file=sys.stderr)
    prepare(conf)
    if conf.path:
        os.environ["STRATUS_CONFIG"] = conf.path
    os.environ["STRATUS_CONFIG_OVERRIDES"] = json.dumps(overrides_of(conf))
    config = uvicorn.Config("stratus.api.asgi:create_app", factory=True,
                            host=conf.api.bind_host, port=conf.api.bind_port, workers=workers,
                            log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    print(f"Stratus API: {workers} worker(s) at {conf.public_endpoint}", flush=True)
    from stratus.transfer.server import start_process as start_transfer
    start_transfer(conf, overrides_of(conf))   # daemon child: exits with this process
    if conf.metadata.enabled:   # 169.254.169.254 for the host proxies (unix socket)
        from stratus.db.base import Database
        from stratus.metadata.server import MetadataServer
        MetadataServer(conf, Database(conf.database_url, 2)).start()
    # the object expiry reaper (idempotent: safe on every API host at once)
    from stratus.db.base import Database as ExpirerDatabase
    from stratus.objectstore.expirer import ExpirerController
    ExpirerController(ExpirerDatabase(conf.database_url, 2), conf).start()
    if workers > 1:
        Multiprocess(config, sockets=[listen_socket(conf.api.bind_host,
                                                    conf.api.bind_port)]).run()
    else:
        uvicorn.Server(config).run()
    return 0
