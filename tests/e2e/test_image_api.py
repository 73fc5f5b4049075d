"""The Image service (Glance v2) end to end: the real openstack CLI and
openstacksdk against a live server, plus raw HTTP for the wire details."""
from __future__ import annotations

import hashlib
import os
import socket
import time

import httpx
import pytest

from conftest import assert_error, ok

PATCH = "application/openstack-images-v2.1-json-patch"


def image_http(cloud, token):
    return httpx.Client(base_url=cloud.base_url + "/image/", timeout=60.0, trust_env=False,
                        headers={"X-Auth-Token": token})


@pytest.fixture(scope="module")
def admin(live_cloud):
    with image_http(live_cloud, live_cloud.admin_token()) as h:
        yield h


@pytest.fixture(scope="module")
def demo(live_cloud):
    tok = live_cloud.token("demo", live_cloud.demo_password, project="demo")
    with image_http(live_cloud, tok) as h:
        yield h


def create(http, **body):
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    return ok(http.post("v2/images", json=body), 201)


def test_versions_and_schemas(live_cloud):
    with httpx.Client(trust_env=False) as h:
        r = h.get(live_cloud.base_url + "/image/")
        assert r.status_code == 300
        assert any(v["status"] == "CURRENT" for v in r.json()["versions"])
        assert h.get(live_cloud.base_url + "/image/versions").status_code == 200
    with image_http(live_cloud, live_cloud.admin_token()) as a:
        for name in ("image", "images", "member", "members"):
            assert ok(a.get(f"v2/schemas/{name}"))["name"] == name


def test_cli_lifecycle(live_cloud, tmp_path, uniq):
    data = os.urandom(300 * 1024) + b"end"
    src = tmp_path / "disk.img"
    src.write_bytes(data)
    name = uniq("cli")
    img = live_cloud.openstack("image", "create", "--file", str(src), "--disk-format", "raw",
                               "--container-format", "bare", "--property", "os_distro=test",
                               "--tag", "t1", name)
    assert img["status"] == "active"
    shown = live_cloud.openstack("image", "show", name)
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["properties"]["os_hash_algo"] == "sha512"
    assert shown["properties"]["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert shown["properties"]["os_distro"] == "test"
    names = [i["Name"] for i in live_cloud.openstack("image", "list")]
    assert name in names
    out = tmp_path / "out.img"
    live_cloud.openstack("image", "save", "--file", str(out), name, json_out=False)
    assert out.read_bytes() == data
    live_cloud.openstack("image", "set", "--property", "color=blue", "--min-ram", "64",
                         "--tag", "t2", name, json_out=False)
    live_cloud.openstack("image", "unset", "--property", "os_distro", "--tag", "t1", name,
                         json_out=False)
    shown = live_cloud.openstack("image", "show", name)
    assert shown["min_ram"] == 64 and shown["properties"]["color"] == "blue"
    assert "os_distro" not in shown["properties"] and shown["tags"] == ["t2"]
    live_cloud.openstack("image", "delete", name, json_out=False)
    cp = live_cloud.openstack("image", "show", shown["id"], check=False, json_out=False)
    assert cp.returncode != 0, cp.stdout


def test_sdk_upload_download_and_wire_format(live_cloud, admin, uniq):
    conn = live_cloud.sdk()
    data = os.urandom(64 * 1024)
    img = conn.image.create_image(name=uniq("sdk"), data=data, disk_format="raw",
                                  container_format="bare", visibility="private")
    try:
        got = conn.image.get_image(img.id)
        assert got.status == "active" and got.size == len(data)
        assert conn.image.download_image(got).content == data
        body = ok(admin.get(f"v2/images/{img.id}"))
        assert body["self"] == f"/v2/images/{img.id}" and body["schema"] == "/v2/schemas/image"
        assert body["file"] == f"/v2/images/{img.id}/file" and "locations" not in body
        assert body["created_at"].endswith("Z") and body["os_hidden"] is False
        r = admin.get(f"v2/images/{img.id}/file")
        assert r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
        assert r.content == data
        part = admin.get(f"v2/images/{img.id}/file", headers={"Range": "bytes=1000-40999"})
        assert part.status_code == 206 and part.content == data[1000:41000]
        assert part.headers["Content-Range"] == f"bytes 1000-40999/{len(data)}"
        bad = admin.get(f"v2/images/{img.id}/file", headers={"Range": "bytes=999999-"})
        assert bad.status_code == 416
        head = admin.head(f"v2/images/{img.id}/file")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(data))
    finally:
        conn.image.delete_image(img.id)


def test_visibility_isolation_and_members(live_cloud, admin, demo, uniq):
    demo_project = live_cloud.openstack("project", "show", "demo")["id"]
    private = create(admin, name=uniq("adm-private"), visibility="private")
    shared = create(admin, name=uniq("adm-shared"), visibility="shared")
    public = create(admin, name=uniq("adm-public"), visibility="public")
    mine = create(demo, name=uniq("demo-private"), visibility="private")
    try:
        assert_error(demo.get(f"v2/images/{private['id']}"), 404)
        assert_error(demo.delete(f"v2/images/{public['id']}"), 403)
        listed = {i["id"] for i in ok(demo.get("v2/images"))["images"]}
        assert public["id"] in listed and mine["id"] in listed
        assert private["id"] not in listed and shared["id"] not in listed
        assert mine["id"] in {i["id"] for i in ok(admin.get("v2/images?limit=1000"))["images"]}
        assert_error(demo.post("v2/images", json={"name": "x", "visibility": "public"}), 403)
        # Sharing: the owner adds the demo project, demo accepts, then lists it.
        assert_error(admin.post(f"v2/images/{private['id']}/members",
                                json={"member": demo_project}), 403)
        live_cloud.openstack("image", "add", "project", shared["id"], "demo")
        assert ok(demo.get(f"v2/images/{shared['id']}"))["id"] == shared["id"]
        assert shared["id"] not in {i["id"] for i in ok(demo.get("v2/images"))["images"]}
        live_cloud.openstack("image", "set", "--accept", shared["id"], cloud="stratus-demo",
                             json_out=False)
        listed = {i["id"] for i in ok(demo.get("v2/images"))["images"]}
        assert shared["id"] in listed
        members = ok(demo.get(f"v2/images/{shared['id']}/members"))["members"]
        assert [(x["member_id"], x["status"]) for x in members] == [(demo_project, "accepted")]
        assert_error(demo.delete(f"v2/images/{shared['id']}/members/{demo_project}"), 403)
        ok(admin.delete(f"v2/images/{shared['id']}/members/{demo_project}"), 204)
        assert_error(demo.get(f"v2/images/{shared['id']}"), 404)
    finally:
        for i in (private, shared, public, mine):
            admin.delete(f"v2/images/{i['id']}")


def test_bad_input(admin, uniq):
    r = admin.post("v2/images", json={"name": "x", "disk_format": "floppy"})
    assert_error(r, 400, "disk_format")
    assert_error(admin.post("v2/images", json={"id": "not-a-uuid"}), 400, "id")
    assert_error(admin.get("v2/images/not-a-uuid"), 404)
    assert_error(admin.get("v2/images?sort_key=bogus"), 400, "sort key")
    assert_error(admin.get("v2/images?limit=-1"), 400)
    img = create(admin, name=uniq("bad"))
    iid = img["id"]
    try:
        assert_error(admin.post("v2/images", json={"id": iid}), 409)
        h = {"Content-Type": PATCH}
        assert_error(admin.patch(f"v2/images/{iid}", headers=h,
                                 json=[{"op": "replace", "path": "/status", "value": "active"}]),
                     403, "read-only")
        assert_error(admin.patch(f"v2/images/{iid}", json=[]), 415)
        assert_error(admin.patch(f"v2/images/{iid}", headers=h,
                                 json=[{"op": "replace", "path": "/min_ram", "value": -1}]), 400)
        assert_error(admin.put(f"v2/images/{iid}/file", content=b"x",
                               headers={"Content-Type": "text/plain"}), 415)
        assert admin.get(f"v2/images/{iid}/file").status_code == 204
        ok(admin.put(f"v2/images/{iid}/file", content=b"data",
                     headers={"Content-Type": "application/octet-stream"}), 204)
        assert_error(admin.put(f"v2/images/{iid}/file", content=b"again",
                               headers={"Content-Type": "application/octet-stream"}), 409)
        ok(admin.patch(f"v2/images/{iid}", headers=h,
                       json=[{"op": "replace", "path": "/protected", "value": True}]))
        assert_error(admin.delete(f"v2/images/{iid}"), 403, "protected")
        ok(admin.patch(f"v2/images/{iid}", headers=h,
                       json=[{"op": "replace", "path": "/protected", "value": False}]))
    finally:
        admin.delete(f"v2/images/{iid}")
    assert_error(admin.get(f"v2/images/{iid}"), 404)


def test_pagination_and_filters(admin, uniq):
    tag = uniq("pg")
    ids = [create(admin, name=f"{tag}-{i}", tags=[tag], min_ram=i)["id"] for i in range(5)]
    try:
        seen, url = [], f"v2/images?tag={tag}&limit=2&sort=name:asc"
        while url:
            body = ok(admin.get(url))
            seen += [i["name"] for i in body["images"]]
            url = body.get("next", "").lstrip("/") or None
        assert seen == [f"{tag}-{i}" for i in range(5)]
        body = ok(admin.get(f"v2/images?tag={tag}&sort_key=min_ram&sort_dir=desc"))
        assert [i["min_ram"] for i in body["images"]] == [4, 3, 2, 1, 0]
        assert ok(admin.get(f"v2/images?name={tag}-3"))["images"][0]["id"] == ids[3]
        got = ok(admin.get(f"v2/images?id=in:{ids[0]},{ids[1]}"))["images"]
        assert {i["id"] for i in got} == set(ids[:2])
    finally:
        for i in ids:
            admin.delete(f"v2/images/{i}")


def test_disconnect_mid_upload_leaves_no_partial_image(live_cloud, admin, uniq):
    iid = create(admin, name=uniq("cut"))["id"]
    try:
        host, port = live_cloud.base_url.split("//")[1].split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall((f"PUT /image/v2/images/{iid}/file HTTP/1.1\r\nHost: {host}\r\n"
                          f"X-Auth-Token: {live_cloud.admin_token()}\r\n"
                          f"Content-Type: application/octet-stream\r\n"
                          f"Content-Length: {10 * 1024 * 1024}\r\n\r\n").encode())
            sock.sendall(os.urandom(5 * 1024 * 1024))
            time.sleep(0.5)
        for _ in range(50):
            status = ok(admin.get(f"v2/images/{iid}"))["status"]
            if status == "queued":
                break
            time.sleep(0.2)
        assert status == "queued"
        assert admin.get(f"v2/images/{iid}/file").status_code == 204
        ok(admin.put(f"v2/images/{iid}/file", content=b"whole",
                     headers={"Content-Type": "application/octet-stream"}), 204)
        assert admin.get(f"v2/images/{iid}/file").content == b"whole"
    finally:
        admin.delete(f"v2/images/{iid}")
