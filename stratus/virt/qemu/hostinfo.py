"""What a QEMU host offers: CPUs, RAM, disk, QEMU version (read from the host)."""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

GiB = 1024 ** 3


def parse_qemu_version(text: str) -> int:
    """``QEMU emulator version 7.2.22 (...)`` -> 7002022 (nova's integer form)."""
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return 0
    major, minor, micro = (int(x or 0) for x in m.groups())
    return major * 1_000_000 + minor * 1_000 + micro


def parse_meminfo_mb(text: str) -> int:
    m = re.search(r"^MemTotal:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) // 1024 if m else 0


def parse_cpuinfo(text: str) -> dict:
    """Vendor, model and flags of the first CPU in /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return {"vendor": fields.get("vendor_id", ""), "model": fields.get("model name", ""),
            "features": sorted(fields.get("flags", "").split())}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def host_info(binary: str, instances_path: str, accel: str) -> dict:
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        version = ""
    vcpus = os.cpu_count() or 1
    cpu = parse_cpuinfo(_read("/proc/cpuinfo"))
    cpu.update(arch=platform.machine(), accel=accel,
               topology={"sockets": 1, "cores": vcpus, "threads": 1})
    return {
        "vcpus": vcpus,
        "memory_mb": parse_meminfo_mb(_read("/proc/meminfo")),
        "local_gb": shutil.disk_usage(instances_path).total // GiB,
        "hypervisor_type": "QEMU",
        "hypervisor_version": parse_qemu_version(version),
        "cpu_info": cpu,
    }
