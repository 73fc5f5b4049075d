"""A deterministic ``newc`` cpio writer (the initramfs format), pure Python.

Every entry gets mtime 0, uid/gid 0 and an inode numbered in order, so the
same entries always give the same bytes (no host ``cpio``, no file mtimes)."""
from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass

TRAILER = "TRAILER!!!"


@dataclass(frozen=True)
class Entry:
    """One archive member: ``path`` is relative (``bin/busybox``); ``kind`` is
    ``"dir"``, ``"file"`` or ``"symlink"`` (``data`` then holds the target)."""
    path: str
    kind: str
    mode: int = 0o755
    data: bytes = b""


def directory(path: str, mode: int = 0o755) -> Entry:
    return Entry(path, "dir", mode)


def file(path: str, data: bytes, mode: int = 0o644) -> Entry:
    return Entry(path, "file", mode, data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, "symlink", 0o777, target.encode())


_TYPE = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "symlink": stat.S_IFLNK}


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _header(ino: int, mode: int, nlink: int, size: int, name: bytes) -> bytes:
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    return head + name + b"\0" + _pad(len(head) + len(name) + 1)


def archive(entries: list[Entry]) -> bytes:
    """The cpio bytes of ``entries``, sorted by path (parents before children)
    and de-duplicated (the last entry for a path wins)."""
    by_path: dict[str, Entry] = {}
    for e in entries:
        path = e.path.strip("/")
        if not path or ".." in path.split("/"):
            raise ValueError(f"bad archive path {e.path!r}")
        if e.kind not in _TYPE:
            raise ValueError(f"bad entry kind {e.kind!r}")
        by_path[path] = e
    out = bytearray()
    for ino, path in enumerate(sorted(by_path), start=1):
        e = by_path[path]
        data = b"" if e.kind == "dir" else e.data
        nlink = 2 if e.kind == "dir" else 1
        out += _header(ino, _TYPE[e.kind] | (e.mode & 0o7777), nlink, len(data), path.encode())
        out += data + _pad(len(data))
    out += _header(0, 0, 1, 0, TRAILER.encode())
    return bytes(out)


def gzip_deterministic(data: bytes, level: int = 9) -> bytes:
    """gzip with mtime 0 and no file name, so equal input gives equal output."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def parents(path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``: the directories a path needs."""
    parts = path.strip("/").split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
