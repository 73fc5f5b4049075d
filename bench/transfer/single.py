"""One Stratus transfer over the emulated WAN, instrumented (diagnosis tool):

    .venv/bin/python bench/transfer/single.py --rate 100 --rtt 100 --loss 0.01 --mb 100

No cloud: the real TransferServer runs in the server namespace with the
plain-directory store and fixed token of stratus.transfer.bench; the client
(`client.put`) runs in the client namespace.  Prints the protocol's goodput,
a per-second trace of the sender (controller rate, reported queuing delay,
delivery rate, loss, RTT, retransmissions), the forwarder's counters and the
CPU time of both ends.  ``--profile`` adds cProfile of both ends.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

PORT = 5602


def serve(root: str, host: str, profile: str | None) -> None:
    import cProfile
    import signal
    import threading

    from stratus.common.config import Config
    from stratus.transfer.bench import _Runtime, _Store
    from stratus.transfer.server import TransferServer
    conf = Config(None, {"DEFAULT": {"state_path": root},
                         "transfer": {"bind_host": host, "port": PORT}})
    srv = TransferServer(conf, runtime=_Runtime(), store=_Store(root))
    prof = cProfile.Profile() if profile else None
    orig = srv._session

    def session(conn):
        t0 = time.thread_time()
        if prof:
            prof.enable()
        try:
            orig(conn)
        finally:
            if prof:
                prof.disable()
                prof.dump_stats(profile)
            print(json.dumps({"server_session_cpu": time.thread_time() - t0}), flush=True)
    srv._session = session
    srv.start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: srv.stopping.set())
    srv.stopping.wait()
    threading.Event().wait(0.2)


def put(path: str, host: str, profile: str | None, trace_path: str, target: float,
        cc: str = "") -> None:
    import cProfile

    from stratus.transfer import client, congestion
    if cc:      # --cc ki=1,kd=0.05: the client's controller with other parameters
        params = {k: float(v) for k, v in (kv.split("=") for kv in cc.split(","))}
        init = congestion.DelayController.__init__

        def patched(self, *args, **kw):
            init(self, *args, **{**kw, **params})
        congestion.DelayController.__init__ = patched
    ep = client.Endpoint(host, PORT, "bench")
    trace: list = []
    prof = cProfile.Profile() if profile else None
    c0 = time.process_time()
    if prof:
        prof.enable()
    r = client.put(ep, path, "bench", "obj", trace=trace, target_delay=target / 1000)
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    r["client_cpu"] = time.process_time() - c0
    with open(trace_path, "w") as f:
        json.dump(trace, f)
    print(json.dumps({k: v for k, v in r.items() if k != "server"} | {"server": r["server"]}))


def summarize(trace: list, step: float = 1.0) -> list[str]:
    if not trace:
        return ["(no reports)"]
    t0 = trace[0][0]
    out = ["   t  rate_Mb  deliv_Mb  q_ms(min/max) filtq  loss%  rtt_ms  new  retx  nacks  ss"]
    i = 0
    while i < len(trace):
        j = i
        while j < len(trace) and trace[j][0] - trace[i][0] < step:
            j += 1
        w = trace[i:j]
        last = w[-1]
        qs = [x[2] / 1000 for x in w]
        fq = [x[11] * 1000 for x in w]
        out.append(f"{w[0][0] - t0:5.1f} {8 * last[1] / 1e6:7.1f} {8 * last[3] / 1e6:8.1f} "
                   f"{min(qs):6.1f}/{max(qs):6.1f} {max(fq):5.1f} "
                   f"{sum(x[4] for x in w) / len(w) / 1e4:6.2f} "
                   f"{1000 * last[5]:7.1f} {last[6]:5d} {last[7]:5d} "
                   f"{sum(x[9] for x in w):5d}  {int(last[10])}")
        i = j
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--rtt", type=float, default=100)
    ap.add_argument("--loss", type=float, default=0.01)
    ap.add_argument("--mtu", type=int, default=None, help="default 1500, 9000 at >= 1 Gbit/s")
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--target-ms", type=float, default=25.0, help="the controller's target delay")
    ap.add_argument("--keep-trace", default="/tmp/stratus-transfer-trace.json",
                    help="where the raw per-report trace is written (default: %(default)s)")
    ap.add_argument("--cc", default="", help="controller parameters of the sender, e.g. "
                    "kd=0.05,floor=0.8 (keyword arguments of congestion.DelayController)")
    ap.add_argument("--role", choices=["serve", "put"], help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--prof", help=argparse.SUPPRESS)
    ap.add_argument("--trace", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    from bench.wan.topology import REPO, SERVER_IP, Link
    if a.role == "serve":
        serve(a.root, SERVER_IP, a.prof)
        return 0
    if a.role == "put":
        put(a.file, SERVER_IP, a.prof, a.trace, a.target_ms, a.cc)
        return 0
    mtu = a.mtu or (9000 if a.rate >= 1000 else 1500)
    root = tempfile.mkdtemp(prefix="xfer-single-")
    src = os.path.join(root, "src.bin")
    with open(src, "wb") as f:
        for _ in range(a.mb):
            f.write(os.urandom(1 << 20))
    me = [sys.executable, os.path.abspath(__file__)]
    env = {**os.environ, "PYTHONPATH": REPO}
    try:
        with Link(rate_mbps=a.rate, rtt_ms=a.rtt, loss=a.loss, mtu=mtu) as link:
            sprof = os.path.join(root, "server.prof") if a.profile else None
            cprof = os.path.join(root, "client.prof") if a.profile else None
            srv = subprocess.Popen(link.server_cmd(
                me + ["--role", "serve", "--root", root] + (["--prof", sprof] if sprof else [])),
                stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
            try:
                assert srv.stdout.readline().strip() == "ready"
                trace_path = os.path.join(root, "trace.json")
                t0 = time.monotonic()
                cp = subprocess.run(link.client_cmd(
                    me + ["--role", "put", "--file", src, "--trace", trace_path,
                          "--target-ms", str(a.target_ms)] + (["--cc", a.cc] if a.cc else [])
                    + (["--prof", cprof] if cprof else [])),
                    capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
                wall = time.monotonic() - t0
                if cp.returncode:
                    print(cp.stderr[-2000:])
                    return 1
                r = json.loads(cp.stdout.strip().splitlines()[-1])
            finally:
                srv.terminate()
                out, _ = srv.communicate(timeout=10)
            with open(trace_path) as f:
                trace = json.load(f)
            with open(a.keep_trace, "w") as f:
                json.dump(trace, f)
            print("\n".join(summarize(trace)))
            print(f"\n{link.describe()}: put {r['bytes'] / 1e6:.0f} MB in {r['seconds']:.2f} s "
                  f"(process {wall:.1f} s): goodput {r['goodput_mbps']:.1f} Mbit/s = "
                  f"{r['goodput_mbps'] / a.rate:.0%} of the link; retransmitted "
                  f"{r['retransmitted_pct']:.2f}%; client CPU {r['client_cpu']:.1f} s; "
                  f"server {out.strip().splitlines()[-1] if out.strip() else '?'}")
            for side, ns in (("server", link.server_ns), ("client", link.client_ns)):
                snmp = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                                      capture_output=True, text=True).stdout.splitlines()
                udp = [ln.split()[1:] for ln in snmp if ln.startswith("Udp:")]
                if len(udp) == 2:
                    print(f"{side} UDP:", dict(zip(udp[0], udp[1])))
            print("server counters:", r["server"])
            print("phases (s since the control connection):", r.get("phases"))
            print("sender: blocked sends", r.get("send_blocked"), "NACKs ignored (retransmission "
                  "in flight)", r.get("nacks_ignored"), "pacing credit forfeited (MB)",
                  round(r.get("credit_forfeited", 0) / 1e6, 1), "send() calls", r.get("send_calls"))
        print("forwarder:", json.dumps(link.stats))
        if a.profile:
            import pstats
            for name, p in (("client (sender)", cprof), ("server (receiver)", sprof)):
                print(f"\n{name}:")
                pstats.Stats(p).sort_stats("tottime").print_stats(14)
    finally:
        subprocess.run(["rm", "-rf", root])
    return 0


if __name__ == "__main__":
    sys.exit(main())
