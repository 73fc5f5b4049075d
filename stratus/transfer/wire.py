"""Packet layouts of the data channel (UDP) and the control channel (TCP).

All integers are big-endian.  Every UDP packet starts with a cleartext header
that is the AES-GCM associated data; the payload that follows is ciphertext
plus a 16-byte tag.  See docs/design/transfer-protocol.md for the byte map.
"""
from __future__ import annotations

import json
import struct

VERSION = 2                   # 2: 24-byte DATA header (32-bit block, frontier, timestamp)
TAG = 16
IP_UDP_OVERHEAD = 28          # IPv4 (20) + UDP (8); IPv6 paths use 48, see block_size_for_mtu
MAX_DATAGRAM = 61440          # 60 KiB: below the 64 KiB UDP limit on 64 KiB-MTU links

T_DATA, T_REPORT, T_PROBE = 1, 2, 3
C2S, S2C = 0, 1               # direction byte: client->server, server->client

# DATA: type, dir, attempt, session, block, frontier, ts_us, srtt_us (24 bytes).
# ts_us is the sender's monotonic clock in µs modulo 2^32 (it wraps every ~71.6
# minutes): only ever compare it through ts_diff.  Block numbers are u32, so an
# object has at most MAX_BLOCKS blocks (block_limit).
DATA = struct.Struct("!BBHIIIII")
M32 = 0xFFFFFFFF
MAX_BLOCKS = M32              # blocks 0 .. 2^32-2; the frontier (<= nblocks) fits u32
# REPORT / PROBE header: type, dir, flags, session, seq
SHORT = struct.Struct("!BBHIQ")
# REPORT body (encrypted): received, echo_ts (u32, a DATA ts_us), echo_hold_us,
# qdelay_us, recv_rate_Bps, cap_Bps, loss_ppm, flags, n_ranges;  then n_ranges x RANGE
REPORT = struct.Struct("!QIIIQQIHH")
RANGE = struct.Struct("!II")  # NACK range: first block, count
R_COMPLETE = 1                # report flag: every block is held
R_ECHO = 2                    # report flag: echo_ts / echo_hold_us are valid

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


def ts_diff(later: int, earlier: int) -> int:
    """later - earlier of two 32-bit µs timestamps, wrap-safe: the difference
    modulo 2^32 (right for any interval shorter than 2^32 µs, ~71 minutes)."""
    return (later - earlier) & M32


def block_limit(size: int, block_size: int) -> str | None:
    """Why an object of ``size`` bytes cannot travel in blocks of
    ``block_size`` (block numbers are u32), or None when it can."""
    nblocks = (size + block_size - 1) // block_size
    if nblocks <= MAX_BLOCKS:
        return None
    return (f"An object of {size} bytes needs {nblocks} blocks of {block_size} bytes; "
            f"the transfer protocol carries at most {MAX_BLOCKS} blocks (use a larger "
            f"MTU, or the Object Storage API).")


def pack_data_header(buf, direction: int, attempt: int, session: int, block: int,
                     frontier: int, ts_us: int, srtt_us: int) -> None:
    """``ts_us``: any µs clock reading (sent modulo 2^32)."""
    DATA.pack_into(buf, 0, T_DATA, direction, attempt, session, block, frontier,
                   ts_us & M32, min(srtt_us, M32))


def unpack_data_header(buf) -> tuple:
    """(direction, attempt, session, block, frontier, ts_us, srtt_us)."""
    if len(buf) < DATA.size + TAG:
        raise WireError("short DATA packet")
    t, d, attempt, session, block, frontier, ts, srtt = DATA.unpack_from(buf, 0)
    if t != T_DATA:
        raise WireError(f"not a DATA packet (type {t})")
    return d, attempt, session, block, frontier, ts, srtt


def pack_report_body(received: int, echo_ts: int | None, echo_hold_us: int, qdelay_us: int,
                     recv_rate: int, cap: int, loss_ppm: int, flags: int,
                     ranges: list[tuple[int, int]]) -> bytes:
    """``echo_ts``: the ts_us of the last DATA received (None: none yet)."""
    if echo_ts is None:
        echo_ts, echo_hold_us = 0, 0
    else:
        flags |= R_ECHO
    out = [REPORT.pack(received, echo_ts & M32, min(max(echo_hold_us, 0), M32),
                       min(max(qdelay_us, 0), M32), recv_rate, cap,
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
    if not flags & R_ECHO:
        echo_ts = None
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
