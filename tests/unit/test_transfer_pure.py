"""Pure parts of the transfer protocol: wire format, key schedule, block
bookkeeping (stratus/transfer/wire.py, crypto.py, blocks.py)."""
from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.transfer import crypto, wire
from stratus.transfer.blocks import (BlockMap, LossDetector, SendQueue, block_count, block_span,
                                     to_ranges)


# -- wire ----------------------------------------------------------------------
def test_data_header_roundtrip_and_layout():
    buf = bytearray(wire.DATA.size + 100 + wire.TAG)
    wire.pack_data_header(buf, wire.S2C, 7, 0xDEADBEEF, 2**32 - 2, 99, 2**40 + 123456789, 5000)
    assert wire.DATA.size == 24
    assert buf[0] == wire.T_DATA and buf[1] == wire.S2C
    assert buf[2:4] == (7).to_bytes(2, "big")
    assert buf[4:8] == (0xDEADBEEF).to_bytes(4, "big")
    assert buf[8:12] == (2**32 - 2).to_bytes(4, "big")
    assert buf[12:16] == (99).to_bytes(4, "big")
    assert buf[16:20] == (123456789).to_bytes(4, "big")      # the clock modulo 2^32
    assert buf[20:24] == (5000).to_bytes(4, "big")
    assert wire.unpack_data_header(buf) == (wire.S2C, 7, 0xDEADBEEF, 2**32 - 2, 99, 123456789,
                                            5000)


def test_timestamp_differences_are_wrap_safe():
    assert wire.ts_diff(1500, 1000) == 500
    before = (2**32 - 300) & wire.M32           # sent just before the clock wraps
    after = (2**32 + 4700) & wire.M32           # the report arrives 5 ms later, after it
    assert after < before and wire.ts_diff(after, before) == 5000
    assert wire.ts_diff(before, before) == 0


def test_sender_rtt_from_an_echo_across_the_wrap():
    """A DATA timestamp taken near 2^32 µs and echoed after the sender's
    clock wrapped gives the true RTT (not a negative or 71-minute one)."""
    from stratus.transfer.congestion import DelayController
    from stratus.transfer.sender import Sender
    key, rkey = AESGCM.generate_key(256), AESGCM.generate_key(256)
    tx = Sender(None, key, rkey, wire.C2S, 42, b"x" * 10, 10, 10, SendQueue(1, range(1)),
                DelayController(1e6))
    sent_us = 2**34 - 1000                      # monotonic µs; on the wire mod 2^32: near 2^32
    echo = sent_us & wire.M32
    assert echo == 2**32 - 1000
    now = (sent_us + 80_000 + 3_000) / 1e6      # 80 ms path + 3 ms held by the receiver
    body = wire.pack_report_body(0, echo, 3_000, 0, 0, 0, 0, 0, [])
    hdr = wire.SHORT.pack(wire.T_REPORT, wire.S2C, 0, 42, 1)
    pkt = hdr + AESGCM(rkey).encrypt(crypto.report_nonce(wire.S2C, 1), body, hdr)
    tx._on_report(pkt, now)
    assert tx.reports == 1 and tx.bad == 0
    assert tx.rtt_sample == pytest.approx(0.080, abs=2e-6)
    assert tx.srtt == pytest.approx(0.080, abs=2e-6)


def test_receiver_owd_is_continuous_across_the_wrap():
    """One-way delays from 32-bit timestamps: biased so the first is 2^31,
    later ones differ by the real change in delay even when the sender's
    timestamp or the difference to the receiver's clock wraps."""
    from stratus.transfer.receiver import owd_bias
    M = wire.M32
    for send0, arrival0 in ((2**32 - 50, 7_000_000), (123, 2**40 + 5), (2**33 - 1, 2**33 - 2)):
        bias = owd_bias(arrival0, send0 & M)
        assert (arrival0 - (send0 & M) + bias) & M == 2**31
        for dt, extra_delay in ((100, 0), (10_000, 2_500), (3_000_000, 40_000)):
            ts = (send0 + dt) & M                   # wrapped for the first case
            owd = (arrival0 + dt + extra_delay - ts + bias) & M
            assert owd - 2**31 == extra_delay


def test_block_limit_caps_an_object_at_2_32_blocks():
    assert wire.MAX_BLOCKS == 2**32 - 1
    assert wire.block_limit(0, 508) is None
    assert wire.block_limit((2**32 - 1) * 508, 508) is None      # the last block: 2^32 - 2
    why = wire.block_limit((2**32 - 1) * 508 + 1, 508)
    assert why and "4294967296 blocks" in why and "4294967295" in why
    # the frontier (at most nblocks) and every block number fit their u32 fields
    buf = bytearray(wire.DATA.size + wire.TAG)
    wire.pack_data_header(buf, 0, 0, 1, wire.MAX_BLOCKS - 1, wire.MAX_BLOCKS, 0, 0)
    assert wire.unpack_data_header(buf)[3:5] == (wire.MAX_BLOCKS - 1, wire.MAX_BLOCKS)


def test_data_header_rejects_short_and_wrong_type():
    with pytest.raises(wire.WireError):
        wire.unpack_data_header(bytes(20))
    buf = bytearray(wire.DATA.size + wire.TAG)
    buf[0] = wire.T_REPORT
    with pytest.raises(wire.WireError):
        wire.unpack_data_header(buf)


def test_report_body_roundtrip():
    body = wire.pack_report_body(10, 2**32 - 1, 300, 25000, 12_500_000, 0, 1000,
                                 wire.R_COMPLETE, [(5, 2), (2**32 - 2, 1)])
    assert len(body) == 44 + 2 * 8
    r = wire.unpack_report_body(body)
    assert r == {"received": 10, "echo_ts": 2**32 - 1, "echo_hold_us": 300, "qdelay_us": 25000,
                 "recv_rate": 12_500_000, "cap": 0, "loss_ppm": 1000, "complete": True,
                 "ranges": [(5, 2), (2**32 - 2, 1)]}
    with pytest.raises(wire.WireError):
        wire.unpack_report_body(body[:-1])          # range count does not match
    with pytest.raises(wire.WireError):
        wire.unpack_report_body(body[:10])


def test_report_echo_flag_distinguishes_no_echo_from_timestamp_zero():
    none = wire.unpack_report_body(wire.pack_report_body(0, None, 5, 0, 0, 0, 0, 0, []))
    assert none["echo_ts"] is None and none["echo_hold_us"] == 0 and not none["complete"]
    zero = wire.unpack_report_body(wire.pack_report_body(0, 0, 5, 0, 0, 0, 0, 0, []))
    assert zero["echo_ts"] == 0 and zero["echo_hold_us"] == 5


def test_block_size_for_mtu():
    assert wire.block_size_for_mtu(1500) == 1500 - 28 - 24 - 16 == 1432
    assert wire.block_size_for_mtu(1500, ipv6=True) == 1500 - 48 - 24 - 16
    assert wire.block_size_for_mtu(9000) == 9000 - 28 - 24 - 16
    assert wire.block_size_for_mtu(65536) == wire.MAX_DATAGRAM - 24 - 16   # 60 KiB datagrams
    with pytest.raises(wire.WireError):
        wire.block_size_for_mtu(200)


def test_max_report_ranges_fit_the_datagram():
    n = wire.max_report_ranges(1400)
    body = wire.pack_report_body(0, 0, 0, 0, 0, 0, 0, 0, [(i * 2, 1) for i in range(n)])
    assert wire.SHORT.size + len(body) + wire.TAG <= 1400


def test_control_json_requires_type():
    assert wire.decode_json(wire.encode_json({"type": "x", "a": 1})) == {"type": "x", "a": 1}
    for bad in (b"[]", b"{}", b"not json"):
        with pytest.raises(wire.WireError):
            wire.decode_json(bad)


# -- crypto --------------------------------------------------------------------
def test_key_agreement_and_transcript_binding():
    a, b = crypto.Ephemeral(), crypto.Ephemeral()
    shared = a.shared(b.public)
    assert shared == b.shared(a.public)
    th1 = crypto.transcript(b"hello-c", b"hello-s")
    c2s, s2c = crypto.control_keys(shared, th1)
    assert c2s != s2c and len(c2s) == 32
    d1 = crypto.data_keys(shared, crypto.transcript(th1, b"request"))
    d2 = crypto.data_keys(shared, crypto.transcript(th1, b"request'"))
    assert d1 != d2                      # data keys depend on the whole transcript
    assert set(d1).isdisjoint({c2s, s2c})
    # an observer without an ephemeral private key derives something else
    eve = crypto.Ephemeral()
    assert eve.shared(a.public) != shared


def test_degenerate_public_key_refused():
    with pytest.raises(ValueError):
        crypto.Ephemeral().shared(bytes(32))
    with pytest.raises(ValueError):
        crypto.Ephemeral().shared(b"short")


def test_nonces_are_unique_across_kinds():
    seen = set()
    for d in (0, 1):
        for attempt in (0, 1, 65535):
            for block in (0, 1, 2**63):
                seen.add(crypto.data_nonce(d, attempt, block))
        for seq in (0, 1, 2**63 + 1):
            seen.add(crypto.report_nonce(d, seq))
            seen.add(crypto.control_nonce(d, seq))
    assert len(seen) == 2 * 9 + 2 * 3 * 2
    assert all(len(n) == 12 for n in seen)


def test_control_cipher_rejects_replay_and_tamper():
    key = AESGCM.generate_key(256)
    tx, rx = crypto.ControlCipher(key, 0), crypto.ControlCipher(key, 0)
    f1, f2 = tx.seal(b"one"), tx.seal(b"two")
    assert rx.open(f1) == b"one"
    with pytest.raises(InvalidTag):
        crypto.ControlCipher(key, 0).open(f2)     # out of order / replayed counter
    bad = bytearray(f2)
    bad[0] ^= 1
    with pytest.raises(InvalidTag):
        rx.open(bytes(bad))


# -- blocks --------------------------------------------------------------------
def test_block_layout():
    assert block_count(0, 10) == 0
    assert block_count(10, 10) == 1
    assert block_count(11, 10) == 2
    assert block_span(1, 15, 10) == (10, 5)
    assert to_ranges([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 1), (9, 2)]


def test_block_map_mark_missing_and_encoding():
    m = BlockMap(10)
    assert m.mark(3) and not m.mark(3)
    m.mark(0)
    assert m.count == 2 and not m.complete
    assert list(m.missing()) == [1, 2, 4, 5, 6, 7, 8, 9]
    assert list(m.missing(4, 6)) == [4, 5]
    again = BlockMap.decode(10, m.encode())
    assert again.have == m.have and again.count == 2
    with pytest.raises(ValueError):
        BlockMap.decode(9, m.encode())
    for i in range(10):
        m.mark(i)
    assert m.complete


def test_loss_detector_nacks_after_reorder_window_and_repeats_after_rtt():
    m = BlockMap(10)
    for b in (0, 1, 3, 4):
        m.mark(b)
    d = LossDetector(m, reorder=0.005)
    d.advance(5, now=1.0)                      # blocks 0..4 were sent: 2 is a hole
    assert d.nacks(1.001, rtt=0.1, limit=10) == []        # maybe just reordered
    assert d.nacks(1.006, rtt=0.1, limit=10) == [(2, 1)]
    assert d.nacks(1.1, rtt=0.1, limit=10) == []          # NACKed, not yet due again
    assert d.nacks(1.2, rtt=0.1, limit=10) == [(2, 1)]    # retransmission lost: again
    m.mark(2)
    assert d.nacks(2.0, rtt=0.1, limit=10) == [] and d.outstanding == 0


def test_loss_detector_only_looks_below_frontier_and_coalesces():
    m = BlockMap(100)
    d = LossDetector(m, reorder=0)
    d.advance(10, now=0.0)
    assert d.nacks(0.0, 0.1, limit=5) == [(0, 10)]
    d.advance(1000, now=0.0)                   # frontier clamped to nblocks
    assert d.outstanding == 100
    for b in range(0, 100, 2):
        m.mark(b)
    assert len(d.nacks(1.0, 0.1, limit=3)) == 3   # limited number of ranges per report


def test_send_queue_retransmissions_first_with_increasing_attempts():
    q = SendQueue(5, range(5))
    assert q.pop() == (0, 0) and q.pop() == (1, 0)
    assert q.frontier == 2
    q.nack([(0, 1), (3, 2)])                   # 3, 4 not sent yet: ignored
    q.nack([(0, 1)])                           # already queued: once
    assert q.pop() == (0, 1)
    q.nack([(0, 1)])
    assert q.pop() == (0, 2)                   # a new nonce for every send
    assert [q.pop() for _ in range(3)] == [(2, 0), (3, 0), (4, 0)]
    assert q.pop() is None and q.idle and q.frontier == 5
    assert (q.sent_new, q.sent_retx) == (5, 2)


def test_send_queue_ignores_nacks_while_a_retransmission_is_in_flight():
    q = SendQueue(3, range(3))
    q.pop(), q.pop(), q.pop()
    q.nack([(1, 1)], now=1.0, holdoff=0.2)
    assert q.pop() == (1, 1)
    q.mark_resent(1, 1.0)
    q.nack([(1, 1)], now=1.1, holdoff=0.2)     # the NACK predates the resend's arrival
    assert q.pop() is None and q.ignored == 1
    q.nack([(1, 1)], now=1.25, holdoff=0.2)    # a round trip later: it was lost
    assert q.pop() == (1, 2)


def test_send_queue_resume_sends_only_missing():
    q = SendQueue(6, [1, 4])
    assert q.frontier == 1
    assert q.pop() == (1, 0) and q.frontier == 4
    assert q.pop() == (4, 0) and q.pop() is None and q.frontier == 6


def test_send_queue_refuses_nonce_wraparound():
    q = SendQueue(1, [0])
    q.pop()
    q.attempt[0] = 0xFFFF
    q.nack([(0, 1)])
    with pytest.raises(RuntimeError):
        q.pop()
