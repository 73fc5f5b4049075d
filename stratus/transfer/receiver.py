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
import threading
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stratus.transfer import crypto, wire
from stratus.transfer.blocks import LossDetector
from stratus.transfer.net import _ANC, enable_gro, kernel_timestamps, read_ancillary

CHECKPOINT_EVERY = 2.0      # seconds between fsync'd block map checkpoints
BATCH = 64                  # packets drained per wake-up before timers are looked at
COALESCE = 64               # consecutive blocks written with one pwrite (at most 1 MiB)
RX_TICK = 0.002             # sleep between drains while data flows


def owd_bias(arrival_us: int, ts: int) -> int:
    """The bias that maps the first one-way delay sample (arrival_us - ts,
    ts the sender's 32-bit clock) to 2^31 modulo 2^32 (see Receiver._run)."""
    return (1 << 31) - ((arrival_us - ts) & wire.M32)


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
        self.owd_bias = None    # makes the session's first one-way delay 2^31 (see _run)
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
        hold = int((now - st["last_arrival"]) * 1e6) if st["last_ts"] is not None else 0
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

    def run(self, ctrl_sock: socket.socket | None = None, timeout: float = 60.0,
            on_control=None) -> str:
        """Receive until every block is held ("complete"), the control socket
        is readable ("control") or no valid packet came for ``timeout`` s.
        ``on_control``: called when the control socket is readable; returning
        True means the message was consumed and receiving goes on."""
        self.on_control = on_control
        sock = self.sock
        sock.setblocking(False)
        kernel_timestamps(sock)
        enable_gro(sock)
        # kernel stamps are CLOCK_REALTIME: convert to this monotonic clock (µs)
        rt_offset_us = int((time.time() - time.monotonic()) * 1e6)
        self.staging.start_hashing()
        stop = threading.Event()
        saver = threading.Thread(target=self._checkpoints, args=(stop,), daemon=True,
                                 name="transfer-checkpoint")
        saver.start()
        try:
            return self._run(ctrl_sock, timeout, rt_offset_us)
        finally:
            stop.set()
            saver.join()

    def _checkpoints(self, stop: threading.Event) -> None:
        """fsync + map every CHECKPOINT_EVERY s, off the receive loop (an fsync
        can block for a long time; the loop must keep draining the socket)."""
        while not stop.wait(CHECKPOINT_EVERY):
            try:
                self.staging.checkpoint()
            except OSError:
                return

    def _run(self, ctrl_sock, timeout: float, rt_offset_us: int) -> str:
        """The receive loop.  Hot path per datagram: recvmsg_into a reused
        buffer (with its kernel receive time), header checks, AES-GCM
        decrypt_into the write buffer.  Consecutive blocks are decrypted side
        by side and written with one pwrite per run (at most COALESCE blocks,
        and at every report and wake-up); a block is marked held only once
        its run is written, so a checkpoint never claims an unwritten block."""
        sock, m, counters = self.sock, self.map, self.counters
        have = m.have
        hsize, tag = wire.DATA.size, wire.TAG
        bs, size, nblocks = self.staging.block_size, self.staging.size, m.nblocks
        fd = self.staging.fd
        buf = bytearray(1 << 17)        # a GRO batch is at most 64 KiB
        mv = memoryview(buf)
        cmax = max(1, min(COALESCE, (1 << 20) // bs))
        wbuf = bytearray(cmax * bs)
        wmv = memoryview(wbuf)
        ones = b"\x01" * cmax
        dec = self.aead.decrypt_into
        unpack = wire.DATA.unpack_from
        nonce_of = crypto.data_nonce
        pwrite = os.pwrite
        monotonic = time.monotonic
        recvmsg, bufs = sock.recvmsg_into, [buf]
        sess, dirn, T_DATA = self.session, self.direction, wire.T_DATA
        rlist = [sock] + ([ctrl_sock] if ctrl_sock is not None else [])
        now = monotonic()
        st = {"since": now, "bytes": 0, "pkts": 0, "holes": 0, "min_owd": None, "rate": 0,
              "last_q": 0, "last_ts": None, "last_arrival": now}
        NONE = 1 << 62
        base_owd = NONE if self.base_owd is None else self.base_owd
        # ts is the sender's clock modulo 2^32 and the two clocks' offset is
        # arbitrary: owd = (arrival - ts + bias) mod 2^32, the bias chosen at
        # the first packet so that owd starts at 2^31; it then never wraps
        # while the path delay changes by less than +-35 minutes, and owds
        # compare (min, - base) as plain integers
        M32, obias = wire.M32, self.owd_bias
        min_owd, nbytes, npkts, last_ts, last_arrival = NONE, 0, 0, 0, now
        packets = malformed = duplicates = tampered = policed = 0
        run_start = run_len = run_bytes = 0
        frontier, peer_srtt = 0, 0
        heard = now
        next_report = now + 0.01
        tokens, token_time = 0.0, now
        cap = self.cap()

        def flush():
            nonlocal run_len, run_bytes
            pwrite(fd, wmv[:run_bytes], run_start * bs)
            have[run_start:run_start + run_len] = ones[:run_len]
            m.count += run_len
            counters["written"] += run_len
            run_len = run_bytes = 0

        while not m.complete:
            drained = 0
            for drained in range(1, BATCH + 1):
                try:
                    total, anc, _flags, addr = recvmsg(bufs, _ANC)
                except (BlockingIOError, InterruptedError, ConnectionRefusedError):
                    drained -= 1
                    break
                # UDP GRO: one buffer may hold several datagrams of `seg` bytes
                # (only the last may be shorter); the stamp is the first's
                stamp, seg = read_ancillary(anc, total)
                if stamp is not None:
                    arrival_us = stamp - rt_offset_us
                else:
                    arrival_us = int(monotonic() * 1e6)
                for o in range(0, total, seg):
                    e = o + seg if o + seg < total else total
                    n = e - o
                    packets += 1
                    if n < hsize + tag or buf[o] != T_DATA:
                        malformed += 1
                        continue
                    t, d, attempt, session, b, front, ts, srtt = unpack(buf, o)
                    ln = bs if (b + 1) * bs <= size else size - b * bs
                    if session != sess or d != dirn or b >= nblocks or n != hsize + ln + tag:
                        malformed += 1
                        continue
                    if have[b] or run_start <= b < run_start + run_len:
                        duplicates += 1
                        continue
                    if cap:
                        t_now = monotonic()
                        tokens = min(tokens + (t_now - token_time) * cap * 1.1,
                                     cap * 0.05 + n)
                        token_time = t_now
                        if tokens < n:
                            policed += 1
                            continue
                        tokens -= n
                    if run_len and (b != run_start + run_len or run_len == cmax):
                        flush()
                    try:
                        dec(nonce_of(d, attempt, b), mv[o + hsize:e], mv[o:o + hsize],
                            wmv[run_bytes:run_bytes + ln])
                    except InvalidTag:
                        tampered += 1
                        continue
                    if not run_len:
                        run_start = b
                    run_len += 1
                    run_bytes += ln
                    if not self.connected:
                        sock.connect(addr)
                        self.connected = True
                    if obias is None:
                        obias = self.owd_bias = owd_bias(arrival_us, ts)
                    owd = (arrival_us - ts + obias) & M32
                    if owd < min_owd:
                        min_owd = owd
                        if owd < base_owd:
                            base_owd = owd
                    nbytes += ln
                    npkts += 1
                    last_ts, last_arrival = ts, arrival_us
                    if srtt:
                        peer_srtt = srtt
                    if front > frontier:
                        frontier = front
            if run_len:
                flush()
            now = monotonic()
            if npkts:
                heard = now
            if m.complete or now >= next_report:
                self.base_owd = None if base_owd == NONE else base_owd
                if npkts:
                    st["min_owd"] = None if min_owd == NONE else min_owd
                    st["last_ts"], st["last_arrival"] = last_ts, last_arrival / 1e6
                st["bytes"] += nbytes
                st["pkts"] += npkts
                min_owd, nbytes, npkts = NONE, 0, 0
                counters.update(packets=packets, malformed=malformed, duplicates=duplicates,
                                tampered=tampered, policed=policed)
                if peer_srtt:
                    self.srtt = peer_srtt / 1e6
            if m.complete:
                break
            if now >= next_report:
                before = self.loss.outstanding
                self.loss.advance(frontier, now)
                st["holes"] += self.loss.outstanding - before
                self._send_report(now, st, False)
                next_report = now + min(max(self.srtt / 4, 0.005), 0.05)
                cap = self.cap()
                if self.progress:
                    self.progress(m.count)
                if self.on_tick is not None and not counters["written"]:
                    self.on_tick()
                if ctrl_sock is not None and select.select([ctrl_sock], [], [], 0)[0]:
                    if self.on_control is None or not self.on_control():
                        return "control"
                if now - heard > timeout:
                    return "timeout"
            if drained == BATCH:
                continue         # more is waiting
            if drained:
                # data is flowing: let a few ms of it gather in the socket buffer
                # (kernel-stamped, so no delay sample suffers) rather than wake
                # per packet; waking costs more than handling a packet
                time.sleep(RX_TICK)
            else:
                select.select(rlist, [], [], max(0.0, min(next_report - now, 0.01)))
        now = monotonic()
        for _ in range(3):   # a lost COMPLETE report is repaired by the control message
            self._send_report(now, st, True)
        if self.progress:
            self.progress(m.count)
        return "complete"
