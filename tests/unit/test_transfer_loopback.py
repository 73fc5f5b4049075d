"""The transfer protocol end to end on loopback: an in-process server with a
stand-in object store and token check (tests/unit/transfer_harness.py), the
real client, and a relay that drops / reorders / duplicates / tampers."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from stratus.transfer import client, control, wire
from stratus.transfer.client import Endpoint, TransferError

sys.path.insert(0, os.path.dirname(__file__))
from transfer_harness import Relay, cleanup, start_server  # noqa: E402


@pytest.fixture
def server():
    tmp = tempfile.mkdtemp(prefix="xfer-test-")
    srv, store = start_server(tmp)
    srv.relays = []
    try:
        yield srv, store, tmp
    finally:
        for r in srv.relays:
            r.close()
        cleanup(srv, tmp)


def relay_with(srv, **faults):
    def advertise(port):
        r = Relay(port, **faults)
        srv.relays.append(r)
        return r.port
    srv.advertise = advertise


def make_file(tmp, size, name="src.bin"):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ep(srv, token="good-p1"):
    return Endpoint("127.0.0.1", srv.port, token)


def test_put_get_integrity_under_loss_reorder_duplication(server):
    srv, store, tmp = server
    relay_with(srv, drop=0.03, dup=0.03, reorder=0.05, seed=7)
    src = make_file(tmp, 3_000_000)
    r = client.put(ep(srv), src, "c", "o", mtu=1500)
    assert store.read("AUTH_p1", "c", "o") == read(src)
    assert r["sent_retx"] > 0 and r["server"]["duplicates"] > 0
    assert r["server"]["written"] == r["blocks"]          # each block written once
    if sys.platform == "linux":                            # UDP GSO: batches per send()
        assert r["send_calls"] < r["sent_new"] + r["sent_retx"]
    dst = os.path.join(tmp, "dst.bin")
    g = client.get(ep(srv), "c", "o", dst, mtu=1500)
    assert read(dst) == read(src) and g["md5"] == r["etag"]
    assert not os.path.exists(dst + ".part.data")
    stats = srv.relays[0].stats
    assert stats["dropped"] and stats["duplicated"] and stats["reordered"]


def test_finish_before_complete_and_after_it_with_an_older_server(server, monkeypatch):
    srv, store, tmp = server
    src = make_file(tmp, 2_000_000)
    sent = []
    orig_send = client.Control.send

    def spy(self, msg):
        sent.append(msg.get("type"))
        return orig_send(self, msg)
    monkeypatch.setattr(client.Control, "send", spy)
    client.put(ep(srv), src, "c", "early", mtu=1500)
    assert store.read("AUTH_p1", "c", "early") == read(src)
    assert sent.count("finish") == 1
    # a server without early_finish in its accept gets `finish` after `complete`
    at_complete = []
    orig_recv = client.Control.recv

    def older(self):
        msg = orig_recv(self)
        msg.pop("early_finish", None)
        if msg.get("type") == "complete":               # only a put's client gets it
            at_complete.append(sent.count("finish"))
        return msg
    monkeypatch.setattr(client.Control, "recv", older)
    client.put(ep(srv), src, "c", "late", mtu=1500)
    assert store.read("AUTH_p1", "c", "late") == read(src)
    assert at_complete == [1] and sent.count("finish") == 2  # the 2nd only after complete


def test_tampered_packets_are_dropped_not_written(server):
    srv, store, tmp = server
    relay_with(srv, tamper=0.05, seed=3)
    src = make_file(tmp, 2_000_000)
    r = client.put(ep(srv), src, "c", "t", mtu=1500)
    assert r["server"]["tampered"] > 0
    assert store.read("AUTH_p1", "c", "t") == read(src)
    dst = os.path.join(tmp, "dst.bin")
    g = client.get(ep(srv), "c", "t", dst, mtu=1500)
    assert g["client"]["tampered"] > 0 and read(dst) == read(src)


def test_large_datagrams_on_loopback(server):
    srv, store, tmp = server
    src = make_file(tmp, 1_000_003)
    r = client.put(ep(srv), src, "c", "big")          # loopback MTU 65536
    assert r["block_size"] == 61440 - 24 - 16
    assert store.read("AUTH_p1", "c", "big") == read(src)


def test_empty_object(server):
    srv, store, tmp = server
    src = make_file(tmp, 0)
    client.put(ep(srv), src, "c", "empty")
    assert store.read("AUTH_p1", "c", "empty") == b""
    dst = os.path.join(tmp, "dst0")
    client.get(ep(srv), "c", "empty", dst)
    assert read(dst) == b""


@pytest.mark.parametrize("token", ["bogus", "expired-token", ""])
def test_bad_token_refused_nothing_staged(server, token):
    srv, store, tmp = server
    src = make_file(tmp, 100_000)
    with pytest.raises(TransferError) as exc:
        client.put(ep(srv, token), src, "c", "o")
    assert exc.value.status == 401
    assert os.listdir(store.staging) == [] and os.listdir(store.objects) == []


def test_unwritable_or_missing_container_refused(server):
    srv, store, tmp = server
    src = make_file(tmp, 100_000)
    for container, status in (("locked", 403), ("missing", 404)):
        with pytest.raises(TransferError) as exc:
            client.put(ep(srv), src, container, "o")
        assert exc.value.status == status
    with pytest.raises(TransferError) as exc:
        client.get(ep(srv), "c", "nope", os.path.join(tmp, "x"))
    assert exc.value.status == 404
    assert os.listdir(store.staging) == [] and os.listdir(store.objects) == []


def test_bad_names_refused(server):
    srv, store, tmp = server
    src = make_file(tmp, 10)
    with pytest.raises(TransferError) as exc:
        client.put(ep(srv), src, "a/b", "o")
    assert exc.value.status == 400 and "container" in exc.value.message


def test_sha256_mismatch_commits_nothing(server, monkeypatch):
    srv, store, tmp = server
    src = make_file(tmp, 50_000)
    monkeypatch.setattr(client, "_file_sha256", lambda path, out: out.update(sha256="0" * 64))
    with pytest.raises(TransferError) as exc:
        client.put(ep(srv), src, "c", "o")
    assert exc.value.status == 422
    assert os.listdir(store.objects) == [] and os.listdir(store.staging) == []


def test_rate_limit_caps_the_sender(server):
    srv, store, tmp = server
    src = make_file(tmp, 1_000_000)
    r = client.put(ep(srv), src, "c", "slow", rate_limit_mbps=20)
    assert r["goodput_mbps"] < 20 * 1.1


KILLER = """
import sys
from stratus.transfer import client
client.put(client.Endpoint("127.0.0.1", int(sys.argv[1]), "good-p1"), sys.argv[2], "c", "r",
           rate_limit_mbps=16, mtu=1500)
"""


def test_resume_after_client_killed_sends_only_missing(server):
    srv, store, tmp = server
    src = make_file(tmp, 6_000_000)                  # ~3 s at 16 Mbit/s
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(srv.port), src])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            maps = [f for f in os.listdir(store.staging) if f.endswith(".map")]
            if maps and os.path.getsize(os.path.join(store.staging, maps[0])) and \
                    read(os.path.join(store.staging, maps[0])).count(1) > 100:
                break
            time.sleep(0.1)
        else:
            pytest.fail("no checkpointed progress")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10
    while srv.active and time.monotonic() < deadline:   # the server notices the EOF
        time.sleep(0.05)
    held = read(os.path.join(store.staging, maps[0])).count(1)
    r = client.put(ep(srv), src, "c", "r", mtu=1500)
    assert r["resumed"]
    assert 0 < held < r["blocks"]
    assert r["sent_new"] == r["blocks"] - held
    assert store.read("AUTH_p1", "c", "r") == read(src)
    assert os.listdir(store.staging) == []


def _raw_put(srv, size, mtu):
    """The control handshake of a put declaring ``size`` (no file needed)."""
    ctl, _ = client._connect(ep(srv))
    try:
        return control.client_handshake(ctl, {
            "type": "request", "op": "put", "token": "good-p1", "container": "c",
            "object": "huge", "size": size, "mtime": 0, "path_hash": "0" * 64, "mtu": mtu})[0]
    finally:
        ctl.close()


def test_object_beyond_2_32_blocks_refused_with_400(server):
    """Block numbers are u32 on the wire: at the smallest block (MTU 576:
    508 bytes) an object of more than (2^32 - 1) blocks is refused, nothing staged."""
    srv, store, tmp = server
    srv.conf.object_store._values["max_file_size"] = 1 << 50
    reply = _raw_put(srv, (2**32 - 1) * 508 + 1, 576)
    assert reply["type"] == "error" and reply["status"] == 400
    assert "4294967295 blocks" in reply["message"]
    assert os.listdir(store.staging) == []
    ok = _raw_put(srv, 10_000, 576)                    # an ordinary size is accepted
    assert ok["type"] == "accept" and ok["block_size"] == 508 and ok["nblocks"] == 20


def test_old_protocol_version_gets_a_clear_error(server):
    """A version-1 client (40-byte DATA header) must be told, not fed garbage."""
    srv, store, tmp = server
    ctl = control.Control(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
    try:
        ctl.send_raw(wire.encode_json({"type": "hello", "v": 1, "pub": "AA==", "nonce": "AA=="}))
        reply = wire.decode_json(ctl.recv_raw())
    finally:
        ctl.close()
    assert reply["type"] == "error" and reply["status"] == 400
    assert "version 1" in reply["message"] and f"version {wire.VERSION}" in reply["message"]
