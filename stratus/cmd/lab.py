"""``stratus lab up|down|status``: many hypervisor hosts on one machine.

Each lab host is a network namespace with its own underlay address on the
lab's fabric bridge, driven by its own ``stratus agent`` process talking to
the cloud of the state directory over its API (start the cloud first:
``stratus up``; or let ``stratus up --hosts N`` do both).  ``down`` stops the
agents and removes every namespace, bridge, VM and process the lab made."""
from __future__ import annotations

import json
import os

from stratus.cmd.common import load_config


def register(sub) -> None:
    p = sub.add_parser("lab", help="many hypervisor hosts on this machine (namespaces)",
                       description=__doc__)
    lsub = p.add_subparsers(dest="lab_command", required=True)
    u = lsub.add_parser("up", help="create the lab's hosts and start their agents")
    u.add_argument("--hosts", type=int, required=True, help="number of hosts")
    u.add_argument("--prefix", default=None, help="host name prefix (default [lab] host_prefix)")
    u.add_argument("--state-dir", default=None, help="the cloud's state directory")
    u.add_argument("--endpoint", default=None,
                   help="the cloud's API (default: loopback at [api] bind_port)")
    u.set_defaults(func=run_up)
    d = lsub.add_parser("down", help="stop the agents and remove everything the lab made")
    d.add_argument("--state-dir", default=None, help="the cloud's state directory")
    d.set_defaults(func=run_down)
    s = lsub.add_parser("status", help="the lab's hosts and whether their agents run")
    s.add_argument("--state-dir", default=None, help="the cloud's state directory")
    s.set_defaults(func=run_status)


def _conf(args):
    return load_config(args, args.state_dir or os.environ.get("STRATUS_STATE_DIR") or ".stratus")


def run_up(args) -> int:
    from stratus.cmd.agent import loopback_endpoint
    from stratus.lab import runner
    from stratus.lab.plan import LabError
    conf = _conf(args)
    try:
        lab, pids = runner.up(conf, args.hosts, args.prefix or conf.lab.host_prefix,
                              config=getattr(args, "config", None),
                              endpoint=args.endpoint or loopback_endpoint(conf))
    except (LabError, RuntimeError) as exc:
        print(f"stratus lab: {exc}")
        return 2
    for h in lab.hosts:
        print(f"{h.host:10} namespace {h.namespace:16} underlay {h.underlay_ip:15} "
              f"agent pid {pids[h.host]}")
    print(f"logs: {runner.lab_dir(conf.state_path)}/<host>.log; stop with `stratus lab down`")
    return 0


def run_down(args) -> int:
    from stratus.lab import runner
    result = runner.down(_conf(args))
    if not result["hosts"]:
        print("no lab is up")
        return 0
    print(f"removed lab hosts {', '.join(result['hosts'])}")
    for e in result["errors"]:
        print(f"error: {e}")
    return 1 if result["errors"] else 0


def run_status(args) -> int:
    from stratus.lab import runner
    conf = _conf(args)
    lab = runner.load(conf.state_path)
    if lab is None:
        print("no lab is up")
        return 0
    print(json.dumps([{"host": h.host, "namespace": h.namespace, "underlay_ip": h.underlay_ip,
                       "agent_pid": runner.running_pid(conf.state_path, h)}
                      for h in lab.hosts], indent=2))
    return 0
