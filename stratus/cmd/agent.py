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


TEARDOWN_HELP = """\
Decommission this host's local footprint instead of running the agent:
destroy every VM the hypervisor driver lists (and any leftover instance
directory), converge the data plane to empty (taps, bridges, dnsmasq and the
host's qdhcp-* namespaces go), kill what still runs in the host's namespaces,
delete the host namespace shost-<host> and remove the agent's state directory.
Needs no API (works while the control plane is down), touches no database
row (delete the host's servers through the API for that), and is idempotent;
stop the host's agent first. Exits 1 if something could not be removed (the
state directory is then kept, so running it again retries)."""


def register(sub) -> None:
    p = sub.add_parser(
        "agent", help="run the host agent of one compute host",
        description="Run the host agent of one compute host: register it, poll its desired "
                    "state from the API and converge VMs and data plane to it. With "
                    "--teardown, remove the host's local footprint instead.")
    p.add_argument("--host", default=None,
                   help="host name to register as (default [compute] host, else hostname)")
    p.add_argument("--state-dir", default=None,
                   help="state directory (credentials.json and the host's files)")
    p.add_argument("--endpoint", default=None,
                   help="base URL of the cloud (default [api] public_endpoint)")
    p.add_argument("--tunnel-ip", default=None,
                   help="this host's VXLAN endpoint (overrides [vxlan] local_ip)")
    p.add_argument("--physical-interface-mappings", default=None,
                   help="physnet:interface,... of this host (overrides [linux_bridge] "
                        "physical_interface_mappings)")
    p.add_argument("--teardown", action="store_true", help=TEARDOWN_HELP)
    p.set_defaults(func=run)


def loopback_endpoint(conf) -> str:
    """The API on this machine, for an agent running beside it."""
    host = conf.api.bind_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{conf.api.bind_port}"


def run(args) -> int:
    from stratus.agent.service import Agent
    tunnel = getattr(args, "tunnel_ip", None)
    mappings = getattr(args, "physical_interface_mappings", None)
    extra = {"vxlan": {"local_ip": tunnel}} if tunnel else {}
    if mappings is not None:
        extra["linux_bridge"] = {"physical_interface_mappings":
                                 [m.strip() for m in mappings.split(",") if m.strip()]}
    conf = load_config(args, args.state_dir or os.environ.get("STRATUS_STATE_DIR"),
                       extra=extra or None)
    if getattr(args, "teardown", False):
        return teardown(conf, args.host)
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


def teardown(conf, host: str | None) -> int:
    from stratus.agent import teardown as td
    log.setup(conf.DEFAULT.debug)      # warnings to stderr, not the cloud's log file
    report = td.teardown(conf, host)
    print(td.describe(report), flush=True)
    return 0 if report.ok else 1
