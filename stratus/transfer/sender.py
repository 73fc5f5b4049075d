"""The data sender: paces encrypted DATA packets at the controller's rate,
retransmits what the receiver's REPORTs NACK, stops when a report says
complete or the control connection has something to say.

Hot path per packet: struct.pack_into the header into a reused buffer,
AESGCM.encrypt_into straight from the file's mmap into that buffer (the one
copy of the data), one send() of a memoryview.  No per-packet allocation
besides the nonce.
"""
from __future__ import annotations

import select
import socket
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.transfer import crypto, wire
from stratus.transfer.blocks import SendQueue
from stratus.transfer.congestion import DelayController

BURST = 0.002           # at most this many seconds of sending credit at once


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
        self.local_cap = local_cap or (lambda: 0.0)   # callable -> bytes/s (0: none)
        self.progress = progress
        self.report_seq = -1
        self.complete = False
        self.reports = 0
        self.bad = 0            # reports that failed authentication or parsing
        self.acked = 0          # blocks the receiver holds (last report)
        self.last_report = None

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
        if r["echo_ts"]:
            sample = (int(now * 1e6) - r["echo_ts"] - r["echo_hold_us"]) / 1e6
            if 0 < sample < 30:
                self.srtt = sample if self.reports == 1 else 0.875 * self.srtt + 0.125 * sample
        caps = [c for c in (self.local_cap(), r["cap"]) if c]
        self.cc.set_cap(min(caps) if caps else 0.0)
        if self.last_report is not None:
            self.cc.update(now - self.last_report, self.srtt, r["qdelay_us"] / 1e6,
                           r["recv_rate"], r["loss_ppm"] / 1e6)
        self.last_report = now
        self.acked = r["received"]
        self.queue.nack(r["ranges"])
        if r["complete"]:
            self.complete = True
        if self.progress:
            self.progress(self.acked)

    def run(self, ctrl_sock: socket.socket | None = None, timeout: float = 60.0) -> str:
        """Send until the receiver reports completion ("complete"), the control
        socket becomes readable ("control") or nothing is heard for
        ``timeout`` seconds ("timeout")."""
        sock, q, cc = self.sock, self.queue, self.cc
        sock.setblocking(False)
        if self.local_cap():
            cc.set_cap(self.local_cap())
        hsize, bs = wire.DATA.size, self.block_size
        buf = bytearray(hsize + bs + wire.TAG)
        mv = memoryview(buf)
        hdr = mv[:hsize]
        rbuf = bytearray(65536)
        rmv = memoryview(rbuf)
        data, size, sess, dirn = self.data, self.size, self.session, self.direction
        pack, enc = wire.DATA.pack_into, self.aead.encrypt_into
        nonce_of = crypto.data_nonce
        monotonic = time.monotonic
        rlist = [sock] + ([ctrl_sock] if ctrl_sock is not None else [])
        pkt_cost = hsize + bs + wire.TAG + wire.IP_UDP_OVERHEAD
        credit, last = 0.0, monotonic()
        heard = last
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
            if ctrl_sock is not None and select.select([ctrl_sock], [], [], 0)[0]:
                return "control"
            if now - heard > timeout:
                return "timeout"
            # 2. send what the rate allows
            rate = cc.rate
            credit = min(credit + rate * (now - last), max(rate * BURST, 2 * pkt_cost))
            last = now
            while credit >= pkt_cost:
                nxt = q.pop()
                if nxt is None:
                    break
                b, attempt = nxt
                off = b * bs
                ln = bs if off + bs <= size else size - off
                pack(buf, 0, wire.T_DATA, dirn, attempt, sess, b, q.frontier,
                     int(monotonic() * 1e6), int(self.srtt * 1e6), 0)
                enc(nonce_of(dirn, attempt, b), data[off:off + ln], hdr,
                    mv[hsize:hsize + ln + wire.TAG])
                try:
                    sock.send(mv[:hsize + ln + wire.TAG])
                except (BlockingIOError, InterruptedError):
                    q.retx.appendleft(b)      # resend it (next attempt number)
                    q.queued.add(b)
                    select.select([], [sock], [], 0.01)
                    break
                except ConnectionRefusedError:
                    pass
                credit -= pkt_cost
                last_sent_block = b
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
                wait = max(0.0, (pkt_cost - credit) / max(rate, 1.0))
            if wait > 0.0002:
                select.select(rlist, [], [], min(wait, 0.01))
