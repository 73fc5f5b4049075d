"""Object Storage (Swift v1) end to end: python-swiftclient (keystone v3) and
the openstack CLI against a live server, raw HTTP and sockets for the wire
details (status codes, interrupted uploads, racing writers).

The module runs its own server: the reaper every second and a 4 MiB
max_file_size, so expiry and 413 are observable quickly."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException
from swiftclient.service import SwiftService, SwiftUploadObject

from conftest import ServerPool, wait_for

MAX_FILE = 4 * 1024 * 1024
EXTRA = ("[network]\ncreate_public_network = false\n"
         f"[object_store]\nexpirer_interval = 1\nmax_file_size = {MAX_FILE}\n")


@pytest.fixture(scope="module")
def cloud():
    pool = ServerPool()
    try:
        yield pool.start(extra_conf=EXTRA)
    finally:
        pool.close()


def connect(cloud, user="demo", password=None, project="demo") -> swift.Connection:
    return swift.Connection(authurl=cloud.url, user=user, key=password or cloud.demo_password,
                            auth_version="3", retries=0,
                            os_options={"project_name": project, "project_domain_id": "default",
                                        "user_domain_id": "default"})


@pytest.fixture(scope="module")
def demo(cloud):
    return connect(cloud)


@pytest.fixture(scope="module")
def other(cloud):
    """A second project with its own member user (the ACL tests' stranger)."""
    suffix = os.urandom(3).hex()
    project, user, pw = f"swift-b-{suffix}", f"swift-b-{suffix}", "secret-" + suffix
    cloud.openstack("project", "create", "--domain", "default", project)
    cloud.openstack("user", "create", "--domain", "default", "--password", pw, user)
    cloud.openstack("role", "add", "--project", project, "--user", user, "member",
                    json_out=False)
    conn = connect(cloud, user, pw, project)
    conn.project_id = cloud.openstack("project", "show", project)["id"]
    return conn


def url_of(conn) -> str:
    return conn.get_auth()[0]


def raw(conn, method, path="", headers=None, **kw) -> httpx.Response:
    url, token = conn.get_auth()
    h = {"X-Auth-Token": token, **(headers or {})}
    with httpx.Client(timeout=30, trust_env=False) as http:
        return http.request(method, url + path, headers=h, **kw)


def test_catalog_and_info(cloud, demo):
    url = url_of(demo)
    assert urlparse(url).path.startswith("/object-store/v1/AUTH_")
    caps = demo.get_capabilities()       # swiftclient asks <server>/info
    assert caps["swift"]["max_file_size"] == MAX_FILE and "slo" in caps
    with httpx.Client(trust_env=False) as http:
        assert http.get(cloud.base_url + "/object-store/info").json() == caps


def test_cli_lifecycle(cloud, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_bytes(b"stratus object\n")
    cloud.openstack("container", "create", "cli-c", cloud="stratus-demo")
    assert "cli-c" in [c["Name"] for c in cloud.openstack("container", "list",
                                                          cloud="stratus-demo")]
    cloud.openstack("object", "create", "--name", "n/notes.txt", "cli-c", str(src),
                    cloud="stratus-demo")
    cloud.openstack("object", "set", "--property", "color=blue", "cli-c", "n/notes.txt",
                    cloud="stratus-demo", json_out=False)
    shown = cloud.openstack("object", "show", "cli-c", "n/notes.txt", cloud="stratus-demo")
    assert shown["etag"] == hashlib.md5(src.read_bytes()).hexdigest()
    assert "color" in str(shown["properties"]).lower()
    out = tmp_path / "out.txt"
    cloud.openstack("object", "save", "--file", str(out), "cli-c", "n/notes.txt",
                    cloud="stratus-demo", json_out=False)
    assert out.read_bytes() == src.read_bytes()
    info = cloud.openstack("container", "show", "cli-c", cloud="stratus-demo")
    assert int(info["object_count"]) == 1 and int(info["bytes_used"]) == 15
    r = cloud.openstack("container", "delete", "cli-c", cloud="stratus-demo", json_out=False,
                        check=False)
    assert r.returncode != 0        # not empty: 409
    cloud.openstack("object", "delete", "cli-c", "n/notes.txt", cloud="stratus-demo",
                    json_out=False)
    cloud.openstack("container", "delete", "cli-c", cloud="stratus-demo", json_out=False)


def test_statuses_and_metadata(demo):
    assert raw(demo, "PUT", "/st").status_code == 201
    r = raw(demo, "PUT", "/st", {"X-Container-Meta-Color": "red"})
    assert r.status_code == 202 and r.headers["x-trans-id"].startswith("tx")
    demo.post_account({"X-Account-Meta-Team": "ops"})
    acct = demo.head_account()
    assert acct["x-account-meta-team"] == "ops" and int(acct["x-account-container-count"]) >= 1
    assert demo.head_container("st")["x-container-meta-color"] == "red"
    demo.post_container("st", {"X-Remove-Container-Meta-Color": "x"})
    assert "x-container-meta-color" not in demo.head_container("st")
    etag = demo.put_object("st", "o", b"12345", headers={"X-Object-Meta-A": "1",
                                                        "Content-Type": "text/x-test"})
    h = demo.head_object("st", "o")
    assert (h["etag"], h["content-length"], h["content-type"], h["x-object-meta-a"]) == \
        (etag, "5", "text/x-test", "1")
    assert h["accept-ranges"] == "bytes" and float(h["x-timestamp"]) > 0
    demo.post_object("st", "o", {"X-Object-Meta-B": "2"})     # replaces the user metadata
    h = demo.head_object("st", "o")
    assert h["x-object-meta-b"] == "2" and "x-object-meta-a" not in h
    c = demo.head_container("st")
    assert (c["x-container-object-count"], c["x-container-bytes-used"]) == ("1", "5")
    # conditional requests
    assert raw(demo, "GET", "/st/o", {"If-None-Match": etag}).status_code == 304
    assert raw(demo, "GET", "/st/o", {"If-Match": "nope"}).status_code == 412
    assert raw(demo, "PUT", "/st/o", {"If-None-Match": "*"}, content=b"x").status_code == 412
    # ETag mismatch, missing length, too large, bad metadata
    r = raw(demo, "PUT", "/st/bad", {"ETag": "0" * 32}, content=b"abc")
    assert r.status_code == 422
    with pytest.raises(ClientException) as exc:
        demo.get_object("st", "bad")
    assert exc.value.http_status == 404
    big = _partial_put(demo, "/st/big", MAX_FILE + 1, b"")
    assert big.recv(4096).startswith(b"HTTP/1.1 413")
    big.close()
    nolen = _partial_put(demo, "/st/nolen", None, b"")
    assert nolen.recv(4096).startswith(b"HTTP/1.1 411")
    nolen.close()
    assert raw(demo, "PUT", "/st/m", {"X-Object-Meta-" + "k" * 200: "v"},
               content=b"").status_code == 400
    # chunked transfer encoding (no Content-Length)
    r = raw(demo, "PUT", "/st/chunked", content=iter([b"ab", b"cd"]))
    assert r.status_code == 201 and r.headers["etag"] == hashlib.md5(b"abcd").hexdigest()
    demo.delete_object("st", "chunked")
    # COPY and X-Copy-From
    r = raw(demo, "COPY", "/st/o", {"Destination": "st/o2"})
    assert r.status_code == 201 and r.headers["x-copied-from"] == "st/o"
    assert demo.get_object("st", "o2")[1] == b"12345"
    demo.put_object("st", "o3", b"", headers={"X-Copy-From": "/st/o"})
    assert demo.get_object("st", "o3")[1] == b"12345"
    assert raw(demo, "DELETE", "/st").status_code == 409
    for name in ("o", "o2", "o3"):
        demo.delete_object("st", name)
    assert raw(demo, "DELETE", "/st/o").status_code == 404
    assert raw(demo, "DELETE", "/st").status_code == 204


def test_ranges(demo):
    demo.put_container("rg")
    data = bytes(range(256)) * 4
    demo.put_object("rg", "r", data)
    h, body = demo.get_object("rg", "r", headers={"Range": "bytes=10-19"})
    assert body == data[10:20] and h["content-range"] == "bytes 10-19/1024"
    assert demo.get_object("rg", "r", headers={"Range": "bytes=-5"})[1] == data[-5:]
    r = raw(demo, "GET", "/rg/r", {"Range": "bytes=0-1,100-102"})
    assert r.status_code == 206
    ctype = r.headers["content-type"]
    assert ctype.startswith("multipart/byteranges")
    boundary = ctype.split("boundary=")[1]
    parts = [p for p in r.content.split(b"--" + boundary.encode()) if p.strip(b"-\r\n")]
    assert [p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts] == [data[0:2], data[100:103]]
    r = raw(demo, "GET", "/rg/r", {"Range": "bytes=5000-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */1024"


def test_listings(demo):
    demo.put_container("ls")
    names = ["a", "a/1", "a/2", "b/x/y", "c"]
    for n in names:
        demo.put_object("ls", n, n.encode())
    assert [o["name"] for o in demo.get_container("ls")[1]] == names
    assert [o.get("name") or o["subdir"] for o in demo.get_container("ls", delimiter="/")[1]] \
        == ["a", "a/", "b/", "c"]
    assert [o["name"] for o in demo.get_container("ls", prefix="a/")[1]] == ["a/1", "a/2"]
    assert [o["name"] for o in demo.get_container("ls", marker="a/1", end_marker="c")[1]] == \
        ["a/2", "b/x/y"]
    assert [o["name"] for o in demo.get_container("ls", limit=2)[1]] == ["a", "a/1"]
    r = raw(demo, "GET", "/ls", params={"reverse": "true", "limit": "2"})
    assert r.text == "c\nb/x/y\n" and r.headers["content-type"].startswith("text/plain")
    entry = demo.get_container("ls", prefix="c")[1][0]
    assert entry["bytes"] == 1 and entry["hash"] == hashlib.md5(b"c").hexdigest()
    r = raw(demo, "GET", "/ls", params={"format": "xml", "prefix": "a/"})
    assert "<name>a/1</name>" in r.text
    r = raw(demo, "GET", "", params={"format": "json", "prefix": "ls"})
    assert [c["name"] for c in r.json()] == ["ls"]


def test_slo_segmented_upload_and_range(cloud, tmp_path):
    demo_opts = {"auth_version": "3", "os_auth_url": cloud.url, "os_username": "demo",
                 "os_password": cloud.demo_password, "os_project_name": "demo",
                 "os_user_domain_id": "default", "os_project_domain_id": "default"}
    data = os.urandom(250_000)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    with SwiftService(options=demo_opts) as svc:
        results = list(svc.upload("slo", [SwiftUploadObject(str(src), object_name="big")],
                                  options={"segment_size": 100_000, "use_slo": True}))
    assert all(r["success"] for r in results), results
    conn = connect(cloud)
    h, body = conn.get_object("slo", "big")
    assert body == data and h["x-static-large-object"].lower() == "true"
    manifest = json.loads(conn.get_object("slo", "big", query_string="multipart-manifest=get")[1])
    assert len(manifest) == 3
    etag = hashlib.md5("".join(s["hash"] for s in manifest).encode()).hexdigest()
    assert h["etag"].strip('"') == etag
    _, part = conn.get_object("slo", "big", headers={"Range": "bytes=99990-100009"})
    assert part == data[99990:100010]           # across the first two segments
    # a manifest that does not match its segments is refused with Swift's words
    bad = json.dumps([{"path": manifest[0]["name"], "etag": "0" * 32}])
    r = raw(conn, "PUT", "/slo/bad", params={"multipart-manifest": "put"}, content=bad)
    assert r.status_code == 400 and "Etag Mismatch" in r.text
    r = raw(conn, "DELETE", "/slo/big", params={"multipart-manifest": "delete"})
    assert r.status_code == 200 and "Number Deleted: 4" in r.text


def test_dlo_segmented_upload(cloud, tmp_path):
    opts = {"auth_version": "3", "os_auth_url": cloud.url, "os_username": "demo",
            "os_password": cloud.demo_password, "os_project_name": "demo",
            "os_user_domain_id": "default", "os_project_domain_id": "default"}
    data = os.urandom(120_000)
    src = tmp_path / "dlo.bin"
    src.write_bytes(data)
    with SwiftService(options=opts) as svc:
        results = list(svc.upload("dlo-up", [SwiftUploadObject(str(src), object_name="f")],
                                  options={"segment_size": 50_000, "use_slo": False}))
    assert all(r["success"] for r in results), results
    h, body = connect(cloud).get_object("dlo-up", "f")
    assert body == data and h["x-object-manifest"].startswith("dlo-up_segments/")


def test_dlo(demo):
    demo.put_container("dlo")
    for i, part in enumerate((b"one-", b"two-", b"three")):
        demo.put_object("dlo", f"seg/{i:03d}", part)
    demo.put_object("dlo", "whole", b"", headers={"X-Object-Manifest": "dlo/seg/"})
    h, body = demo.get_object("dlo", "whole")
    assert body == b"one-two-three" and h["x-object-manifest"] == "dlo/seg/"
    assert demo.get_object("dlo", "whole", headers={"Range": "bytes=2-6"})[1] == b"e-two"


def test_acl_across_projects(cloud, demo, other):
    demo.put_container("shared")
    demo.put_object("shared", "doc", b"secret")
    demo_url = url_of(demo)
    token_b = other.get_auth()[1]

    def as_b(method, path="", headers=None, **kw):
        with httpx.Client(timeout=30, trust_env=False) as http:
            return http.request(method, demo_url + path,
                                headers={"X-Auth-Token": token_b, **(headers or {})}, **kw)
    # without an ACL: nothing, and never the other tenant's container names
    assert as_b("GET").status_code == 403
    assert as_b("GET", "/shared/doc").status_code == 403
    assert as_b("GET", "/shared").status_code == 403
    assert "shared" not in [c["name"] for c in other.get_account()[1]]
    # read ACL for project B: read and list, not write
    demo.post_container("shared", {"X-Container-Read": f"{other.project_id}:*"})
    assert as_b("GET", "/shared/doc").content == b"secret"
    assert as_b("GET", "/shared").text == "doc\n"
    assert as_b("PUT", "/shared/new", content=b"x").status_code == 403
    assert "x-container-read" not in as_b("HEAD", "/shared").headers   # owners only
    # a manifest cannot reach segments the reader may not read
    demo.put_container("private-segs")
    demo.put_object("private-segs", "s1", b"hidden")
    demo.put_object("shared", "dlo", b"", headers={"X-Object-Manifest": "private-segs/s"})
    assert as_b("GET", "/shared/dlo").status_code == 403
    assert demo.get_object("shared", "dlo")[1] == b"hidden"
    demo.delete_object("shared", "dlo")
    # write ACL: B may write objects but still not change the container
    demo.post_container("shared", {"X-Container-Write": f"{other.project_id}:*"})
    assert as_b("PUT", "/shared/new", content=b"from b").status_code == 201
    assert demo.get_object("shared", "new")[1] == b"from b"
    assert as_b("POST", "/shared", headers={"X-Container-Read": ".r:*"}).status_code == 403
    assert as_b("DELETE", "/shared/new").status_code == 204
    # anonymous readers with .r:*
    with httpx.Client(timeout=30, trust_env=False) as http:
        assert http.get(demo_url + "/shared/doc").status_code == 401
        demo.post_container("shared", {"X-Container-Read": ".r:*"})
        assert http.get(demo_url + "/shared/doc").content == b"secret"
        assert http.get(demo_url + "/shared").status_code == 401       # no .rlistings


def test_expiry(demo):
    demo.put_container("exp")
    demo.put_object("exp", "soon", b"bye", headers={"X-Delete-After": "1"})
    demo.put_object("exp", "later", b"stay", headers={"X-Delete-After": "3600"})
    assert int(demo.head_object("exp", "later")["x-delete-at"]) > time.time()
    wait_for(lambda: raw(demo, "GET", "/exp/soon").status_code == 404, 10, "object expired")
    wait_for(lambda: demo.head_container("exp")["x-container-object-count"] == "1", 15,
             "the reaper removed the expired object")
    assert [o["name"] for o in demo.get_container("exp")[1]] == ["later"]
    # objects that expired but were not reaped yet do not keep a container alive
    demo.put_container("exp2")
    demo.put_object("exp2", "gone", b"x", headers={"X-Delete-At": str(int(time.time()) + 1)})
    wait_for(lambda: raw(demo, "HEAD", "/exp2/gone").status_code == 404, 10, "expired")
    assert raw(demo, "DELETE", "/exp2").status_code == 204


def _partial_put(conn, path, declared: int | None, body: bytes) -> socket.socket:
    """Send a PUT with Content-Length ``declared`` (None: no length at all)
    but only ``body``; the socket."""
    url, token = conn.get_auth()
    u = urlparse(url + path)
    s = socket.create_connection((u.hostname, u.port))
    s.settimeout(30)
    length = "" if declared is None else f"Content-Length: {declared}\r\n"
    s.sendall((f"PUT {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nX-Auth-Token: {token}\r\n"
               f"{length}\r\n").encode() + body)
    return s


def test_disconnect_mid_upload_leaves_nothing(cloud, demo):
    demo.put_container("crash")
    demo.put_object("crash", "keep", b"old version")
    for name in ("new", "keep"):
        s = _partial_put(demo, f"/crash/{name}", 1_000_000, b"x" * 300_000)
        time.sleep(0.3)
        s.close()                     # the client dies mid-upload
    time.sleep(0.5)
    assert raw(demo, "GET", "/crash/new").status_code == 404
    assert demo.get_object("crash", "keep")[1] == b"old version"
    assert demo.head_container("crash")["x-container-object-count"] == "1"
    staging = cloud.state_dir / "objects" / "staging"
    wait_for(lambda: not list(staging.iterdir()), 10, "staged files removed")


def test_last_writer_wins(demo):
    demo.put_container("race")
    early = _partial_put(demo, "/race/o", 6, b"ear")      # starts first, finishes last
    time.sleep(0.2)
    demo.put_object("race", "o", b"late")                  # starts later, finishes first
    early.sendall(b"ly")
    early.sendall(b"!")
    reply = early.recv(4096)
    early.close()
    assert reply.startswith(b"HTTP/1.1 20")
    assert demo.get_object("race", "o")[1] == b"late"
    assert demo.head_container("race")["x-container-bytes-used"] == "4"


def test_server_killed_mid_upload(cloud, demo):
    """SIGKILL the whole server while two uploads are half sent: after a
    restart the new object does not exist and the old version is intact."""
    demo.put_container("kill")
    demo.put_object("kill", "keep", b"old version")
    socks = [_partial_put(demo, f"/kill/{name}", 2_000_000, b"y" * 1_500_000)
             for name in ("new", "keep")]
    time.sleep(1.0)                              # the bodies are being staged
    proc = cloud.server.proc
    os.killpg(proc.pid, signal.SIGKILL)          # the server's own process group
    proc.wait(10)
    for s in socks:
        s.close()
    cloud.server.start()
    assert raw(demo, "GET", "/kill/new").status_code == 404
    assert demo.get_object("kill", "keep")[1] == b"old version"
    assert demo.head_container("kill")["x-container-object-count"] == "1"
