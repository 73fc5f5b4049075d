"""Local batching of the data channel (invisible on the wire): UDP GSO on the
sender (stratus/transfer/sender.py) and UDP GRO on the receiver
(stratus/transfer/net.py: read_ancillary splits a coalesced buffer)."""
from __future__ import annotations

import socket
import struct

import pytest

from stratus.transfer.net import (_ANC, SO_TIMESTAMPNS, SOL_UDP, UDP_GRO, enable_gro,
                                       kernel_timestamps, read_ancillary)
from stratus.transfer.sender import UDP_SEGMENT


def test_read_ancillary_without_gro_is_one_datagram():
    stamp = struct.pack("@qq", 12, 345_678)
    assert read_ancillary([(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)], 1500) == \
        (12_000_345, 1500)
    assert read_ancillary([], 700) == (None, 700)


def test_read_ancillary_gro_segment_size():
    gro = struct.pack("@i", 1000)
    stamp, seg = read_ancillary([(SOL_UDP, UDP_GRO, gro)], 10_500)
    assert stamp is None and seg == 1000
    assert [min(o + seg, 10_500) - o for o in range(0, 10_500, seg)] == [1000] * 10 + [500]
    # a size not below the buffer (or nonsense) means one datagram
    assert read_ancillary([(SOL_UDP, UDP_GRO, struct.pack("@i", 1000))], 1000)[1] == 1000
    assert read_ancillary([(SOL_UDP, UDP_GRO, struct.pack("@i", 0))], 800)[1] == 800


def test_gso_send_is_received_as_one_gro_buffer_on_loopback():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        if not enable_gro(rx):
            pytest.skip("no UDP GRO on this kernel")
        kernel_timestamps(rx)
        tx.connect(rx.getsockname())
        try:
            tx.setsockopt(SOL_UDP, UDP_SEGMENT, 1000)
        except OSError:
            pytest.skip("no UDP GSO on this kernel")
        payload = bytes(range(256)) * 40 + b"tail"          # 10 x 1000 + 244 bytes
        tx.send(payload)
        buf = bytearray(1 << 17)
        rx.settimeout(2)
        got, calls = [], 0
        while sum(map(len, got)) < len(payload):
            n, anc, _flags, _addr = rx.recvmsg_into([buf], _ANC)
            calls += 1
            stamp, seg = read_ancillary(anc, n)
            assert stamp is not None
            got += [bytes(buf[o:min(o + seg, n)]) for o in range(0, n, seg)]
        assert [len(g) for g in got] == [1000] * 10 + [244]
        assert b"".join(got) == payload
        assert calls == 1                   # the eleven datagrams in one system call
    finally:
        rx.close()
        tx.close()


def test_bursts_fit_a_short_queue_even_when_catching_up():
    from stratus.transfer.sender import MAX_BURST, burst_budget, pacing_wait
    gbit, jumbo = 125e6, 9000
    burst, budget = burst_budget(0.00025 * gbit, gbit, 0.00025, jumbo)
    assert 3 * jumbo <= burst < 4 * jumbo and budget == burst     # 0.25 ms at 1 Gbit/s
    # woken 5 ms late with 30 ms of credit: at most 64 KiB now, the rest later
    burst, budget = burst_budget(30e-3 * gbit, gbit, 0.005, jumbo)
    assert budget == MAX_BURST
    assert pacing_wait(30e-3 * gbit - budget, burst, gbit) == burst / (2 * gbit)
    # 100 Mbit/s: 16 KiB bursts (fewer wake-ups), the next one when it is owed
    burst, budget = burst_budget(4000, 12.5e6, 0.001, 1500)
    assert burst == 16384 and budget == 4000
    assert abs(pacing_wait(4000, burst, 12.5e6) - (16384 - 4000) / 12.5e6) < 1e-12
