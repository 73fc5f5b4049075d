"""``stratus transfer put FILE CONTAINER/OBJECT`` / ``get CONTAINER/OBJECT FILE``:
bulk transfers over the accelerated UDP protocol (docs/design/transfer-protocol.md),
authenticated like the openstack CLI (clouds.yaml + --os-cloud / OS_CLOUD, or
OS_* variables).  ``serve`` runs the transfer server alone."""
from __future__ import annotations

import os
import sys
import time


def register(sub) -> None:
    p = sub.add_parser("transfer", help="fast object upload/download over UDP")
    tsub = p.add_subparsers(dest="transfer_command", required=True)
    put = tsub.add_parser("put", help="upload FILE as CONTAINER/OBJECT")
    put.add_argument("file")
    put.add_argument("target", metavar="CONTAINER/OBJECT")
    put.add_argument("--transfer-id", default=None,
                     help="resume this transfer (default: derived from file size, mtime, path)")
    get = tsub.add_parser("get", help="download CONTAINER/OBJECT into FILE")
    get.add_argument("target", metavar="CONTAINER/OBJECT")
    get.add_argument("file")
    for q in (put, get):
        q.add_argument("--rate-limit", type=float, default=0.0, metavar="MBPS",
                       help="cap this transfer at MBPS Mbit/s")
        q.add_argument("--mtu", type=int, default=None,
                       help="path MTU (default: discovered from the route, IP_MTU)")
        q.add_argument("--progress", action="store_true",
                       help="show the progress bar even when stderr is not a terminal")
        q.add_argument("--os-cloud", default=os.environ.get("OS_CLOUD"),
                       help="cloud in clouds.yaml (default $OS_CLOUD)")
        q.add_argument("--os-region-name", default=os.environ.get("OS_REGION_NAME"))
        q.add_argument("--os-interface", default="public")
        q.add_argument("--endpoint", default=None,
                       help="stratus-udp://HOST:PORT instead of the catalog's")
        q.add_argument("--os-token", default=None,
                       help="with --endpoint: use this Keystone token as it is (as the "
                            "openstack CLI's --os-token with --os-url): no login round "
                            "trip; the transfer server validates it")
    put.set_defaults(func=run_put)
    get.set_defaults(func=run_get)
    s = tsub.add_parser("serve", help="run the transfer server alone")
    s.add_argument("--state-dir", default=None)
    s.set_defaults(func=run_serve)


def _split(target: str) -> tuple[str, str]:
    container, _, name = target.partition("/")
    if not container or not name:
        raise SystemExit(f"stratus transfer: {target!r} is not CONTAINER/OBJECT")
    return container, name


def _endpoint(args):
    if args.os_token and args.endpoint:     # token_endpoint, as the openstack CLI
        from stratus.transfer.client import Endpoint
        return Endpoint.parse(args.endpoint, args.os_token)
    from stratus.cmd import osauth   # light login: no SDK import (~200 ms of start-up)
    ep = osauth.endpoint(args.os_cloud, args.os_region_name, args.os_interface, args.endpoint)
    if ep is not None:
        return ep
    import openstack.config          # settings the light path does not handle
    from stratus.transfer.client import Endpoint, endpoint_from_session
    region = openstack.config.OpenStackConfig().get_one(cloud=args.os_cloud,
                                                         region_name=args.os_region_name)
    session = region.get_session()
    if args.endpoint:
        return Endpoint.parse(args.endpoint, session.get_token())
    return endpoint_from_session(session, args.os_interface, region.region_name)


class Progress:
    """One line on stderr: percent, bytes, rate and ETA (redrawn at most 10/s)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        secs = max(now - self.start, 1e-6)
        rate = done / secs
        eta = (total - done) / rate if rate > 0 else 0
        pct = 100.0 * done / total if total else 100.0
        bar = "#" * int(pct / 4)
        sys.stderr.write(f"\r[{bar:<25}] {pct:5.1f}% {done / 1e6:9.1f} MB "
                         f"{rate * 8 / 1e6:8.1f} Mbit/s ETA {eta:5.0f}s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _run(args, fn) -> int:
    from stratus.transfer.client import TransferError
    try:
        result = fn(_endpoint(args), Progress(args.progress or sys.stderr.isatty()))
    except TransferError as exc:
        print(f"stratus transfer: {exc.message} (HTTP {exc.status})", file=sys.stderr)
        return 1
    except Exception as exc:   # keystoneauth / network errors: one line, no traceback
        print(f"stratus transfer: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{result['bytes']} bytes in {result['seconds']:.2f} s: "
          f"{result['goodput_mbps']:.1f} Mbit/s goodput, "
          f"{result['retransmitted_pct']:.2f}% retransmitted"
          + (" (resumed)" if result.get("resumed") else ""))
    return 0


def run_put(args) -> int:
    from stratus.transfer import client
    container, name = _split(args.target)
    if not os.path.isfile(args.file):
        print(f"stratus transfer: {args.file}: no such file", file=sys.stderr)
        return 1
    return _run(args, lambda ep, progress: client.put(
        ep, args.file, container, name, rate_limit_mbps=args.rate_limit,
        transfer_id=args.transfer_id, mtu=args.mtu, progress=progress))


def run_get(args) -> int:
    from stratus.transfer import client
    container, name = _split(args.target)
    return _run(args, lambda ep, progress: client.get(
        ep, container, name, args.file, rate_limit_mbps=args.rate_limit, mtu=args.mtu,
        progress=progress))


def run_serve(args) -> int:
    from stratus.cmd.common import load_config
    from stratus.common import log
    from stratus.transfer.server import TransferServer
    conf = load_config(args, args.state_dir or os.environ.get("STRATUS_STATE_DIR") or ".stratus")
    log.setup(conf.DEFAULT.debug, conf.DEFAULT.log_file or None)
    srv = TransferServer(conf)
    srv.start()
    print(f"Stratus transfer server on {srv.host}:{srv.port}", flush=True)
    try:
        srv.stopping.wait()
    except KeyboardInterrupt:
        pass
    srv.stop()
    return 0
