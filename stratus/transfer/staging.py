"""Resumable receive files: ``<base>.data`` (preallocated, written with
pwrite), ``<base>.map`` (one byte per block, 1 = durable) and ``<base>.json``
(what the transfer is: size, block size, identity).

Durability order: the data file is fsync'd *before* the map that claims its
blocks is written and fsync'd, so after a crash the map never claims a block
whose bytes were lost.  A crash can only lose blocks, never invent them.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import threading

from stratus.transfer import wire
from stratus.transfer.blocks import BlockMap, block_count


class StagingError(Exception):
    """Could not prepare the receive files (``.status`` like the store's errors)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Staging:
    def __init__(self, base: str, size: int, block_size: int, identity: dict):
        """Open the receive files at ``base``, resuming them when their
        description equals (size, block_size, identity); otherwise start
        afresh.  Raises StagingError(507) when the space cannot be reserved
        (and leaves nothing behind)."""
        self.base, self.size, self.block_size = base, size, block_size
        why = wire.block_limit(size, block_size)
        if why:                                 # block numbers are u32 on the wire
            raise StagingError(400, why)
        self.nblocks = block_count(size, block_size)
        desc = {"size": size, "block_size": block_size, "identity": identity}
        self.resumed = False
        old = self._read_json()
        if old == desc and os.path.exists(self.data_path):
            try:
                with open(self.map_path, "rb") as f:
                    raw = f.read()
                self.map = BlockMap(self.nblocks, raw)
                self.resumed = True
            except (OSError, ValueError):
                pass
        if not self.resumed:
            self.remove()
            self.map = BlockMap(self.nblocks)
        self.fd = os.open(self.data_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not self.resumed:
                os.posix_fallocate(self.fd, 0, max(size, 1))
                os.ftruncate(self.fd, size)
                self.map_fd = os.open(self.map_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
                os.pwrite(self.map_fd, bytes(self.map.have), 0)
                self._write_json(desc)
            else:
                self.map_fd = os.open(self.map_path, os.O_RDWR)
        except OSError as exc:
            self.close()
            self.remove()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StagingError(507, f"Not enough space to receive {size} bytes.") from None
            raise StagingError(500, f"Cannot prepare the staging files: {exc.strerror}.") from None
        self._lock = threading.Lock()

    @property
    def data_path(self) -> str:
        return self.base + ".data"

    @property
    def map_path(self) -> str:
        return self.base + ".map"

    @property
    def json_path(self) -> str:
        return self.base + ".json"

    def _read_json(self):
        try:
            with open(self.json_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _write_json(self, desc: dict) -> None:
        tmp = self.json_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(desc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.json_path)

    def checkpoint(self) -> None:
        """Make every block the map holds durable, then the map itself.
        May run in a thread beside the receive loop (Receiver does)."""
        with self._lock:
            if self.fd < 0:
                return
            # snapshot first: a block is marked only after its pwrite returned, so
            # every block in the snapshot is in the page cache when fsync starts
            # (safe while a receiver keeps writing in another thread)
            snapshot = bytes(self.map.have)
            os.fsync(self.fd)
            os.pwrite(self.map_fd, snapshot, 0)
            os.fsync(self.map_fd)

    def start_hashing(self) -> None:
        """Hash the file's contiguous received prefix in a background thread
        while blocks still arrive (blocks mostly come in order), so that the
        end of the transfer only hashes the tail.  hashlib releases the GIL."""
        self._hash_stop = threading.Event()
        self._hashed = 0
        self._digests = (hashlib.md5(), hashlib.sha256())
        self._hasher = threading.Thread(target=self._hash_prefix, daemon=True,
                                        name="transfer-hash")
        self._hasher.start()

    def _hash_prefix(self) -> None:
        buf = bytearray(4 << 20)
        mv = memoryview(buf)
        md5, sha = self._digests
        with open(self.data_path, "rb", buffering=0) as f:
            while True:
                stopping = self._hash_stop.is_set()
                first_missing = self.map.have.find(0)
                limit = self.size if first_missing < 0 else first_missing * self.block_size
                if self._hashed >= limit:
                    if stopping or limit == self.size:
                        return
                    self._hash_stop.wait(0.05)
                    continue
                n = os.preadv(f.fileno(), [mv[:min(len(buf), limit - self._hashed)]],
                              self._hashed)
                if n <= 0:
                    return
                md5.update(mv[:n])
                sha.update(mv[:n])
                self._hashed += n

    def hashes(self) -> tuple[str, str]:
        """(md5 hex, sha256 hex) of the data file (all blocks must be held)."""
        if getattr(self, "_hasher", None) is None:
            self.start_hashing()
        self._hash_stop.set()
        self._hasher.join()
        self._hasher = None
        if self._hashed != self.size:
            raise RuntimeError("hashes() called before every block was received")
        md5, sha = self._digests
        return md5.hexdigest(), sha.hexdigest()

    def close(self) -> None:
        if getattr(self, "_hasher", None) is not None:
            self._hash_stop.set()
            self._hasher.join()
            self._hasher = None
        for name in ("fd", "map_fd"):
            fd = getattr(self, name, -1)
            if fd >= 0:
                os.close(fd)
            setattr(self, name, -1)

    def remove(self, keep_data: bool = False) -> None:
        for p in ((self.map_path, self.json_path) if keep_data else
                  (self.data_path, self.map_path, self.json_path)):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
