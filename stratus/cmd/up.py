"""``stratus up``: the all-in-one cloud, every role in one process on SQLite
(or the configured database), under a state directory."""
from __future__ import annotations

import logging
import os
import sys
import time

from stratus.cmd.common import load_config
from stratus.common import log

LOG = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("up", help="run the all-in-one cloud in this process")
    p.add_argument("--state-dir", default=None, help="state directory (default ./.stratus)")
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="listen port (default 5000)")
    p.add_argument("--no-agent", action="store_true",
                   help="API only: run no host agent for this machine")
    p.add_argument("--hosts", type=int, default=0,
                   help="run the cloud over a lab of N hypervisor hosts (namespaces, one "
                        "agent process each; `stratus lab down` removes them) instead of "
                        "this machine's single host")
    p.add_argument("--no-user-clouds", action="store_true",
                   help="do not add the clouds to ~/.config/openstack/clouds.yaml")
    p.set_defaults(func=run)


def start_background(conf, runtime, agent: bool = True) -> list:
    """The roles that run beside the API: the scheduling sweep and the host
    agent of this machine (over HTTP on loopback, as a remote agent would)."""
    from stratus.controllers.scheduling import SchedulingController
    from stratus.objectstore.expirer import ExpirerController
    roles: list = [SchedulingController(runtime.db, conf), ExpirerController(runtime.db, conf)]
    if conf.metadata.enabled:   # 169.254.169.254, for the host proxies only (unix socket)
        from stratus.metadata.server import MetadataServer
        roles.append(MetadataServer(conf, runtime.db))
    if agent:
        from stratus.agent.service import Agent
        from stratus.cmd.agent import loopback_endpoint
        try:
            roles.append(Agent(conf, endpoint=loopback_endpoint(conf)))
        except Exception as exc:  # the API still serves; say why no VMs will run here
            LOG.exception("host agent not started")
            print(f"warning: host agent not started: {exc}", file=sys.stderr)
    for role in roles:
        role.start()
    return roles


def run(args) -> int:
    started = time.monotonic()
    import uvicorn     # the API stack and the database: this command only

    from stratus.api.app import build_app
    from stratus.api.runtime import Runtime
    from stratus.cmd.prepare import prepare
    conf = load_config(args, args.state_dir or os.environ.get("STRATUS_STATE_DIR") or ".stratus",
                       bind_host=args.host, bind_port=args.port)
    os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
    log.setup(conf.DEFAULT.debug,
              conf.DEFAULT.log_file or os.path.join(conf.state_path, "stratus.log"))
    clouds_path = prepare(conf, user_clouds=not args.no_user_clouds)
    runtime = Runtime(conf)
    app = build_app(runtime)
    print(f"Stratus is up at {conf.public_endpoint} (state in {conf.state_path}, "
          f"logs in {conf.DEFAULT.log_file or os.path.join(conf.state_path, 'stratus.log')})")
    print(f"Clouds 'stratus' (admin), 'stratus-demo' (member of demo) and 'stratus-system' "
          f"are in {clouds_path}" + ("" if args.no_user_clouds
                                     else " and ~/.config/openstack/clouds.yaml") + ". Try:")
    if args.no_user_clouds:
        print(f"  export OS_CLIENT_CONFIG_FILE={clouds_path}")
    client = os.path.join(sys.prefix, "bin", "openstack")
    client = client if os.path.exists(client) else "openstack"
    print(f"  export OS_CLOUD=stratus; {client} token issue")
    print("Press Ctrl-C to stop.", flush=True)
    LOG.info("prepared in %.2fs", time.monotonic() - started)
    background = start_background(conf, runtime,
                                  agent=not args.no_agent and not args.hosts)
    lab = _start_lab(conf, args) if args.hosts else None
    from stratus.cmd.common import overrides_of
    from stratus.transfer.server import start_process as start_transfer
    transfer = start_transfer(conf, overrides_of(conf))   # own process: no shared GIL
    try:
        uvicorn.run(app, host=conf.api.bind_host, port=conf.api.bind_port, log_level="warning",
                    access_log=False, timeout_graceful_shutdown=5)
    finally:
        if transfer is not None:
            transfer.terminate()
            transfer.join(5)
        if lab is not None:        # the hosts (and their VMs) stay: agents re-adopt them
            from stratus.lab import runner
            runner.stop_agents(conf.state_path, lab)
        for role in reversed(background):
            role.stop()
    runtime.db.dispose()
    print("Stratus stopped.")
    return 0


def _start_lab(conf, args):
    from stratus.cmd.agent import loopback_endpoint
    from stratus.lab import runner
    lab, pids = runner.up(conf, args.hosts, conf.lab.host_prefix,
                          config=getattr(args, "config", None),
                          endpoint=loopback_endpoint(conf))
    print(f"Lab hosts: {', '.join(h.host for h in lab.hosts)} (agent logs in "
          f"{runner.lab_dir(conf.state_path)}; `stratus lab down` removes them)", flush=True)
    return lab
