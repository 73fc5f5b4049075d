"""The data receiver: authenticates and decrypts DATA packets straight into
the staging file (pwrite at block offset), keeps the block map, measures
one-way delay, and sends REPORTs (NACKs, queuing delay, delivery rate).

A packet is written only after its AES-GCM tag verified; a packet that fails
is counted in ``tampered`` and dropped; one for a block already held (a
duplicate or a replay) is counted in ``duplicates`` and never decrypted or
written.  An optional policer drops packets beyond the server's cap.
"""
from __future__ import annotations

import os
import select
import socket
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.transfer import crypto, wire
from stratus.transfer.blocks import LossDetector

CHECKPOINT_EVERY = 2.0      # seconds between fsync'd block map checkpoints
BATCH = 32                  # packets drained per wake-up before timers are looked at


class Receiver:
    def __init__(self, sock: socket.socket, key: bytes, report_key: bytes, direction: int,
                 session: int, staging, cap=None, connected: bool = True, progress=None):
        """``direction``: of the DATA packets; ``staging``: stratus.transfer.
        staging.Staging; ``cap``: callable -> bytes/s to police and to tell
        the sender (0: none); ``connected``: the socket already has its peer
        (else the first authenticated packet's source becomes the peer)."""
        self.sock, self.direction, self.session = sock, direction, session
        self.aead, self.report_aead = AESGCM(key), AESGCM(report_key)
        self.staging = staging
        self.map = staging.map
        self.loss = LossDetector(self.map)
        self.cap = cap or (lambda: 0)
        self.connected = connected
        self.progress = progress
        self.on_tick = None     # called every report tick until data flows (get: PROBEs)
        self.counters = {"packets": 0, "written": 0, "duplicates": 0, "tampered": 0,
                         "malformed": 0, "policed": 0, "reports": 0}
        self.report_seq = 0
        self.base_owd = None
        self.srtt = 0.05

    def _send_report(self, now: float, st: dict, complete: bool) -> None:
        if not self.connected:
            return
        interval = now - st["since"]
        ranges = [] if complete else self.loss.nacks(now, self.srtt, wire.max_report_ranges(1400))
        rate = st["bytes"] / interval if interval > 0 else 0
        st["rate"] = rate if st["rate"] == 0 else 0.5 * st["rate"] + 0.5 * rate
        expected = st["pkts"] + st["holes"]
        loss_ppm = int(1e6 * st["holes"] / expected) if expected else 0
        q = st["min_owd"] - self.base_owd if st["min_owd"] is not None else st["last_q"]
        st["last_q"] = q
        hold = int((now - st["last_arrival"]) * 1e6) if st["last_ts"] else 0
        body = wire.pack_report_body(self.map.count, st["last_ts"], hold, q, int(st["rate"]),
                                     int(self.cap()), loss_ppm,
                                     wire.R_COMPLETE if complete else 0, ranges)
        seq = self.report_seq = self.report_seq + 1
        d = 1 - self.direction
        hdr = wire.SHORT.pack(wire.T_REPORT, d, 0, self.session, seq)
        pkt = hdr + self.report_aead.encrypt(crypto.report_nonce(d, seq), body, hdr)
        try:
            self.sock.send(pkt)
        except (BlockingIOError, ConnectionRefusedError, InterruptedError):
            pass
        self.counters["reports"] += 1
        st.update(since=now, bytes=0, pkts=0, holes=0, min_owd=None)

    def run(self, ctrl_sock: socket.socket | None = None, timeout: float = 60.0) -> str:
        """Receive until every block is held ("complete"), the control socket
        is readable ("control") or no valid packet came for ``timeout`` s."""
        sock, m, counters = self.sock, self.map, self.counters
        sock.setblocking(False)
        self.staging.start_hashing()
        have = m.have
        hsize = wire.DATA.size
        bs, size, nblocks = self.staging.block_size, self.staging.size, m.nblocks
        fd = self.staging.fd
        buf = bytearray(65536)
        mv = memoryview(buf)
        out = bytearray(65536)
        omv = memoryview(out)
        dec = self.aead.decrypt_into
        unpack = wire.DATA.unpack_from
        nonce_of = crypto.data_nonce
        pwrite = os.pwrite
        monotonic = time.monotonic
        sess, dirn = self.session, self.direction
        rlist = [sock] + ([ctrl_sock] if ctrl_sock is not None else [])
        now = monotonic()
        st = {"since": now, "bytes": 0, "pkts": 0, "holes": 0, "min_owd": None, "rate": 0,
              "last_q": 0, "last_ts": 0, "last_arrival": now}
        frontier = 0
        heard = now
        next_report = now + 0.01
        next_checkpoint = now + CHECKPOINT_EVERY
        tokens, token_time = 0.0, now
        while not m.complete:
            for _ in range(BATCH):
                try:
                    if self.connected:
                        n = sock.recv_into(buf)
                    else:
                        n, addr = sock.recvfrom_into(buf)
                except (BlockingIOError, InterruptedError, ConnectionRefusedError):
                    break
                counters["packets"] += 1
                if n < hsize + wire.TAG or buf[0] != wire.T_DATA:
                    counters["malformed"] += 1
                    continue
                t, d, attempt, session, b, front, ts, srtt, _ = unpack(buf, 0)
                ln = bs if (b + 1) * bs <= size else size - b * bs
                if session != sess or d != dirn or b >= nblocks or n != hsize + ln + wire.TAG:
                    counters["malformed"] += 1
                    continue
                if have[b]:
                    counters["duplicates"] += 1
                    continue
                cap = self.cap()
                if cap:
                    t_now = monotonic()
                    tokens = min(tokens + (t_now - token_time) * cap * 1.1, cap * 0.05 + n)
                    token_time = t_now
                    if tokens < n:
                        counters["policed"] += 1
                        continue
                    tokens -= n
                try:
                    dec(nonce_of(d, attempt, b), mv[hsize:n], mv[:hsize], omv[:ln])
                except InvalidTag:
                    counters["tampered"] += 1
                    continue
                if not self.connected:
                    sock.connect(addr)
                    self.connected = True
                pwrite(fd, omv[:ln], b * bs)
                have[b] = 1
                m.count += 1
                counters["written"] += 1
                arrival = monotonic()
                owd = int(arrival * 1e6) - ts
                if self.base_owd is None or owd < self.base_owd:
                    self.base_owd = owd
                if st["min_owd"] is None or owd < st["min_owd"]:
                    st["min_owd"] = owd
                st["bytes"] += ln
                st["pkts"] += 1
                st["last_ts"], st["last_arrival"] = ts, arrival
                if srtt:
                    self.srtt = srtt / 1e6
                if front > frontier:
                    frontier = front
                heard = arrival
            now = monotonic()
            if m.complete:
                break
            if now >= next_report:
                before = self.loss.outstanding
                self.loss.advance(frontier, now)
                st["holes"] += self.loss.outstanding - before
                self._send_report(now, st, False)
                next_report = now + min(max(self.srtt / 4, 0.005), 0.05)
                if self.progress:
                    self.progress(m.count)
                if self.on_tick is not None and not counters["written"]:
                    self.on_tick()
            if now >= next_checkpoint:
                self.staging.checkpoint()
                next_checkpoint = now + CHECKPOINT_EVERY
            if ctrl_sock is not None and select.select([ctrl_sock], [], [], 0)[0]:
                return "control"
            if now - heard > timeout:
                return "timeout"
            select.select(rlist, [], [], max(0.0, min(next_report - now, 0.01)))
        now = monotonic()
        for _ in range(3):   # a lost COMPLETE report is repaired by the control message
            self._send_report(now, st, True)
        if self.progress:
            self.progress(m.count)
        return "complete"
