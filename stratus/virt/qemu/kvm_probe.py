"""Is KVM really usable?  Boot a 512-byte guest with it and see.

``/dev/kvm`` existing proves little (nested virtualisation, missing CPU
features, a broken host kernel all make guests fail on entry), so the probe
boots a boot sector that writes a marker to the serial port and halts, with
``-accel kvm`` and a short timeout.  The answer is cached in memory and,
when a cache file is given, on disk keyed by QEMU binary, version and kernel.
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


def _cache_key(binary: str, cpu: str) -> str:
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        version = "unknown"
    return f"{binary}|{cpu}|{version}|{os.uname().release}"


def kvm_usable(binary: str, cpu: str = "host", timeout: float = 10.0,
               cache_file: str | None = None) -> bool:
    """Probe once per process (and per cache file across restarts)."""
    mem_key = f"{binary}|{cpu}"
    if mem_key in _cache:
        return _cache[mem_key]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        _cache[mem_key] = False
        return False
    key = _cache_key(binary, cpu) if cache_file else ""
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
