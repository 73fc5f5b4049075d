"""Config drive: the file tree (pure) and the ISO9660 writer."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from stratus.virt import configdrive as cd

KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILqxziPFjWh+2O8vCUKiXt6Ob4G85K6pFQfFJM73qzVR "
       "alice@example")
KEY_MD5 = "db:db:8a:58:1f:db:4b:57:88:7d:30:31:1c:98:d3:bb"   # ssh-keygen -l -E md5
UUID = "0b6f8e52-7c1d-4c3e-9a55-6a1f0d7b2c11"


def tree(**kw):
    args = dict(uuid=UUID, name="web 1", hostname="web-1")
    args.update(kw)
    return cd.config_drive_tree(**args)


def test_layout_as_nova_with_both_versions():
    t = tree(user_data=b"#!/bin/sh\necho hi\n", network_data={"links": []})
    assert sorted(t) == [f"openstack/{v}/{n}" for v in ("2012-08-10", "latest")
                         for n in ("meta_data.json", "network_data.json", "user_data")]
    assert t["openstack/latest/user_data"] == b"#!/bin/sh\necho hi\n"
    assert t["openstack/2012-08-10/meta_data.json"] == t["openstack/latest/meta_data.json"]
    assert json.loads(t["openstack/latest/network_data.json"]) == {"links": []}


def test_optional_files_are_absent_when_not_given():
    assert sorted(tree()) == ["openstack/2012-08-10/meta_data.json",
                              "openstack/latest/meta_data.json"]


def test_empty_user_data_is_still_written_and_str_is_encoded():
    assert tree(user_data=b"")["openstack/latest/user_data"] == b""
    assert tree(user_data="héllo")["openstack/latest/user_data"] == "héllo".encode()


def test_meta_data_fields():
    t = tree(public_keys={"alice": KEY}, meta={"role": "web", "n": 3},
             availability_zone="az1", project_id="p1", launch_index=2, random_seed=b"\x01\x02")
    doc = json.loads(t["openstack/latest/meta_data.json"])
    assert doc == {
        "uuid": UUID, "name": "web 1", "hostname": "web-1", "launch_index": 2,
        "availability_zone": "az1", "project_id": "p1",
        "meta": {"role": "web", "n": "3"}, "devices": [],
        "public_keys": {"alice": KEY},
        "keys": [{"name": "alice", "type": "ssh", "data": KEY}],
        "random_seed": "AQI=",
    }


def test_no_keys_means_no_key_fields():
    doc = json.loads(tree()["openstack/latest/meta_data.json"])
    assert "public_keys" not in doc and "keys" not in doc and "random_seed" not in doc
    assert doc["availability_zone"] is None and doc["meta"] == {}


def test_meta_data_json_is_one_line():
    # the guest's parser does not need this, but the file stays small and stable
    raw = tree(public_keys={"alice": KEY + "\n"})["openstack/latest/meta_data.json"]
    assert b"\n" not in raw


def test_key_fingerprint_matches_ssh_keygen():
    assert cd.key_fingerprint(KEY) == KEY_MD5
    assert cd.key_fingerprint("ssh-rsa not-base64!") == ""
    assert cd.key_fingerprint("") == ""


def test_write_iso_rejects_escaping_paths(tmp_path):
    if shutil.which("genisoimage") is None:
        pytest.skip("genisoimage not installed")
    with pytest.raises(cd.ConfigDriveError):
        cd.write_iso(str(tmp_path / "x.iso"), {"../evil": b"x"})


@pytest.mark.skipif(shutil.which("genisoimage") is None or shutil.which("isoinfo") is None,
                    reason="genisoimage/isoinfo not installed")
def test_make_config_drive_writes_a_config_2_iso(tmp_path):
    path = cd.make_config_drive(str(tmp_path / "disk.config"), uuid=UUID, name="web 1",
                                hostname="web-1", public_keys={"alice": KEY},
                                user_data=b"#!/bin/sh\necho marker\n")
    assert path == str(tmp_path / "disk.config")
    info = subprocess.run(["isoinfo", "-d", "-i", path], capture_output=True, text=True).stdout
    assert "Volume id: config-2" in info
    listing = subprocess.run(["isoinfo", "-R", "-f", "-i", path], capture_output=True,
                             text=True).stdout.split()
    assert "/openstack/latest/meta_data.json" in listing
    assert "/openstack/2012-08-10/user_data" in listing

    def read(p):
        return subprocess.run(["isoinfo", "-R", "-i", path, "-x", p], capture_output=True).stdout
    doc = json.loads(read("/openstack/latest/meta_data.json"))
    assert doc["hostname"] == "web-1" and doc["public_keys"] == {"alice": KEY}
    assert len(doc["random_seed"]) > 600      # 512 random bytes, base64
    assert read("/openstack/latest/user_data") == b"#!/bin/sh\necho marker\n"
    assert not list(tmp_path.glob("*.tmp"))
