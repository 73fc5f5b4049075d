"""Byte ranges on chunked image data."""
from __future__ import annotations

import pytest

from stratus.image import ranges


@pytest.mark.parametrize("header,expected", [
    (None, None), ("", None), ("bytes=0-9", (0, 9)), ("bytes=5-", (5, 99)),
    ("bytes=-10", (90, 99)), ("bytes=-500", (0, 99)), ("bytes=90-500", (90, 99)),
    ("items=0-1", None), ("bytes=0-1,5-6", None), ("bytes=-", None)])
def test_parse(header, expected):
    assert ranges.parse(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=5-4", "bytes=-0"])
def test_unsatisfiable(header):
    with pytest.raises(ranges.Unsatisfiable):
        ranges.parse(header, 100)


def test_pieces_match_slicing():
    sizes = [4, 4, 4, 3]
    data = bytes(range(15))
    chunks, pos = [], 0
    for s in sizes:
        chunks.append(data[pos:pos + s])
        pos += s
    for first in range(15):
        for last in range(first, 15):
            got = b"".join(chunks[i][o:o + n] for i, o, n in ranges.pieces(sizes, first, last))
            assert got == data[first:last + 1]
