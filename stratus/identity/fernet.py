"""Fernet key repository, laid out as Keystone's.

Keys are files named by integers in one directory: ``0`` is the *staged* key
(already accepted for decryption so every node knows it before it becomes
primary), the highest number is the *primary* key (encrypts new tokens), the
rest are *secondary* keys (still decrypt tokens issued before a rotation).
"""
from __future__ import annotations

import os
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["KeyRepository", "InvalidToken"]


class KeyRepository:
    def __init__(self, path: str, max_active_keys: int = 3):
        if max_active_keys < 2:
            raise ValueError("max_active_keys must be at least 2")
        self.path = path
        self.max_active_keys = max_active_keys
        self._lock = threading.Lock()
        self._cached: tuple[tuple, MultiFernet] | None = None

    # -- on-disk layout ---------------------------------------------------
    def _indexes(self) -> list[int]:
        if not os.path.isdir(self.path):
            return []
        return sorted(int(n) for n in os.listdir(self.path) if n.isdigit())

    def _write_key(self, index: int, key: bytes) -> None:
        tmp = os.path.join(self.path, f".{index}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.path, str(index)))

    def setup(self) -> bool:
        """Create the repository with a staged and a primary key if it has no
        keys.  Idempotent; returns True when it created keys."""
        with self._lock:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            if self._indexes():
                return False
            self._write_key(0, Fernet.generate_key())
            self._write_key(1, Fernet.generate_key())
            self._cached = None
            return True

    def rotate(self) -> list[int]:
        """Promote the staged key to primary, stage a new key, and drop the
        oldest secondaries beyond ``max_active_keys``.  Returns the indexes now
        present."""
        with self._lock:
            indexes = self._indexes()
            if not indexes:
                raise RuntimeError(f"no Fernet keys in {self.path}; run setup first")
            new_primary = max(indexes) + 1
            os.replace(os.path.join(self.path, "0"), os.path.join(self.path, str(new_primary)))
            self._write_key(0, Fernet.generate_key())
            indexes = self._indexes()
            secondaries = [i for i in indexes if i not in (0, new_primary)]
            excess = len(indexes) - self.max_active_keys
            for i in secondaries[:max(excess, 0)]:
                os.remove(os.path.join(self.path, str(i)))
            self._cached = None
            return self._indexes()

    # -- crypto -------------------------------------------------------------
    def _fernet(self) -> MultiFernet:
        """A MultiFernet with the primary key first; reloaded when the set of
        key files changes (another process rotated)."""
        # A rotation renames files, which changes the directory's mtime: one
        # stat per call instead of a listing.
        stamp = os.stat(self.path).st_mtime_ns
        cached = self._cached
        if cached and cached[0] == stamp:
            return cached[1]
        indexes = self._indexes()
        if not indexes:
            raise RuntimeError(f"no Fernet keys in {self.path}")
        order = sorted(indexes, reverse=True)  # primary, secondaries..., staged (0) last
        keys = []
        for i in order:
            with open(os.path.join(self.path, str(i)), "rb") as f:
                keys.append(Fernet(f.read().strip()))
        mf = MultiFernet(keys)
        self._cached = (stamp, mf)
        return mf

    def encrypt(self, payload: bytes) -> str:
        return self._fernet().encrypt(payload).rstrip(b"=").decode()

    def decrypt(self, token: str) -> bytes:
        """Raises InvalidToken for anything not issued with one of our keys."""
        try:
            raw = token.encode("ascii")
        except (UnicodeEncodeError, AttributeError):
            raise InvalidToken() from None
        raw += b"=" * (-len(raw) % 4)
        return self._fernet().decrypt(raw)
