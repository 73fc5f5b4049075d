"""Resumable receive files (stratus/transfer/staging.py)."""
from __future__ import annotations

import hashlib
import os

import pytest

from stratus.transfer.staging import Staging, StagingError


def test_fresh_then_resumed_with_durable_map(tmp_path):
    base = str(tmp_path / "x")
    s = Staging(base, 25, 10, {"o": "a"})
    assert not s.resumed and s.nblocks == 3 and os.path.getsize(s.data_path) == 25
    os.pwrite(s.fd, b"B" * 10, 10)
    s.map.mark(1)
    s.checkpoint()
    s.close()
    again = Staging(base, 25, 10, {"o": "a"})
    assert again.resumed and list(again.map.missing()) == [0, 2]
    with open(again.data_path, "rb") as f:
        assert f.read()[10:20] == b"B" * 10
    again.close()


def test_different_identity_or_size_starts_afresh(tmp_path):
    base = str(tmp_path / "x")
    s = Staging(base, 25, 10, {"o": "a"})
    s.map.mark(0)
    s.checkpoint()
    s.close()
    for size, bs, ident in ((26, 10, {"o": "a"}), (25, 5, {"o": "a"}), (25, 10, {"o": "b"})):
        t = Staging(base, size, bs, ident)
        assert not t.resumed and t.map.count == 0
        t.close()


def test_unmarked_blocks_are_not_resumed_without_checkpoint(tmp_path):
    base = str(tmp_path / "x")
    s = Staging(base, 20, 10, {})
    s.map.mark(0)          # written but never checkpointed: a crash loses it
    s.close()
    t = Staging(base, 20, 10, {})
    assert t.resumed and t.map.count == 0
    t.close()


def test_hashes_and_remove(tmp_path):
    base = str(tmp_path / "x")
    data = os.urandom(5000)
    s = Staging(base, len(data), 1000, {})
    os.pwrite(s.fd, data, 0)
    for b in range(5):
        s.map.mark(b)
    assert s.hashes() == (hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())
    s.close()
    s.remove()
    assert os.listdir(tmp_path) == []


def test_prefix_hashing_follows_the_contiguous_blocks(tmp_path):
    data = os.urandom(10_000)
    s = Staging(str(tmp_path / "x"), len(data), 1000, {})
    s.start_hashing()
    for b in [3, 1, 0, 2, 9, 8, 4, 5, 7, 6]:          # out of order
        os.pwrite(s.fd, data[b * 1000:(b + 1) * 1000], b * 1000)
        s.map.mark(b)
    assert s.hashes() == (hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())
    s.close()


def test_more_than_2_32_blocks_refused_before_anything_is_created(tmp_path):
    base = str(tmp_path / "xfer-huge")
    with pytest.raises(StagingError) as exc:
        Staging(base, (2**32 - 1) * 508 + 1, 508, {"user": "u"})
    assert exc.value.status == 400 and "blocks" in exc.value.message
    assert list(tmp_path.iterdir()) == []
