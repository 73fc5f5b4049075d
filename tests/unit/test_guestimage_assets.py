"""The guest's files: the JSON flattener (run by busybox awk, checked against
Python's json), shell syntax of the init scripts, the committed UDP echo
binary against its source, and the initramfs entry list."""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from importlib import resources

import pytest

from stratus.guestimage import cpio, initramfs

BUSYBOX = shutil.which("busybox")
needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed")
ASSETS = resources.files("stratus.guestimage").joinpath("assets")


def flatten_reference(value, path=""):
    """What jsonflat.awk must print, computed with Python's json."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten_reference(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flatten_reference(v, f"{path}.{i}" if path else str(i))
    elif value is None:
        return
    elif isinstance(value, bool):
        yield f"{path}\t{'true' if value else 'false'}"
    elif isinstance(value, str):
        text = "".join(" " if c in "\n\r\t" else c if 32 <= ord(c) < 127 else "?" for c in value)
        yield f"{path}\t{text}"
    else:
        yield f"{path}\t{json.dumps(value)}"


def awk_flatten(text: str) -> list[str]:
    res = subprocess.run([BUSYBOX, "awk", "-f", str(ASSETS / "jsonflat.awk")], input=text,
                         capture_output=True, text=True, check=True)
    return res.stdout.splitlines()


DOCS = [
    {"uuid": "0b6f8e52", "hostname": "vm1.novalocal", "name": "vm 1", "launch_index": 0,
     "availability_zone": None, "project_id": "p",
     "public_keys": {"k": "ssh-ed25519 AAAAC3Nz k@h\n", "other key": "ecdsa-sha2 AAAA x"},
     "keys": [{"name": "k", "type": "ssh", "data": "ssh-ed25519 AAAAC3Nz k@h\n"}],
     "meta": {"quote": 'a"b\\c/d', "unicode": "é-ü-A", "tab": "a\tb"}, "devices": [],
     "random_seed": "AQI=", "empty": {}, "nested": [[1, 2], [], [{"x": -1.5e3}]],
     "flag": True, "off": False},
    [],
    {},
]


@needs_busybox
@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("indent", [None, 2])
def test_jsonflat_matches_python(doc, indent):
    text = json.dumps(doc, indent=indent, ensure_ascii=True)
    assert awk_flatten(text) == list(flatten_reference(doc))


@needs_busybox
def test_jsonflat_keeps_escaped_slashes_and_solidus_forms():
    assert awk_flatten('{"a": "x\\/y", "b": "\\u0041\\u00e9"}') == ["a\tx/y", "b\tA?"]


@needs_busybox
def test_jsonflat_of_nothing_prints_nothing():
    assert awk_flatten("") == []


@needs_busybox
@pytest.mark.parametrize("name", ["rcS", "udhcpc.script"])
def test_shell_scripts_parse(name):
    res = subprocess.run([BUSYBOX, "sh", "-n", str(ASSETS / name)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


def test_rcS_prints_the_documented_lines():
    text = (ASSETS / "rcS").read_text()
    assert "=== STRATUS GUEST READY hostname=" in text
    assert "STRATUS: authorized key" in text
    assert "-O staticroutes" in text
    # busybox 1.35's wget -T segfaults: no command line may use it
    assert not re.search(r"^[^#\n]*wget [^\n]*-T", text, re.M)


@pytest.mark.skipif(shutil.which("as") is None or shutil.which("ld") is None,
                    reason="binutils not installed")
def test_udp_echo_binary_is_assembled_from_its_source(tmp_path):
    src = ASSETS / "udp-echo.S"
    subprocess.run(["as", "-o", str(tmp_path / "u.o"), str(src)], check=True)
    subprocess.run(["ld", "-static", "-nostdlib", "-s", "-n", "--build-id=none",
                    "--no-warn-rwx-segments", "-o", str(tmp_path / "u"), str(tmp_path / "u.o")],
                   check=True, capture_output=True)
    assert (tmp_path / "u").read_bytes() == initramfs.udp_echo()


def test_udp_echo_is_a_small_static_elf():
    from stratus.guestimage.build import is_static_elf
    data = initramfs.udp_echo()
    assert data[:4] == b"\x7fELF" and len(data) < 8192 and is_static_elf(data)
    assert base64.b64encode(data)   # committed as base64 text


def test_applet_links_skip_busybox_itself():
    links = initramfs.applet_links("/bin/busybox\n/bin/sh\n/sbin/udhcpc\nusr/bin/wget\n/bin/sh\n")
    assert links == ["bin/sh", "sbin/udhcpc", "usr/bin/wget"]


def test_initramfs_entries():
    entries = initramfs.entries(
        busybox=b"BB", applets=["bin/sh", "sbin/init", "usr/sbin/httpd"], release="6.1.0-9",
        modules={"kernel/fs/isofs/isofs.ko": b"ISO", "kernel/drivers/cdrom/cdrom.ko": b"CD"},
        modules_dep={"kernel/fs/isofs/isofs.ko": ["kernel/drivers/cdrom/cdrom.ko"],
                     "kernel/drivers/cdrom/cdrom.ko": []},
        load=["isofs"])
    by = {e.path: e for e in entries}
    assert by["bin/busybox"].data == b"BB" and by["bin/busybox"].kind == "file"
    assert by["bin/sh"] == cpio.symlink("bin/sh", "/bin/busybox")
    assert by["init"].data == b"/sbin/init"
    assert by["etc/init.d/rcS"].mode == 0o755
    assert by["etc/modules"].data == b"isofs\n"
    assert by["lib/modules/6.1.0-9/modules.dep"].data == (
        b"kernel/drivers/cdrom/cdrom.ko:\n"
        b"kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko\n")
    assert by["lib/modules/6.1.0-9/kernel/fs/isofs/isofs.ko"].data == b"ISO"
    assert by["usr/bin/udp-echo"].data == initramfs.udp_echo()
    for e in entries:                      # every parent directory is present
        for parent in cpio.parents(e.path):
            assert by[parent].kind == "dir", parent
    assert initramfs.image(entries) == initramfs.image(entries)      # deterministic
    assert not any(e.path == "bin/busybox" and e.kind == "symlink" for e in entries)
