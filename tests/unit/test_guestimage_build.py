"""The build's cache (key, hits, offline fallback) and registration in the
Image service (idempotent; older builds hidden)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from stratus.common.config import Config
from stratus.guestimage import build as gb
from stratus.guestimage import kernel, register


def test_cache_key_changes_with_every_input():
    base = dict(kernel_deb="linux-image-6.1.0-56_1.deb", busybox_sha256="aa",
                assets={"rcS": b"1", "inittab": b"2"}, modules=["isofs"])
    key = gb.cache_key(**base)
    assert len(key) == 16 and key == gb.cache_key(**base)
    for change in (dict(kernel_deb="linux-image-6.1.0-57_1.deb"), dict(busybox_sha256="ab"),
                   dict(assets={"rcS": b"1", "inittab": b"3"}), dict(modules=["isofs", "vfat"]),
                   dict(assets={"rcS": b"1"})):
        assert gb.cache_key(**{**base, **change}) != key, change


def test_is_static_elf():
    with open("/bin/busybox" if os.path.exists("/bin/busybox") else "/bin/sh", "rb") as f:
        head = f.read(4096)
    if os.path.exists("/bin/busybox") and b"statically" not in subprocess.run(
            ["file", "/bin/busybox"], capture_output=True).stdout:
        pytest.skip("/bin/busybox is not busybox-static")
    assert gb.is_static_elf(head)
    with open("/bin/ls", "rb") as f:          # dynamically linked on Debian
        assert not gb.is_static_elf(f.read(4096))
    assert not gb.is_static_elf(b"#!/bin/sh\n")


def test_busybox_version():
    assert gb.busybox_version("BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call "
                              "binary.\nBusyBox is copyrighted") == "1.35.0 (Debian 1:1.35.0-4+deb12u1+b1)"
    assert gb.busybox_version("BusyBox v1.36.1 multi-call binary.") == "1.36.1"
    assert gb.busybox_version("") == "unknown"


@pytest.fixture
def fake_inputs(tmp_path, monkeypatch):
    """Build inputs without apt: a fake .deb name and the host's busybox path."""
    deb = tmp_path / "linux-image-6.1.0-1-cloud-amd64_6.1.1-1_amd64.deb"
    deb.write_bytes(b"deb")
    bb = tmp_path / "busybox"
    bb.write_bytes(b"busybox bytes")
    monkeypatch.setattr(kernel, "resolve_package", lambda: "linux-image-6.1.0-1-cloud-amd64")
    monkeypatch.setattr(kernel, "download", lambda package, deb_dir: str(deb))
    monkeypatch.setattr(gb, "_busybox", lambda cache_dir: str(bb))

    def no_build(*a, **kw):
        raise AssertionError("a cache hit must not rebuild")
    monkeypatch.setattr(kernel, "extract", no_build)
    return deb, bb


def _seed_cache(cache, deb, bb):
    from stratus.guestimage import initramfs
    key = gb.cache_key(kernel_deb=deb.name, busybox_sha256=gb._sha256_file(str(bb)),
                       assets={n: initramfs.asset(n) for n in initramfs.asset_names()},
                       modules=kernel.MODULES)
    out = cache / "builds" / key
    out.mkdir(parents=True)
    (out / gb.IMAGE_FILE).write_bytes(b"qcow2")
    (out / "manifest.json").write_text(json.dumps({"key": key, "path": str(out / gb.IMAGE_FILE)}))
    return str(out / gb.IMAGE_FILE)


def test_cache_hit_returns_at_once_and_becomes_current(tmp_path, fake_inputs):
    cache = tmp_path / "cache"
    expected = _seed_cache(cache, *fake_inputs)
    assert gb.current(str(cache)) is None
    assert gb.build(str(cache)) == expected
    assert gb.current(str(cache))["path"] == expected


def test_force_rebuilds(tmp_path, fake_inputs):
    cache = tmp_path / "cache"
    _seed_cache(cache, *fake_inputs)
    with pytest.raises(AssertionError, match="must not rebuild"):
        gb.build(str(cache), force=True)


def test_offline_keeps_the_last_build(tmp_path, fake_inputs, monkeypatch):
    cache = tmp_path / "cache"
    expected = _seed_cache(cache, *fake_inputs)
    gb.build(str(cache))

    def offline():
        raise kernel.KernelError("apt-cache: no network")
    monkeypatch.setattr(kernel, "resolve_package", offline)
    assert gb.build(str(cache)) == expected
    with pytest.raises(gb.BuildError, match="no network"):
        gb.build(str(cache), force=True)
    os.unlink(expected)
    with pytest.raises(gb.BuildError):
        gb.build(str(cache))


def test_prune_keeps_only_the_current_build_kernel_and_deb(tmp_path):
    for d in ("builds/old", "builds/new", "kernel/linux-image-1", "kernel/linux-image-2"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "debs").mkdir()
    for f in ("linux-image-1_1_amd64.deb", "linux-image-2_1_amd64.deb", "busybox-static_1.deb"):
        (tmp_path / "debs" / f).write_bytes(b"")
    gb._prune(str(tmp_path), keep_build="new", keep_package="linux-image-2",
              keep_deb=str(tmp_path / "debs" / "linux-image-2_1_amd64.deb"))
    assert os.listdir(tmp_path / "builds") == ["new"]
    assert os.listdir(tmp_path / "kernel") == ["linux-image-2"]
    assert sorted(os.listdir(tmp_path / "debs")) == ["busybox-static_1.deb",
                                                     "linux-image-2_1_amd64.deb"]


def test_image_properties():
    props = register.image_properties({"key": "abc", "kernel_release": "6.1.0-56-cloud-amd64",
                                       "busybox_version": "1.35.0"})
    assert props["os_distro"] == "stratus-guest" and props["hw_disk_bus"] == "virtio"
    assert props["stratus_build"] == "abc"
    assert props["stratus_kernel_release"] == "6.1.0-56-cloud-amd64"
    assert "stratus_build" not in register.image_properties(None)


# -- registration into a real (SQLite) cloud database --------------------------------
@pytest.fixture
def cloud(tmp_path):
    from stratus.db import migrate
    from stratus.db.base import Database
    conf = Config(None, {"DEFAULT": {"state_path": str(tmp_path / "state")},
                         "image": {"guest_image_cache": str(tmp_path / "cache")}})
    os.makedirs(conf.state_path)
    migrate.sync(conf.database_url)
    db = Database(conf.database_url, 1)
    yield conf, db
    db.dispose()


def _qcow2(path, size="1M"):
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img not installed")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    return str(path)


def test_register_is_idempotent_and_hides_older_builds(tmp_path, cloud):
    conf, db = cloud
    first = _qcow2(tmp_path / "a.qcow2", "1M")
    image_id = register.ensure_registered(db, conf, first, {"key": "k1"})
    assert register.ensure_registered(db, conf, first, {"key": "k1"}) == image_id
    assert register.registered(db, conf) == image_id

    second = _qcow2(tmp_path / "b.qcow2", "2M")
    new_id = register.ensure_registered(db, conf, second, {"key": "k2"})
    assert new_id != image_id
    assert register.registered(db, conf) == new_id
    from stratus.db.models import image as m
    with db.session() as s:
        old = s.get(m.Image, image_id)
        new = s.get(m.Image, new_id)
        assert (old.os_hidden, new.os_hidden) == (True, False)
        assert (new.name, new.visibility, new.status, new.disk_format) == (
            "stratus-guest", "public", "active", "qcow2")


def test_register_at_start_uses_the_cache_or_hints(tmp_path, cloud, capsys):
    conf, db = cloud
    assert register.register_at_start(db, conf) is None
    assert "stratus image build --register" in capsys.readouterr().err
    cache = tmp_path / "cache"
    path = _qcow2(tmp_path / "c.qcow2")
    cache.mkdir()
    (cache / "current.json").write_text(json.dumps({"key": "k3", "path": path}))
    image_id = register.register_at_start(db, conf)
    assert image_id and register.registered(db, conf) == image_id
    assert capsys.readouterr().err == ""


def test_cli_image_build_copies_and_registers(tmp_path, monkeypatch, capsys):
    from stratus.cmd import cli
    image = _qcow2(tmp_path / "built.qcow2")
    monkeypatch.setattr(gb, "build", lambda cache_dir, force=False: image)
    monkeypatch.setattr(gb, "current", lambda cache_dir: {"key": "k9", "path": image,
                                                          "kernel_release": "6.1.0-9"})
    state = tmp_path / "state"
    rc = cli.main(["image", "build", "--output", str(tmp_path / "copy.qcow2"), "--register",
                   "--state-dir", str(state), "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert (tmp_path / "copy.qcow2").read_bytes() == open(image, "rb").read()
    assert f"guest image: {image}" in out and "kernel 6.1.0-9, build k9" in out
    assert "registered as image 'stratus-guest'" in out

    from stratus.db.base import Database
    conf = Config(None, {"DEFAULT": {"state_path": str(state)}})
    db = Database(conf.database_url, 1)
    try:
        assert register.registered(db, conf) in out
    finally:
        db.dispose()


def test_cli_image_build_failure_is_a_message(tmp_path, monkeypatch, capsys):
    from stratus.cmd import cli

    def broken(cache_dir, force=False):
        raise gb.BuildError("apt-get download failed")
    monkeypatch.setattr(gb, "build", broken)
    assert cli.main(["image", "build", "--cache-dir", str(tmp_path)]) == 1
    assert "apt-get download failed" in capsys.readouterr().err
