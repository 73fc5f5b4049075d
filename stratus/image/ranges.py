"""HTTP ``Range`` requests on image data (pure logic): parse a single byte
range and map it onto the image's chunks."""
from __future__ import annotations

import re

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class Unsatisfiable(Exception):
    pass


def parse(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive byte positions, None for "whole image" (no
    header, or one we do not understand, which RFC 9110 lets us ignore), or
    :class:`Unsatisfiable` when the range lies outside the data."""
    if not header:
        return None
    m = _RANGE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):                        # bytes=-N: the last N bytes
        n = int(m.group(2))
        if n == 0 or size == 0:
            raise Unsatisfiable(header)
        return max(0, size - n), size - 1
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else size - 1
    if first >= size or last < first:
        raise Unsatisfiable(header)
    return first, min(last, size - 1)


def pieces(sizes: list[int], first: int, last: int) -> list[tuple[int, int, int]]:
    """The ``(chunk index, offset in chunk, length)`` reads that produce bytes
    ``first..last`` of data stored as chunks of ``sizes``."""
    out = []
    pos = 0
    for i, size in enumerate(sizes):
        lo, hi = max(first, pos), min(last, pos + size - 1)
        if lo <= hi:
            out.append((i, lo - pos, hi - lo + 1))
        pos += size
        if pos > last:
            break
    return out
