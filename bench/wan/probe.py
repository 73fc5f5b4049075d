"""Traffic probes run inside the namespaces by validate.py and the lab tests.

    python -m bench.wan.probe udp-sink PORT SECONDS
    python -m bench.wan.probe udp-blast HOST PORT SECONDS RATE_MBPS SIZE
    python -m bench.wan.probe tcp-sink PORT WARMUP_S
    python -m bench.wan.probe tcp-send HOST PORT SECONDS [CC]

Each prints one JSON object on stdout.  UDP datagrams carry a sequence
number: the sink reports received, bytes, the rate between the first and the
last datagram, the highest sequence seen and how many arrived after a higher
one (reordered).  ``udp-blast`` paces at RATE_MBPS (0 = as fast as it can).
The TCP sink reports the goodput over the part of the transfer after
WARMUP_S (slow start excluded); the sender reports the connection's MSS,
congestion control and the kernel's own RTT estimate from TCP_INFO.
"""
from __future__ import annotations

import json
import socket
import struct
import sys
import time

TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)


def udp_sink(port: int, seconds: float) -> dict:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(seconds)
    print(json.dumps({"listening": port}), flush=True)
    n = nbytes = reordered = 0
    top = -1
    first = last = first_size = None
    idle_after = 1.0
    try:
        while True:
            data = s.recv(65536)
            now = time.monotonic()
            if first is None:
                first, first_size = now, len(data)
                s.settimeout(idle_after)
            last = now
            n += 1
            nbytes += len(data)
            seq = struct.unpack_from("!Q", data)[0]
            if seq < top:
                reordered += 1
            else:
                top = seq
    except socket.timeout:
        pass
    span = (last - first) if n > 1 else 0.0
    rate = (nbytes - first_size) * 8 / span / 1e6 if span else 0.0
    return {"received": n, "bytes": nbytes, "span_s": span, "rate_mbps": rate,
            "max_seq": top, "reordered": reordered}


def udp_blast(host: str, port: int, seconds: float, rate_mbps: float, size: int) -> dict:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.connect((host, port))
    buf = bytearray(size)
    gap = size * 8 / (rate_mbps * 1e6) if rate_mbps else 0.0
    start = time.monotonic()
    end = start + seconds
    seq = sent = 0
    now = start
    while now < end:
        # Send whatever is due by now, then sleep a little: bursts of ~1 ms.
        due = int((now - start) / gap) + 1 if gap else seq + 64
        while seq < due:
            struct.pack_into("!Q", buf, 0, seq)
            try:
                s.send(buf)
                sent += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
            seq += 1
        if gap:
            time.sleep(0.001)
        now = time.monotonic()
    return {"sent": sent, "seconds": time.monotonic() - start}


def tcp_sink(port: int, warmup: float) -> dict:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print(json.dumps({"listening": port}), flush=True)
    c, _ = ls.accept()
    start = time.monotonic()
    total = counted = 0
    t0 = None
    buf = bytearray(1 << 20)
    while True:
        n = c.recv_into(buf)
        if not n:
            break
        now = time.monotonic()
        total += n
        if now - start >= warmup:
            if t0 is None:
                t0 = now
            else:
                counted += n
            t_end = now
    span = (t_end - t0) if t0 is not None else 0.0
    return {"bytes": total, "measured_bytes": counted, "measured_s": span,
            "goodput_mbps": counted * 8 / span / 1e6 if span else 0.0}


def tcp_send(host: str, port: int, seconds: float, cc: str | None) -> dict:
    s = socket.socket()
    if cc:
        s.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, cc.encode())
    s.connect((host, port))
    buf = bytes(1 << 20)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.send(buf)
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    cc_used = s.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16).split(b"\0")[0].decode()
    # struct tcp_info: 8 u8 fields, then u32s: rto, ato, snd_mss, rcv_mss,
    # unacked, sacked, lost, retrans, fackets, last_data_sent, last_ack_sent,
    # last_data_recv, last_ack_recv, pmtu, rcv_ssthresh, rtt, rttvar,
    # snd_ssthresh, snd_cwnd, advmss, reordering, rcv_rtt, rcv_space, total_retrans
    u32 = struct.unpack_from("24I", info, 8)
    s.close()
    return {"mss": u32[2], "rtt_ms": u32[15] / 1000, "cwnd": u32[18],
            "total_retrans": u32[23], "cc": cc_used}


def main(argv: list[str]) -> int:
    cmd, args = argv[0], argv[1:]
    if cmd == "udp-sink":
        out = udp_sink(int(args[0]), float(args[1]))
    elif cmd == "udp-blast":
        out = udp_blast(args[0], int(args[1]), float(args[2]), float(args[3]), int(args[4]))
    elif cmd == "tcp-sink":
        out = tcp_sink(int(args[0]), float(args[1]))
    elif cmd == "tcp-send":
        out = tcp_send(args[0], int(args[1]), float(args[2]), args[3] if len(args) > 3 else None)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
