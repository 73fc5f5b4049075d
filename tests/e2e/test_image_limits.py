"""Image size cap, storage quota, and recovery of an upload cut by a server
crash, on a server of their own (small chunks and limits)."""
from __future__ import annotations

import os
import signal
import socket
import time

import httpx
import pytest

from conftest import assert_error, ok

KB = 1024
CONF = "[image]\nchunk_size_kb = 64\nimage_size_cap = 400000\nuser_storage_quota = 600000\n"
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def cloud(module_servers):
    return module_servers.start(extra_conf=CONF)


def client(cloud):
    return httpx.Client(base_url=cloud.base_url + "/image/", timeout=60.0, trust_env=False,
                        headers={"X-Auth-Token": cloud.admin_token(fresh=True)})


def new_image(http, name) -> str:
    return ok(http.post("v2/images", json={"name": name, "disk_format": "raw",
                                           "container_format": "bare"}), 201)["id"]


def chunk_files(cloud) -> list[str]:
    root = cloud.state_dir / "images"
    return sorted(p.name for p in root.glob("*/*") if not p.name.startswith(".tmp"))


def test_size_cap_and_quota_are_413_and_leave_image_queued(cloud):
    with client(cloud) as h:
        big = new_image(h, "big")
        assert_error(h.put(f"v2/images/{big}/file", content=os.urandom(400001), headers=OCTET),
                     413, "image_size_cap")
        # Without Content-Length (chunked): refused while streaming.
        def gen():
            for _ in range(8):
                yield os.urandom(60 * KB)
        assert_error(h.put(f"v2/images/{big}/file", content=gen(), headers=OCTET), 413)
        assert ok(h.get(f"v2/images/{big}"))["status"] == "queued"
        a, b = new_image(h, "a"), new_image(h, "b")
        ok(h.put(f"v2/images/{a}/file", content=os.urandom(350 * KB), headers=OCTET), 204)
        assert_error(h.put(f"v2/images/{b}/file", content=os.urandom(300 * KB), headers=OCTET),
                     413, "quota")
        assert ok(h.get(f"v2/images/{b}"))["status"] == "queued"
        for i in (big, a, b):
            ok(h.delete(f"v2/images/{i}"), 204)
        assert chunk_files(cloud) == []


def test_server_crash_mid_upload_is_recovered_on_restart(cloud):
    with client(cloud) as h:
        keep = new_image(h, "keep")
        ok(h.put(f"v2/images/{keep}/file", content=os.urandom(128 * KB), headers=OCTET), 204)
        cut = new_image(h, "cut")
    assert len(chunk_files(cloud)) == 2
    sock = socket.create_connection(("127.0.0.1", cloud.server.port))
    try:
        sock.sendall((f"PUT /image/v2/images/{cut}/file HTTP/1.1\r\nHost: x\r\n"
                      f"X-Auth-Token: {cloud.admin_token()}\r\n"
                      f"Content-Type: application/octet-stream\r\n"
                      f"Content-Length: 390000\r\n\r\n").encode())
        sock.sendall(os.urandom(300 * KB))
        deadline = time.monotonic() + 20
        while len(chunk_files(cloud)) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(chunk_files(cloud)) >= 5, "the upload did not store its chunks"
        proc = cloud.server.proc
        os.killpg(proc.pid, signal.SIGKILL)          # the server dies mid-upload
        proc.wait(10)
    finally:
        sock.close()
    cloud.server.start()
    with client(cloud) as h:
        img = ok(h.get(f"v2/images/{cut}"))
        assert img["status"] == "queued" and img["size"] is None and img["checksum"] is None
        assert h.get(f"v2/images/{cut}/file").status_code == 204
        assert len(chunk_files(cloud)) == 2           # the partial chunks were collected
        assert ok(h.get(f"v2/images/{keep}"))["status"] == "active"
        assert len(h.get(f"v2/images/{keep}/file").content) == 128 * KB
        ok(h.put(f"v2/images/{cut}/file", content=b"complete", headers=OCTET), 204)
        assert h.get(f"v2/images/{cut}/file").content == b"complete"
