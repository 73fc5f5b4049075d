"""Where object bytes live: the :class:`Backend` protocol and the default
:class:`LocalDiskBackend` (files under ``<state_path>/objects/``).

A blob is immutable and named by a random key; replacing an object writes a
new blob and repoints the database row, so a reader holding the old blob open
keeps reading consistent bytes.  Writes go to a temporary file in
:meth:`Backend.staging_dir` (same filesystem), are fsynced by the writer, and
:meth:`Backend.commit` renames them into place (atomic) and fsyncs the
directory: a crash leaves either no blob or a complete one, never a truncated
file under a live key.  Blobs no database row references (a crash between
commit and the row update) are collected by :meth:`orphans` + :meth:`delete`.
"""
from __future__ import annotations

import os
import time
import uuid
from typing import BinaryIO, Iterator, Protocol


class Backend(Protocol):
    def staging_dir(self) -> str:
        """A directory on the same filesystem as the blobs (os.rename works)."""

    def temp_file(self) -> tuple[BinaryIO, str]:
        """A new writable file in the staging directory and its path."""

    def commit(self, path: str) -> str:
        """Move the complete, fsynced file at ``path`` into the store; its key."""

    def link(self, key: str) -> str:
        """A new staged file with the bytes of blob ``key`` (for copies); its path."""

    def open(self, key: str) -> BinaryIO:
        """The blob's bytes, readable (raises FileNotFoundError if gone)."""

    def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""

    def orphans(self, referenced, older_than: float) -> Iterator[str]:
        """Keys of blobs older than ``older_than`` seconds that ``referenced(key)``
        says no row points at; also removes this backend's own staged files
        (``*.tmp``) that old, left by dead writers."""


class LocalDiskBackend:
    def __init__(self, root: str):
        self.root = root
        self._staging = os.path.join(root, "staging")
        self._blobs = os.path.join(root, "blobs")
        os.makedirs(self._staging, mode=0o700, exist_ok=True)
        os.makedirs(self._blobs, mode=0o700, exist_ok=True)

    @classmethod
    def from_conf(cls, conf) -> "LocalDiskBackend":
        return cls(conf.object_store.store_path or os.path.join(conf.state_path, "objects"))

    def staging_dir(self) -> str:
        return self._staging

    def temp_file(self) -> tuple[BinaryIO, str]:
        path = os.path.join(self._staging, f"{uuid.uuid4().hex}.tmp")
        return open(path, "xb"), path

    def _path(self, key: str) -> str:
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"bad blob key {key!r}")
        return os.path.join(self._blobs, key[:2], key)

    def commit(self, path: str) -> str:
        key = uuid.uuid4().hex
        dest = self._path(key)
        os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        os.rename(path, dest)
        os.utime(dest)  # orphan collection ages blobs from their commit
        _fsync_dir(os.path.dirname(dest))
        return key

    def link(self, key: str) -> str:
        path = os.path.join(self._staging, f"{uuid.uuid4().hex}.tmp")
        os.link(self._path(key), path)
        return path

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def size(self, key: str) -> int:
        return os.path.getsize(self._path(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def orphans(self, referenced, older_than: float) -> Iterator[str]:
        cutoff = time.time() - older_than
        for name in os.listdir(self._staging):  # writers that died mid-upload
            if not name.endswith(".tmp"):  # others' files (e.g. resumable transfers)
                continue
            path = os.path.join(self._staging, name)
            try:
                if os.path.getmtime(path) < cutoff:
                    os.unlink(path)
            except FileNotFoundError:
                pass
        for sub in os.listdir(self._blobs):
            d = os.path.join(self._blobs, sub)
            for key in os.listdir(d):
                try:
                    old = os.path.getmtime(os.path.join(d, key)) < cutoff
                except FileNotFoundError:
                    continue
                if old and not referenced(key):
                    yield key


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
