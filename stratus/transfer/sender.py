"""The data sender: paces encrypted DATA packets at the controller's rate,
retransmits what the receiver's REPORTs NACK, stops when a report says
complete or the control connection has something to say.

Pacing: the loop sends a short burst (BURST_TIME of sending, at least
MIN_BURST bytes) whenever one is owed and sleeps until the next, so that a
path with a short queue (a switch port; the emulator's 64 KiB at RTT ~ 0)
absorbs every burst; late wake-ups on a busy host are made up, within
CATCH_UP, at most MAX_BURST at a time (burst_budget, pacing_wait).  Hot
path per packet: struct.pack_into the header into a reused batch buffer,
AESGCM.encrypt_into straight from the file's mmap into it (the one copy of
the data); one send() per batch of up to GSO_MAX packets (UDP GSO: the
kernel cuts it into the datagrams).  No per-packet allocation besides the
nonce.  Reports go through congestion.Signals (filtered queuing delay,
delivery rate) into the DelayController.
"""
from __future__ import annotations

import select
import socket
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.transfer import crypto, wire
from stratus.transfer.blocks import SendQueue
from stratus.transfer.congestion import DelayController, Signals

CATCH_UP = 0.03         # sending time missed (late wake-ups on a busy host) that is
                        # made up later, at most ...
CATCH_UP_PACE = 2.0     # ... this many times the rate (the rest of the time elapsed)
BURST_TIME = 0.00025    # a burst (packets sent back to back) is this much sending time ...
MIN_BURST = 16384       # ... but at least this many bytes (fewer wake-ups at low rates)
MAX_BURST = 65536       # catching up after a late wake-up: at most this (or 2 bursts) at once
UDP_SEGMENT = getattr(socket, "UDP_SEGMENT", 103)
GSO_MAX = 32            # packets per send() at most (the kernel allows 64)


def burst_budget(credit: float, rate: float, elapsed: float, pkt_cost: int
                 ) -> tuple[float, float]:
    """(burst, budget) of one wake-up, in bytes on the wire: a burst is
    BURST_TIME of sending (at least MIN_BURST, one packet); the budget is what
    may go now: the credit, but at most a burst -- or, in debt after a late
    wake-up, CATCH_UP_PACE x the time elapsed, capped at MAX_BURST (or two
    bursts) so that catching up never floods a short queue at once."""
    burst = max(rate * BURST_TIME, MIN_BURST, pkt_cost)
    catch = min(rate * elapsed * CATCH_UP_PACE, max(MAX_BURST, 2 * burst))
    return burst, min(credit, max(burst, catch))


def pacing_wait(credit: float, burst: float, rate: float) -> float:
    """Seconds until the next burst is owed; in debt (credit left over after
    a burst), this burst's time at CATCH_UP_PACE x the rate."""
    rate = max(rate, 1.0)
    return (burst - credit) / rate if credit < burst else burst / (CATCH_UP_PACE * rate)


class Sender:
    def __init__(self, sock: socket.socket, key: bytes, report_key: bytes, direction: int,
                 session: int, data, size: int, block_size: int, queue: SendQueue,
                 controller: DelayController, srtt: float = 0.05, local_cap=None,
                 progress=None):
        """``data``: a buffer of the object's bytes (mmap / memoryview);
        ``direction``: of the DATA packets; reports come the other way."""
        self.sock, self.direction, self.session = sock, direction, session
        self.aead, self.report_aead = AESGCM(key), AESGCM(report_key)
        self.data, self.size, self.block_size = data, size, block_size
        self.queue, self.cc = queue, controller
        self.srtt = srtt
        self.rtt_sample = srtt
        self.local_cap = local_cap or (lambda: 0.0)   # callable -> bytes/s (0: none)
        self.progress = progress
        self.report_seq = -1
        self.complete = False
        self.reports = 0
        self.bad = 0            # reports that failed authentication or parsing
        self.blocked = 0        # sends refused with EAGAIN (socket buffer full)
        self.forfeited = 0.0    # bytes of pacing credit lost to late wake-ups (a busy host)
        self.batches = 0        # send() calls of DATA (each up to GSO_MAX packets)
        self.use_gso = True
        self.acked = 0          # blocks the receiver holds (last report)
        self.last_report = None
        # delivery in the pacer's unit: bytes on the wire (IPv4 + UDP + header + tag)
        self.signals = Signals(block_size + wire.DATA.size + wire.TAG + wire.IP_UDP_OVERHEAD)
        self.trace = None       # a list: one tuple per report is appended (bench/diagnosis)

    def _on_report(self, pkt, now: float) -> None:
        try:
            t, d, session, seq = wire.unpack_short(pkt)
            if t == wire.T_PROBE:    # the receiver's address probes, still in flight
                return
            if t != wire.T_REPORT or d == self.direction or session != self.session:
                raise wire.WireError("not our report")
            if seq <= self.report_seq:        # replayed or reordered: stale
                raise wire.WireError("stale report")
            body = self.report_aead.decrypt(crypto.report_nonce(d, seq), pkt[wire.SHORT.size:],
                                            pkt[:wire.SHORT.size])
            r = wire.unpack_report_body(body)
        except (wire.WireError, InvalidTag):
            self.bad += 1
            return
        self.report_seq = seq
        self.reports += 1
        if r["echo_ts"] is not None:     # ts_us is 32-bit: a wrap-safe difference
            sample = (wire.ts_diff(int(now * 1e6), r["echo_ts"]) - r["echo_hold_us"]) / 1e6
            if 0 < sample < 30:
                self.rtt_sample = sample
                self.srtt = sample if self.reports == 1 else 0.875 * self.srtt + 0.125 * sample
        caps = [c for c in (self.local_cap(), r["cap"]) if c]
        self.cc.set_cap(min(caps) if caps else 0.0)
        sig = self.signals
        sig.add(now, r["qdelay_us"] / 1e6, r["received"])
        qdelay = sig.qdelay(now, self.srtt, short=self.cc.slow_start)
        delivery = sig.delivery(now, self.srtt)
        if self.last_report is not None:
            self.cc.update(now - self.last_report, self.srtt, qdelay, delivery,
                           r["loss_ppm"] / 1e6, sig.recent_delivery(now, self.srtt))
        self.last_report = now
        if self.trace is not None:
            self.trace.append((now, self.cc.rate, r["qdelay_us"], delivery, r["loss_ppm"],
                               self.srtt, self.queue.sent_new, self.queue.sent_retx,
                               r["received"], len(r["ranges"]), self.cc.slow_start,
                               qdelay))
        self.acked = r["received"]
        # a retransmission gets one round trip (with today's queue) to arrive
        self.queue.nack(r["ranges"], now, 1.25 * max(self.srtt, self.rtt_sample) + 0.01)
        if r["complete"]:
            self.complete = True
        if self.progress:
            self.progress(self.acked)

    def gso_segments(self, seg: int) -> int:
        """How many packets of ``seg`` bytes one send() may carry: UDP GSO
        (UDP_SEGMENT, Linux >= 4.18) cuts a buffer into datagrams in the
        kernel, one system call per batch instead of per packet.  1 when the
        socket refuses it or the packets are large (loopback's 60 KiB)."""
        n = min(GSO_MAX, 65000 // seg)
        if n < 2 or not self.use_gso:
            return 1
        try:
            self.sock.setsockopt(socket.SOL_UDP, UDP_SEGMENT, seg)
        except OSError:
            return 1
        return n

    def run(self, ctrl_sock: socket.socket | None = None, timeout: float = 60.0) -> str:
        """Send until the receiver reports completion ("complete"), the control
        socket becomes readable ("control") or nothing is heard for
        ``timeout`` seconds ("timeout")."""
        sock, q, cc = self.sock, self.queue, self.cc
        sock.setblocking(False)
        if self.local_cap():
            cc.set_cap(self.local_cap())
        hsize, bs = wire.DATA.size, self.block_size
        tag, T_DATA, M32 = wire.TAG, wire.T_DATA, wire.M32
        seg = hsize + bs + tag
        gso = self.gso_segments(seg)
        buf = bytearray(seg * gso)
        mv = memoryview(buf)
        batch: list[tuple[int, int]] = []
        rbuf = bytearray(65536)
        rmv = memoryview(rbuf)
        data, size, sess, dirn = self.data, self.size, self.session, self.direction
        pack, enc = wire.DATA.pack_into, self.aead.encrypt_into
        nonce_of = crypto.data_nonce
        monotonic = time.monotonic
        rlist = [sock] + ([ctrl_sock] if ctrl_sock is not None else [])
        pkt_cost = hsize + bs + wire.TAG + wire.IP_UDP_OVERHEAD
        credit, last = 0.0, monotonic()
        heard = next_check = last
        last_sent_block, tail_probe_at = -1, 0.0
        while True:
            now = monotonic()
            # 1. reports (and the control channel)
            while True:
                try:
                    n = sock.recv_into(rbuf)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionRefusedError:   # ICMP from a peer not yet listening
                    break
                heard = now
                self._on_report(rmv[:n], now)
            if self.complete:
                return "complete"
            if now >= next_check:         # the control channel, at most every 10 ms
                next_check = now + 0.01
                if ctrl_sock is not None and select.select([ctrl_sock], [], [], 0)[0]:
                    return "control"
                if now - heard > timeout:
                    return "timeout"
            # 2. send what the rate allows, one burst per wake-up: a short queue
            # (a switch port, 64 kB) must absorb a burst, so a burst is kept to
            # BURST_TIME of sending and the pacer wakes again for the next one
            rate = cc.rate
            srtt_us = min(int(self.srtt * 1e6), M32)
            elapsed = now - last
            owed = credit + rate * elapsed
            credit = min(owed, max(rate * CATCH_UP, 2 * pkt_cost))
            if owed > credit and not q.idle:
                self.forfeited += owed - credit     # woken far too late to catch up
            last = now
            burst, budget = burst_budget(credit, rate, elapsed, pkt_cost)
            while budget >= pkt_cost:
                # one batch: up to `gso` packets side by side in `buf`, one send
                # (UDP GSO: the kernel cuts it into datagrams of `seg` bytes;
                # only the last may be shorter, so a short block ends a batch)
                batch.clear()
                end = 0
                while len(batch) < gso and budget >= pkt_cost:
                    nxt = q.pop()
                    if nxt is None:
                        break
                    b, attempt = nxt
                    off = b * bs
                    ln = bs if off + bs <= size else size - off
                    pack(buf, end, T_DATA, dirn, attempt, sess, b, q.frontier,
                         int(monotonic() * 1e6) & M32, srtt_us)
                    enc(nonce_of(dirn, attempt, b), data[off:off + ln], mv[end:end + hsize],
                        mv[end + hsize:end + hsize + ln + tag])
                    end += hsize + ln + tag
                    batch.append((b, attempt))
                    budget -= pkt_cost
                    if ln != bs:
                        break
                if not batch:
                    break
                try:
                    sock.send(mv[:end])
                except (BlockingIOError, InterruptedError):
                    self.blocked += 1
                    for b, _ in reversed(batch):    # resend them (next attempt number)
                        q.retx.appendleft(b)
                        q.queued.add(b)
                    select.select([], [sock], [], 0.01)
                    break
                except ConnectionRefusedError:
                    pass
                except OSError:
                    if gso == 1:
                        raise
                    # the path refuses GSO (EIO/EINVAL): one datagram per send from now on
                    sock.setsockopt(socket.SOL_UDP, UDP_SEGMENT, 0)
                    gso = 1
                    for b, _ in reversed(batch):
                        q.retx.appendleft(b)
                        q.queued.add(b)
                    continue
                credit -= pkt_cost * len(batch)
                self.batches += 1
                last_sent_block = batch[-1][0]
                for b, attempt in batch:
                    if attempt:
                        q.mark_resent(b, now)
            # 3. tail loss probe: all sent, no completion for 2 RTTs -> resend
            # the last block (its frontier tells the receiver everything was sent)
            if q.idle:
                if tail_probe_at == 0.0:
                    tail_probe_at = now + max(2 * self.srtt, 0.02)
                elif now >= tail_probe_at and last_sent_block >= 0:
                    q.nack([(last_sent_block, 1)])
                    tail_probe_at = 0.0
                wait = 0.005
            else:
                tail_probe_at = 0.0
                wait = pacing_wait(credit, burst, rate)
            if wait > 0:
                select.select(rlist, [], [], min(wait, 0.01))
