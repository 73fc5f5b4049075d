"""Packet layouts of the data channel (UDP) and the control channel (TCP).

All integers are big-endian.  Every UDP packet starts with a cleartext header
that is the AES-GCM associated data; the payload that follows is ciphertext
plus a 16-byte tag.  See docs/design/transfer-protocol.md for the byte map.
"""
from __future__ import annotations

import json
import struct

VERSION = 1
TAG = 16
IP_UDP_OVERHEAD = 28          # IPv4 (20) + UDP (8); IPv6 paths use 48, see block_size_for_mtu
MAX_DATAGRAM = 61440          # 60 KiB: below the 64 KiB UDP limit on 64 KiB-MTU links

T_DATA, T_REPORT, T_PROBE = 1, 2, 3
C2S, S2C = 0, 1               # direction byte: client->server, server->client

# DATA: type, dir, attempt, session, block, frontier, ts_us, srtt_us, reserved
DATA = struct.Struct("!BBHIQQQII")
# REPORT / PROBE header: type, dir, flags, session, seq
SHORT = struct.Struct("!BBHIQ")
# REPORT body (encrypted): received, echo_ts, echo_hold_us, qdelay_us, recv_rate_Bps,
# cap_Bps, loss_ppm, flags, n_ranges;  then n_ranges x RANGE
REPORT = struct.Struct("!QQIIQQIHH")
RANGE = struct.Struct("!QI")
R_COMPLETE = 1                # report flag: every block is held

FRAME = struct.Struct("!I")   # control channel: length prefix
MAX_FRAME = 1 << 20


class WireError(ValueError):
    """A packet or frame that is not valid protocol (dropped and counted)."""


def block_size_for_mtu(mtu: int, ipv6: bool = False) -> int:
    """Plaintext bytes per DATA packet so that one packet fits one datagram of
    the path MTU (and never exceeds MAX_DATAGRAM)."""
    overhead = (48 if ipv6 else IP_UDP_OVERHEAD)
    datagram = min(mtu - overhead, MAX_DATAGRAM)
    size = datagram - DATA.size - TAG
    if size < 256:
        raise WireError(f"path MTU {mtu} is too small")
    return size


def pack_data_header(buf, direction: int, attempt: int, session: int, block: int,
                     frontier: int, ts_us: int, srtt_us: int) -> None:
    DATA.pack_into(buf, 0, T_DATA, direction, attempt, session, block, frontier,
                   ts_us & 0xFFFFFFFFFFFFFFFF, min(srtt_us, 0xFFFFFFFF), 0)


def unpack_data_header(buf) -> tuple:
    """(direction, attempt, session, block, frontier, ts_us, srtt_us)."""
    if len(buf) < DATA.size + TAG:
        raise WireError("short DATA packet")
    t, d, attempt, session, block, frontier, ts, srtt, _ = DATA.unpack_from(buf, 0)
    if t != T_DATA:
        raise WireError(f"not a DATA packet (type {t})")
    return d, attempt, session, block, frontier, ts, srtt


def pack_report_body(received: int, echo_ts: int, echo_hold_us: int, qdelay_us: int,
                     recv_rate: int, cap: int, loss_ppm: int, flags: int,
                     ranges: list[tuple[int, int]]) -> bytes:
    out = [REPORT.pack(received, echo_ts & 0xFFFFFFFFFFFFFFFF, min(echo_hold_us, 0xFFFFFFFF),
                       min(max(qdelay_us, 0), 0xFFFFFFFF), recv_rate, cap,
                       min(loss_ppm, 1_000_000), flags, len(ranges))]
    out += [RANGE.pack(s, n) for s, n in ranges]
    return b"".join(out)


def unpack_report_body(body) -> dict:
    if len(body) < REPORT.size:
        raise WireError("short REPORT body")
    (received, echo_ts, hold, qdelay, rate, cap, loss, flags, n) = REPORT.unpack_from(body, 0)
    if len(body) != REPORT.size + n * RANGE.size:
        raise WireError("REPORT length does not match its range count")
    ranges = [RANGE.unpack_from(body, REPORT.size + i * RANGE.size) for i in range(n)]
    return {"received": received, "echo_ts": echo_ts, "echo_hold_us": hold,
            "qdelay_us": qdelay, "recv_rate": rate, "cap": cap, "loss_ppm": loss,
            "complete": bool(flags & R_COMPLETE), "ranges": ranges}


def max_report_ranges(datagram: int) -> int:
    return max(1, (datagram - SHORT.size - REPORT.size - TAG) // RANGE.size)


def unpack_short(buf) -> tuple:
    """(type, direction, session, seq) of a REPORT or PROBE packet."""
    if len(buf) < SHORT.size + TAG:
        raise WireError("short packet")
    t, d, _flags, session, seq = SHORT.unpack_from(buf, 0)
    if t not in (T_REPORT, T_PROBE):
        raise WireError(f"unexpected packet type {t}")
    return t, d, session, seq


# -- control channel ---------------------------------------------------------
def encode_json(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":"), sort_keys=True).encode()


def decode_json(body: bytes) -> dict:
    try:
        msg = json.loads(body)
    except ValueError:
        raise WireError("control message is not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise WireError("control message has no type")
    return msg


def frame(body: bytes) -> bytes:
    if len(body) > MAX_FRAME:
        raise WireError("control frame too large")
    return FRAME.pack(len(body)) + body
