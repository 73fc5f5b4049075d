"""The deterministic newc cpio writer, read back by a small parser and by GNU cpio."""
from __future__ import annotations

import gzip
import shutil
import stat
import subprocess

import pytest

from stratus.guestimage import cpio


def parse(data: bytes) -> list[tuple[str, int, bytes, int]]:
    """(name, mode, data, ino) of each member, trailer excluded."""
    out, pos = [], 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        f = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        ino, mode, size, namesize = f[0], f[1], f[6], f[11]
        name_start = pos + 110
        name = data[name_start:name_start + namesize - 1].decode()
        body = name_start + namesize + (-(110 + namesize) % 4)
        if name == cpio.TRAILER:
            assert body + size == len(data) or data[body + size:].strip(b"\0") == b""
            return out
        out.append((name, mode, data[body:body + size], ino))
        pos = body + size + (-size % 4)


def sample():
    return [cpio.file("etc/init.d/rcS", b"#!/bin/sh\n", 0o755),
            cpio.directory("etc"), cpio.directory("etc/init.d"),
            cpio.symlink("init", "/sbin/init"), cpio.file("x", b"abcde")]


def test_round_trip_sorted_with_types_and_modes():
    members = parse(cpio.archive(sample()))
    assert [m[0] for m in members] == ["etc", "etc/init.d", "etc/init.d/rcS", "init", "x"]
    by = {m[0]: m for m in members}
    assert stat.S_ISDIR(by["etc"][1]) and by["etc"][1] & 0o777 == 0o755
    assert stat.S_ISREG(by["etc/init.d/rcS"][1]) and by["etc/init.d/rcS"][1] & 0o777 == 0o755
    assert by["etc/init.d/rcS"][2] == b"#!/bin/sh\n"
    assert stat.S_ISLNK(by["init"][1]) and by["init"][2] == b"/sbin/init"
    assert by["x"][2] == b"abcde" and by["x"][1] & 0o777 == 0o644
    assert [m[3] for m in members] == [1, 2, 3, 4, 5]


def test_deterministic_and_last_entry_wins():
    a = cpio.archive(sample())
    assert a == cpio.archive(list(reversed(sample())))
    assert cpio.gzip_deterministic(a) == cpio.gzip_deterministic(a)
    assert gzip.decompress(cpio.gzip_deterministic(a)) == a
    members = parse(cpio.archive([cpio.file("x", b"1"), cpio.file("/x", b"2")]))
    assert members == [("x", stat.S_IFREG | 0o644, b"2", 1)]


@pytest.mark.parametrize("path", ["", "/", "a/../b", ".."])
def test_bad_paths_are_refused(path):
    with pytest.raises(ValueError):
        cpio.archive([cpio.file(path, b"")])


def test_bad_kind_is_refused():
    with pytest.raises(ValueError):
        cpio.archive([cpio.Entry("a", "fifo")])


def test_parents():
    assert cpio.parents("a/b/c") == ["a", "a/b"]
    assert cpio.parents("/top") == []


@pytest.mark.skipif(shutil.which("cpio") is None, reason="GNU cpio not installed")
def test_gnu_cpio_reads_it():
    res = subprocess.run(["cpio", "-it", "--quiet"], input=cpio.archive(sample()),
                         capture_output=True, check=True)
    assert res.stdout.decode().split() == ["etc", "etc/init.d", "etc/init.d/rcS", "init", "x"]
