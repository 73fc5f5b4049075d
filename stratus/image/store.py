"""The content-addressed chunk store on local disk (files only, no database).

A chunk is stored at ``<root>/<d[:2]>/<d>`` where ``d`` is the sha256 of its
bytes.  Writing is crash safe: the bytes go to a temporary file in the same
directory, are fsynced, then renamed into place (atomic on POSIX), so a chunk
file either holds exactly its bytes or does not exist.  Which chunks are in use
is the database's business (stratus/image/chunks.py).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Iterator

TMP_PREFIX = ".tmp-"


class ChunkMissing(Exception):
    pass


class ChunkStore:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    @classmethod
    def from_conf(cls, conf) -> "ChunkStore":
        return cls(conf.image.store_path or os.path.join(conf.state_path, "images"))

    @staticmethod
    def digest_of(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def path(self, digest: str) -> str:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return os.path.join(self.root, digest[:2], digest)

    def exists(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def write(self, digest: str, data: bytes) -> bool:
        """Store ``data`` under ``digest`` unless already there; True if written."""
        final = self.path(digest)
        if os.path.exists(final):
            return False
        directory = os.path.dirname(final)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            _unlink(tmp)
            raise
        _fsync_dir(directory)
        return True

    def read(self, digest: str) -> bytes:
        try:
            with open(self.path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise ChunkMissing(digest) from None

    def remove(self, digest: str) -> None:
        _unlink(self.path(digest))

    def digests(self) -> Iterator[str]:
        """Every chunk file present (temporary files excluded)."""
        for sub in sorted(os.listdir(self.root)):
            d = os.path.join(self.root, sub)
            if len(sub) != 2 or not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                if not name.startswith(TMP_PREFIX) and len(name) == 64:
                    yield name

    def remove_temporaries(self) -> int:
        """Delete leftovers of writes interrupted by a crash."""
        n = 0
        for sub in os.listdir(self.root):
            d = os.path.join(self.root, sub)
            if os.path.isdir(d):
                for name in os.listdir(d):
                    if name.startswith(TMP_PREFIX):
                        _unlink(os.path.join(d, name))
                        n += 1
        return n


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
