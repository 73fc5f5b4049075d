"""Block bookkeeping (pure): which blocks a receiver holds, which it should
ask again for (NACKs), and what a sender sends next.

An object of ``size`` bytes is cut into ``nblocks = ceil(size / block_size)``
blocks; block i covers bytes [i*block_size, min(size, (i+1)*block_size)).
"""
from __future__ import annotations

import zlib
from array import array
from collections import deque


def block_count(size: int, block_size: int) -> int:
    return (size + block_size - 1) // block_size


def block_span(i: int, size: int, block_size: int) -> tuple[int, int]:
    """(offset, length) of block i."""
    off = i * block_size
    return off, min(block_size, size - off)


def to_ranges(blocks) -> list[tuple[int, int]]:
    """Sorted block numbers -> [(first, count)] of consecutive runs."""
    out: list[list[int]] = []
    for b in blocks:
        if out and out[-1][0] + out[-1][1] == b:
            out[-1][1] += 1
        else:
            out.append([b, 1])
    return [(s, n) for s, n in out]


class BlockMap:
    """One byte per block (1 = held).  ``mark`` is the receive hot path."""

    def __init__(self, nblocks: int, have: bytes | bytearray | None = None):
        if have is not None and len(have) != nblocks:
            raise ValueError("block map length does not match the block count")
        self.have = bytearray(have) if have is not None else bytearray(nblocks)
        self.nblocks = nblocks
        self.count = self.have.count(1)

    def mark(self, i: int) -> bool:
        """Record block i; False when it was already held (a duplicate)."""
        if self.have[i]:
            return False
        self.have[i] = 1
        self.count += 1
        return True

    @property
    def complete(self) -> bool:
        return self.count == self.nblocks

    def missing(self, start: int = 0, end: int | None = None):
        """Block numbers not held in [start, end), ascending."""
        end = self.nblocks if end is None else end
        find, i = self.have.find, start
        while True:
            i = find(0, i, end)
            if i < 0:
                return
            yield i
            i += 1

    def encode(self) -> bytes:
        return zlib.compress(bytes(self.have), 1)

    @classmethod
    def decode(cls, nblocks: int, data: bytes) -> "BlockMap":
        raw = zlib.decompress(data)
        if len(raw) != nblocks or raw.strip(b"\x00\x01"):
            raise ValueError("invalid block map")
        return cls(nblocks, raw)


class LossDetector:
    """Receiver side: turns holes below the sender's frontier into NACKs.

    A hole is a block the sender has sent (it is below the frontier carried by
    every DATA packet) but that has not arrived.  It is NACKed once it has been
    missing for ``reorder`` seconds (reordering tolerance), and NACKed again
    every ``rtt * 1.5`` while still missing (the NACK or the retransmission
    may itself be lost)."""

    def __init__(self, blocks: BlockMap, reorder: float = 0.005):
        self.blocks = blocks
        self.reorder = reorder
        self.scanned = 0                  # holes below this are in self.pending
        self.pending: dict[int, float] = {}   # block -> time it may be NACKed next

    def advance(self, frontier: int, now: float) -> None:
        frontier = min(frontier, self.blocks.nblocks)
        if frontier <= self.scanned:
            return
        due = now + self.reorder
        for b in self.blocks.missing(self.scanned, frontier):
            self.pending[b] = due
        self.scanned = frontier

    def nacks(self, now: float, rtt: float, limit: int) -> list[tuple[int, int]]:
        """Ranges to NACK now (at most ``limit`` ranges); updates their timers."""
        have, out, gone = self.blocks.have, [], []
        again = now + max(rtt * 1.5, 0.01)
        for b, due in self.pending.items():
            if have[b]:
                gone.append(b)
            elif due <= now:
                if out and out[-1][0] + out[-1][1] == b:
                    out[-1][1] += 1
                elif len(out) < limit:
                    out.append([b, 1])
                else:
                    continue
                self.pending[b] = again
        for b in gone:
            del self.pending[b]
        return [(s, n) for s, n in out]

    @property
    def outstanding(self) -> int:
        return len(self.pending)


class SendQueue:
    """Sender side: what to send next.  Retransmissions (NACKed blocks) go
    before new blocks; ``todo`` is the ascending list of blocks the receiver
    lacked at the start (all of them, or the missing ones on resume).
    ``attempt[b]`` counts sends of block b in this session (part of the nonce,
    so it must never repeat: a block is sent at most 65536 times)."""

    def __init__(self, nblocks: int, todo: list[int] | range):
        self.todo = todo
        self.next = 0                      # index into todo
        self.retx: deque[int] = deque()
        self.queued: set[int] = set()
        self.attempt = array("H", bytes(2 * nblocks)) if nblocks else array("H")
        self.sent_new = 0
        self.sent_retx = 0
        self.resent_at: dict[int, float] = {}   # block -> when it was last retransmitted
        self.ignored = 0                         # NACKs ignored: retransmission in flight

    @property
    def frontier(self) -> int:
        """Every block below this has been sent at least once."""
        if self.next < len(self.todo):
            return self.todo[self.next]
        return len(self.attempt)

    def nack(self, ranges, now: float = 0.0, holdoff: float = 0.0) -> None:
        """Queue the NACKed blocks that were sent, except those retransmitted
        less than ``holdoff`` s before ``now`` (the NACK may predate the
        retransmission's arrival: re-sending would only make a duplicate)."""
        front, resent = self.frontier, self.resent_at
        since = now - holdoff
        for start, count in ranges:
            for b in range(start, min(start + count, front)):
                if b in self.queued:
                    continue
                if holdoff and resent.get(b, -1e18) > since:
                    self.ignored += 1
                    continue
                self.queued.add(b)
                self.retx.append(b)

    def mark_resent(self, block: int, now: float) -> None:
        self.resent_at[block] = now

    def pop(self) -> tuple[int, int] | None:
        """(block, attempt) to send next, or None when nothing is due."""
        if self.retx:
            b = self.retx.popleft()
            self.queued.discard(b)
            a = self.attempt[b]
            if a == 0xFFFF:
                raise RuntimeError(f"block {b} was sent 65536 times; giving up")
            self.attempt[b] = a + 1
            self.sent_retx += 1
            return b, a + 1
        if self.next < len(self.todo):
            b = self.todo[self.next]
            self.next += 1
            self.sent_new += 1
            return b, 0
        return None

    @property
    def idle(self) -> bool:
        return not self.retx and self.next >= len(self.todo)
