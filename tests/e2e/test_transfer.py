"""``stratus transfer put/get`` against a live ``stratus up``: the object lands
in the object store and the Swift API serves it with the right ETag; bad
tokens and missing containers are refused before anything is staged."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess

import httpx
import pytest

from conftest import STRATUS, clean_env, free_port, wait_for

pytestmark = pytest.mark.e2e


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def cloud(module_servers):
    port = free_port()
    c = module_servers.start(extra_conf=f"[transfer]\nport = {port}\n")
    # the transfer server is its own (spawned) process: `stratus up` answers on
    # the API before it listens, and the CLI starts fast enough to notice
    wait_for(lambda: listening(port), timeout=30, what=f"transfer server on port {port}")
    return c


def swift(cloud, token):
    r = httpx.get(f"{cloud.url}/auth/projects", headers={"X-Auth-Token": token},
                  trust_env=False)
    project = next(p["id"] for p in r.json()["projects"] if p["name"] == "admin")
    return httpx.Client(base_url=f"{cloud.base_url}/object-store/v1/AUTH_{project}/",
                        headers={"X-Auth-Token": token}, trust_env=False, timeout=60)


def transfer(cloud, *args, check=True):
    env = clean_env(OS_CLIENT_CONFIG_FILE=str(cloud.clouds_yaml), OS_CLOUD="stratus")
    cp = subprocess.run([STRATUS, "transfer", *args], capture_output=True, text=True,
                        env=env, timeout=120, cwd=cloud.state_dir)
    if check:
        assert cp.returncode == 0, f"{cp.stdout}\n{cp.stderr}\n{cloud.logs()}"
    return cp


def test_catalog_has_the_transfer_endpoint(cloud):
    conn = cloud.sdk()
    url = conn.session.get_endpoint(service_type="object-transfer", interface="public")
    assert url.startswith("stratus-udp://127.0.0.1:")


def test_put_then_swift_serves_it_and_get_returns_it(cloud, tmp_path):
    token = cloud.admin_token()
    with swift(cloud, token) as s:
        assert s.put("xfer").status_code in (201, 202)
        data = os.urandom(3_000_000)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        cp = transfer(cloud, "put", str(src), "xfer/dir/obj.bin", "--progress")
        assert "Mbit/s goodput" in cp.stdout and "retransmitted" in cp.stdout
        assert "ETA" in cp.stderr                    # the progress bar
        r = s.get("xfer/dir/obj.bin")
        assert r.status_code == 200 and r.content == data
        assert r.headers["etag"].strip('"') == hashlib.md5(data).hexdigest()
        dst = tmp_path / "dst.bin"
        transfer(cloud, "get", "xfer/dir/obj.bin", str(dst))
        assert dst.read_bytes() == data
        # a second put of the same name replaces the object
        src.write_bytes(data[::-1])
        transfer(cloud, "put", str(src), "xfer/dir/obj.bin")
        assert s.get("xfer/dir/obj.bin").content == data[::-1]


def test_missing_container_and_bad_token_refused(cloud, tmp_path):
    from stratus.transfer import client
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 1000)
    cp = transfer(cloud, "put", str(src), "no-such-container/o", check=False)
    assert cp.returncode == 1 and "not found" in cp.stderr.lower() and "404" in cp.stderr
    conn = cloud.sdk()
    ep = client.endpoint_from_session(conn.session)
    ep.token = "gAAAAABbogus"
    with pytest.raises(client.TransferError) as exc:
        client.put(ep, str(src), "xfer", "o")
    assert exc.value.status == 401
    staging = cloud.state_dir / "objects"
    assert not [p for p in staging.rglob("xfer-*")], "nothing staged for a refused transfer"
