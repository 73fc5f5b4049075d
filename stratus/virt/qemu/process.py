"""QEMU processes: launch daemonized, find by pidfile, stop.

QEMU runs with ``-daemonize``: it double-forks and is reparented away from the
agent, so restarting (or killing) the agent never touches a running VM.  A pid
from a pidfile only counts when ``/proc/<pid>/cmdline`` still carries the
instance's ``-uuid`` (pids are reused) and the process is not a zombie.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

from stratus.virt.qemu.cmdline import is_qemu_of


class LaunchError(Exception):
    """QEMU refused to start; the message carries its error output."""


def read_pid(pidfile: str) -> int | None:
    try:
        with open(pidfile) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def proc_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def alive(pid: int | None, uuid: str) -> bool:
    """True when ``pid`` is a live (non-zombie) QEMU of instance ``uuid``."""
    return bool(pid) and is_qemu_of(proc_cmdline(pid), uuid) and not is_zombie(pid)


def find(pidfile: str, uuid: str) -> int | None:
    pid = read_pid(pidfile)
    return pid if alive(pid, uuid) else None


def launch(argv: list[str], cwd: str, log_path: str, timeout: float = 120.0) -> None:
    """Run a ``-daemonize`` QEMU command line; returns once the guest is
    initialised (QEMU's parent process exits), raises LaunchError otherwise."""
    with open(log_path, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                  f"{' '.join(argv)}\n".encode())
        log.flush()
        start = log.tell()
        try:
            proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=log, timeout=timeout, start_new_session=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LaunchError(f"cannot start QEMU: {exc}") from None
    if proc.returncode != 0:
        with open(log_path, "rb") as f:
            f.seek(start)
            err = f.read().decode(errors="replace").strip()
        raise LaunchError(f"QEMU exited with status {proc.returncode}: {err[-2000:]}")


def wait_gone(pid: int, uuid: str, timeout: float) -> bool:
    """Wait until ``pid`` is no longer the instance's QEMU; True if it is gone."""
    deadline = time.monotonic() + timeout
    while alive(pid, uuid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def kill(pid: int, uuid: str, timeout: float = 10.0) -> None:
    """SIGKILL the instance's QEMU (only if the pid is still it) and wait."""
    if not alive(pid, uuid):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if not wait_gone(pid, uuid, timeout):
        raise LaunchError(f"QEMU {pid} of {uuid} survived SIGKILL for {timeout} s")
