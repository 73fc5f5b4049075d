"""Reading an object's bytes: plain objects are one blob; a static large
object (SLO) is its manifest's segments in order, a dynamic one (DLO) is the
objects of ``X-Object-Manifest: container/prefix`` in name order.  Both are
resolved into :class:`Piece` lists (byte ranges of blobs) that
:func:`slice_pieces` cuts for a Range and :class:`PieceReader` streams.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from urllib.parse import unquote

from stratus.objectstore import errors, store

MAX_DEPTH = 10


@dataclass(frozen=True)
class Piece:
    blob: str
    first: int
    length: int


def split_path(path: str) -> tuple[str, str]:
    """'/container/object' (or 'container/object') -> (container, object)."""
    container, _, name = unquote(path).lstrip("/").partition("/")
    if not container or not name:
        raise errors.BadRequest(f"Invalid segment path {path!r}: expected /container/object.")
    return container, name


def dlo_rows(s, account: str, manifest: str) -> list:
    container, _, prefix = unquote(manifest).partition("/")
    c = store.get_container(s, account, container)
    if c is None:
        return []
    out, lower = [], None
    while True:
        batch = store.fetch_objects(s, c.id, lower, None, prefix, 1000, False)
        out += batch
        if len(batch) < 1000:
            return out
        lower = batch[-1].name


def dlo_etag(rows) -> str:
    return hashlib.md5("".join(r.etag for r in rows).encode()).hexdigest()


def resolve(s, account: str, info: store.ObjectInfo, depth: int = 0) -> list[Piece]:
    """The pieces making up the object's content (inside a DB session)."""
    if depth > MAX_DEPTH:
        raise errors.Conflict("Max recursion depth exceeded on large object segments.")
    manifest = info.metadata.get("x-object-manifest")
    if info.manifest == "slo":
        out: list[Piece] = []
        for seg in info.segments or []:
            container, name = split_path(seg["path"])
            c = store.get_container(s, account, container)
            row = store.live_object(s, c.id, name) if c is not None else None
            if row is None:
                raise errors.Conflict(f"Segment {seg['path']} of the large object is missing.")
            sub = resolve(s, account, store.info_of(row, account, container), depth + 1)
            first, last = 0, row.size - 1
            if seg.get("range"):
                first, last = seg["range"]
            out += slice_pieces(sub, first, last)
        return out
    if manifest:
        pieces = []
        for row in dlo_rows(s, account, manifest):
            if row.size:
                pieces += resolve(s, account, store.info_of(row, account), depth + 1)
        return pieces
    return [Piece(info.blob, 0, info.size)] if info.size else []


def slice_pieces(pieces: list[Piece], first: int, last: int) -> list[Piece]:
    """The parts of ``pieces`` covering content bytes first..last (inclusive)."""
    out, pos = [], 0
    for p in pieces:
        start, end = pos, pos + p.length - 1
        pos += p.length
        if end < first or start > last:
            continue
        lo, hi = max(first, start), min(last, end)
        out.append(Piece(p.blob, p.first + lo - start, hi - lo + 1))
    return out


class PieceReader(io.RawIOBase):
    """A read-only file over pieces, opening each blob in turn."""

    def __init__(self, backend, pieces: list[Piece], block: int = 1 << 20,
                 opened: dict | None = None):
        """``opened``: blob key -> a file already open on it (read from that
        handle, so a concurrent replace cannot pull the blob away)."""
        self.backend, self.pieces, self.block = backend, list(pieces), block
        self.opened = dict(opened or {})
        self._cur = None
        self._left = 0

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        self._drop()
        if not self.pieces:
            return False
        p = self.pieces.pop(0)
        self._cur = self.opened.get(p.blob) or self.backend.open(p.blob)
        self._cur.seek(p.first)
        self._left = p.length
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(self.block), b""))
        while self._left == 0:
            if not self._next():
                return b""
        data = self._cur.read(min(size, self._left))
        if not data:
            raise errors.Conflict("A large object segment is shorter than its listing.")
        self._left -= len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def _drop(self) -> None:
        if self._cur is not None and self._cur not in self.opened.values():
            self._cur.close()
        self._cur = None

    def close(self) -> None:
        self._drop()
        for f in self.opened.values():
            f.close()
        self.opened = {}
        super().close()
