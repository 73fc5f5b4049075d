"""``stratus agent``: the host agent of one compute host, talking to the
control plane over its HTTP API only."""
from __future__ import annotations

import logging
import os
import signal
import threading

from stratus.cmd.common import load_config
from stratus.common import log

LOG = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("agent", help="run the host agent of one compute host")
    p.add_argument("--host", default=None,
                   help="host name to register as (default [compute] host, else hostname)")
    p.add_argument("--state-dir", default=None,
                   help="state directory (credentials.json and the host's files)")
    p.add_argument("--endpoint", default=None,
                   help="base URL of the cloud (default [api] public_endpoint)")
    p.set_defaults(func=run)


def loopback_endpoint(conf) -> str:
    """The API on this machine, for an agent running beside it."""
    host = conf.api.bind_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{conf.api.bind_port}"


def run(args) -> int:
    from stratus.agent.service import Agent
    conf = load_config(args, args.state_dir or os.environ.get("STRATUS_STATE_DIR"))
    log.setup(conf.DEFAULT.debug, conf.DEFAULT.log_file or None)
    agent = Agent(conf, host=args.host, endpoint=args.endpoint or conf.public_endpoint)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.start()
    print(f"Stratus host agent {agent.host} ({agent.driver.name}) talking to "
          f"{agent.client.endpoint}", flush=True)
    done.wait()
    agent.stop()
    print("Stratus host agent stopped.", flush=True)
    return 0
