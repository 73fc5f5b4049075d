"""A transfer into a full disk fails cleanly: the space is reserved
(posix_fallocate) before any data is accepted, so a too-small filesystem
refuses with 507 and leaves no partial object or staging file.  Needs root
(mounts a 2 MiB tmpfs on a temporary directory; unmounted in teardown)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from stratus.transfer import client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit"))
from transfer_harness import cleanup, start_server  # noqa: E402


@pytest.fixture
def small_disk():
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    d = tempfile.mkdtemp(prefix="xfer-fulldisk-")
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", d],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        os.rmdir(d)
        pytest.skip(f"cannot mount a tmpfs: {cp.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d], check=False)
        os.rmdir(d)


def test_full_disk_refused_without_partial_object(small_disk, tmp_path):
    srv, store = start_server(small_disk)
    try:
        src = tmp_path / "src.bin"
        src.write_bytes(os.urandom(5_000_000))
        with pytest.raises(client.TransferError) as exc:
            client.put(client.Endpoint("127.0.0.1", srv.port, "good-p1"), str(src), "c", "o")
        assert exc.value.status == 507 and "space" in exc.value.message
        assert os.listdir(store.staging) == [] and os.listdir(store.objects) == []
        small = tmp_path / "small.bin"                  # what fits still works
        small.write_bytes(os.urandom(500_000))
        client.put(client.Endpoint("127.0.0.1", srv.port, "good-p1"), str(small), "c", "s")
        assert store.read("AUTH_p1", "c", "s") == small.read_bytes()
    finally:
        srv.stop()
        cleanup(srv, os.path.join(small_disk, "nothing"))
