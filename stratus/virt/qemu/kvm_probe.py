"""Is KVM really usable?  Boot a 512-byte guest with it and see.

``/dev/kvm`` existing proves little (nested virtualisation, missing CPU
features, a broken host kernel all make guests fail on entry), so the probe
boots a boot sector that writes a marker to the serial port and halts, with
``-accel kvm`` and a short timeout.  The answer is cached in memory and,
when a cache file is given, on disk keyed by QEMU binary, version and kernel.
A boot sector in real mode is not enough everywhere (nested hosts where a
real boot loader's mode switches end in "KVM internal error"), so when the
default guest image is built, it is booted under KVM too.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time

LOG = logging.getLogger(__name__)
MARKER = b"STRATUS-KVM-OK"
_cache: dict[str, bool] = {}


def boot_sector(marker: bytes = MARKER) -> bytes:
    """Real-mode code at 0x7c00: ``mov dx,0x3f8``; per byte ``mov al,b; out dx,al``;
    then ``cli; hlt; jmp hlt``; padded to 510 bytes plus the 0x55AA signature."""
    code = bytearray(b"\xba\xf8\x03")              # mov dx, 0x3f8 (COM1)
    for b in marker + b"\r\n":
        code += bytes((0xB0, b, 0xEE))            # mov al, b ; out dx, al
    code += b"\xfa\xf4\xeb\xfd"                    # cli ; hlt ; jmp short -3 (to hlt)
    if len(code) > 510:
        raise ValueError("marker too long for a boot sector")
    return bytes(code) + b"\0" * (510 - len(code)) + b"\x55\xaa"


def probe_command(binary: str, accel: str, cpu: str, image: str, serial_out: str) -> list[str]:
    """The probe guest, with the CPU model real guests will get (``-cpu host``
    is what fails on hosts whose KVM cannot set every MSR)."""
    return [binary, "-no-user-config", "-nodefaults", "-machine", "pc", "-accel", accel,
            "-cpu", cpu, "-m", "16", "-display", "none", "-no-reboot",
            "-drive", f"file={image},format=raw,if=ide",
            "-serial", f"file:{serial_out}"]


def boots(binary: str, accel: str, cpu: str, timeout: float = 10.0) -> bool:
    """Boot the probe sector under ``accel``; True when the marker shows up in time."""
    with tempfile.TemporaryDirectory(prefix="stratus-kvm-probe-") as tmp:
        image, out = os.path.join(tmp, "boot.img"), os.path.join(tmp, "serial.out")
        with open(image, "wb") as f:
            f.write(boot_sector())
        try:
            proc = subprocess.Popen(probe_command(binary, accel, cpu, image, out),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            LOG.info("KVM probe: cannot run %s: %s", binary, exc)
            return False
        ok = False
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if os.path.exists(out):
                    with open(out, "rb") as f:
                        if MARKER in f.read():
                            ok = True
                            break
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
        if not ok:
            LOG.info("KVM probe with -accel %s failed: %s", accel,
                     (err or b"").decode(errors="replace").strip()[-300:] or "no marker")
        return ok


GUEST_MARKER = b"stratus-guest:"     # the default guest's first line after its kernel
KVM_FAILURE = b"KVM internal error"


def guest_command(binary: str, cpu: str, image: str, serial_out: str) -> list[str]:
    """The default guest image under KVM, its disk in snapshot mode (never written)."""
    return [binary, "-no-user-config", "-nodefaults", "-machine", "pc", "-accel", "kvm",
            "-cpu", cpu, "-m", "256", "-display", "none", "-no-reboot", "-nic", "none",
            "-drive", f"file={image},format=qcow2,if=virtio,snapshot=on",
            "-serial", f"file:{serial_out}"]


def guest_boots(binary: str, cpu: str, image: str, timeout: float = 30.0) -> bool:
    """Boot the real default guest under KVM until its kernel has handed over to
    its init (the marker) — a boot sector in real mode passes on hosts where
    the first mode switches of a real boot loader make KVM fail ("KVM
    internal error": seen on nested hosts).  False on that error at once."""
    with tempfile.TemporaryDirectory(prefix="stratus-kvm-probe-") as tmp:
        out, err_path = os.path.join(tmp, "serial.out"), os.path.join(tmp, "stderr")
        try:
            with open(err_path, "wb") as err:
                proc = subprocess.Popen(guest_command(binary, cpu, image, out),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=err)
        except OSError as exc:
            LOG.info("KVM guest probe: cannot run %s: %s", binary, exc)
            return False
        ok, why = False, "no guest output in time"
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if os.path.exists(out):
                    with open(out, "rb") as f:
                        if GUEST_MARKER in f.read():
                            ok = True
                            break
                with open(err_path, "rb") as f:
                    if KVM_FAILURE in f.read():
                        why = "KVM internal error"
                        break
                if proc.poll() is not None:
                    why = f"QEMU exited with {proc.returncode}"
                    break
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if not ok:
            LOG.info("KVM probe with the guest image failed: %s", why)
        return ok


def _cache_key(binary: str, cpu: str) -> str:
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        version = "unknown"
    return f"{binary}|{cpu}|{version}|{os.uname().release}"


def kvm_usable(binary: str, cpu: str = "host", timeout: float = 10.0,
               cache_file: str | None = None, guest_image: str | None = None) -> bool:
    """Probe once per process (and per cache file across restarts): the boot
    sector, then, when ``guest_image`` (the default guest) is given, a real
    boot of it."""
    mem_key = f"{binary}|{cpu}|{guest_image or ''}"
    if mem_key in _cache:
        return _cache[mem_key]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        _cache[mem_key] = False
        return False
    key = (_cache_key(binary, cpu) + f"|{guest_image or ''}") if cache_file else ""
    if cache_file and os.path.exists(cache_file):
        try:
            with open(cache_file) as f:
                saved = json.load(f)
            if saved.get("key") == key:
                _cache[mem_key] = bool(saved["kvm"])
                return _cache[mem_key]
        except (OSError, ValueError, KeyError):
            pass
    result = boots(binary, "kvm", cpu, timeout)
    if result and guest_image and os.path.exists(guest_image):
        result = guest_boots(binary, cpu, guest_image, max(timeout, 30.0))
    _cache[mem_key] = result
    if cache_file:
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        tmp = cache_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"key": key, "kvm": result, "probed_at": time.time()}, f)
        os.replace(tmp, cache_file)
    LOG.info("KVM %s (probe: %s -cpu %s)", "usable" if result else "not usable", binary, cpu)
    return result


def choose_accel(virt_type: str, kvm_ok: bool) -> str:
    """``[qemu] virt_type`` and the probe result -> ``kvm`` or ``tcg``."""
    if virt_type == "kvm":
        return "kvm"
    if virt_type in ("qemu", "tcg"):
        return "tcg"
    if virt_type == "auto":
        return "kvm" if kvm_ok else "tcg"
    raise ValueError(f"[qemu] virt_type must be auto, kvm or qemu, not {virt_type!r}")
