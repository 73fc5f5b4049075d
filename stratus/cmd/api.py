"""``stratus api``: API-only workers (stateless; share one PostgreSQL database)."""
from __future__ import annotations

import json
import os

import uvicorn

from stratus.cmd.common import load_config, overrides_of
from stratus.cmd.prepare import prepare
from stratus.common import log


def register(sub) -> None:
    p = sub.add_parser("api", help="run API worker processes")
    p.add_argument("--state-dir", default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default [api] workers)")
    p.set_defaults(func=run)


def run(args) -> int:
    conf = load_config(args, args.state_dir, bind_host=args.host, bind_port=args.port)
    log.setup(conf.DEFAULT.debug, conf.DEFAULT.log_file or None)
    workers = args.workers or conf.api.workers
    if workers > 1 and conf.database_url.startswith("sqlite"):
        print("warning: several workers on SQLite serialize on its single writer; "
              "use PostgreSQL ([database] connection) for multi-worker deployments")
    prepare(conf)
    if conf.path:
        os.environ["STRATUS_CONFIG"] = conf.path
    os.environ["STRATUS_CONFIG_OVERRIDES"] = json.dumps(overrides_of(conf))
    print(f"Stratus API: {workers} worker(s) at {conf.public_endpoint}", flush=True)
    uvicorn.run("stratus.api.asgi:create_app", factory=True, host=conf.api.bind_host,
                port=conf.api.bind_port, workers=workers, log_level="warning",
                access_log=False, timeout_graceful_shutdown=5)
    return 0
