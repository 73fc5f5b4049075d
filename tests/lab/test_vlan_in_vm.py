"""tests/lab/test_vlan_provider.py for real on hosts whose kernel has no 802.1Q
(this one and CI: ``CONFIG_VLAN_8021Q`` unset, no module): it runs inside a
QEMU VM booting the Debian kernel ``scripts/install.sh --test`` unpacked into
``.cache/vm-kernel/``, with the host's ``/`` shared read-only (9p), no network
device, everything in the VM's own namespaces (tests/lab/vm_runner.py).

Passes only when pytest in the VM exits 0 AND its summary says passed with
nothing skipped or failed: "no tests ran" (exit 5) or a skip inside the VM
(its kernel not doing 802.1Q after all) is a failure here.  It skips when the
host kernel does 802.1Q (the test then runs natively) or the kernel is not
fetched.  ``STRATUS_VM_PYTEST_EXTRA`` appends pytest arguments in the VM (to
see this test fail: ``STRATUS_VM_PYTEST_EXTRA="-k nothing"``)."""
from __future__ import annotations

import os
import re
import shlex
import shutil

import pytest

from . import vm_runner
from .test_vlan_provider import kernel_has_8021q

TARGET = "tests/lab/test_vlan_provider.py"
SUMMARY_RE = re.compile(r"^=*\s*(\d+ (passed|failed|skipped|errors?|deselected).*?)\s*=*$", re.M)


def summary(console: str) -> str:
    """pytest's last summary line ("1 passed in 40.1s"), or ''."""
    found = SUMMARY_RE.findall(console)
    return found[-1][0] if found else ""


def test_vlan_provider_inside_a_vm_with_8021q():
    if kernel_has_8021q():
        pytest.skip(f"this kernel does 802.1Q: {TARGET} runs natively")
    kernel = vm_runner.find_kernel()
    if kernel is None:
        pytest.skip(f"no VM kernel in {vm_runner.KERNEL_CACHE} (scripts/install.sh --test)")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 not installed (scripts/install.sh)")
    args = [TARGET, *shlex.split(os.environ.get("STRATUS_VM_PYTEST_EXTRA", ""))]
    res = vm_runner.run(vm_runner.pytest_command(args), timeout=240, kernel=kernel)
    tail = "\n".join(res.console.splitlines()[-60:])
    where = f"(VM {kernel.release}, {res.accel}, {res.total_seconds:.0f}s)"
    assert res.rc is not None, f"no exit status from the VM {where}; console tail:\n{tail}"
    assert res.rc == 0, f"pytest in the VM exited {res.rc} {where}; console tail:\n{tail}"
    line = summary(res.console)
    assert "passed" in line and not re.search(r"skipped|failed|error", line), (
        f"pytest in the VM did not just pass: {line!r} {where}; console tail:\n{tail}")


# The pure parts of the runner.

def test_modules_load_after_their_dependencies():
    dep = ("kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n"
           "kernel/net/9p/9pnet.ko:\n"
           "kernel/fs/netfs/netfs.ko: kernel/net/9p/9pnet.ko\n"
           "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko\n")
    assert vm_runner.module_load_order(dep, ("9pnet_virtio", "9p")) == [
        "kernel/net/9p/9pnet.ko", "kernel/net/9p/9pnet_virtio.ko",
        "kernel/fs/netfs/netfs.ko", "kernel/fs/9p/9p.ko"]
    with pytest.raises(KeyError, match="8021q"):
        vm_runner.module_load_order(dep, ("8021q",))


def test_initrd_archive_is_newc_the_kernel_and_cpio_read(tmp_path):
    data = vm_runner.newc([("bin", 0o040755, b""), ("bin/x", 0o100755, b"hello\n")])
    assert data.startswith(b"070701") and len(data) % 4 == 0
    if shutil.which("cpio"):
        (tmp_path / "a.cpio").write_bytes(data)
        out = os.popen(f"cd {tmp_path} && cpio -i --quiet < a.cpio && cat bin/x").read()
        assert out == "hello\n"


def test_summary_and_marker_parsing():
    console = "x\n.  [100%]\n1 passed in 40.12s\n@@stratus-vm rc=0@@\r\n"
    assert summary(console) == "1 passed in 40.12s"
    assert vm_runner.RC_RE.search(console).group(1) == "0"
    assert summary("==== 1 failed, 2 passed in 3s ====\n") == "1 failed, 2 passed in 3s"
    assert summary("no tests ran in 0.5s\n") == ""
