"""Server processes the bench starts: launch in their own session, measure the
whole process tree through /proc, and always stop them.

Every server runs as the leader of a new session (``start_new_session``), so
its workers, however they were forked or spawned, share its session id; that
is how the tree is found and how it is killed, even if a worker was re-parented.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_RUNNING: list["Server"] = []


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces; it ends at the last ')'
    return data[data.rindex(")") + 2:].split()


def session_pids(sid: int) -> list[int]:
    """Live processes whose session id is ``sid`` (zombies excluded)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        # fields[0] is state (field 3), fields[3] is session (field 6)
        if fields and fields[3] == str(sid) and fields[0] != "Z":
            pids.append(int(name))
    return pids


def _kib(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def memory_mib(sid: int) -> dict:
    """RSS summed over the tree (counts shared pages once per process) and
    PSS (shares them out, so it adds up to what the tree really costs)."""
    pids = session_pids(sid)
    rss = sum(_kib(p, "status", "VmRSS:") for p in pids)
    pss = sum(_kib(p, "smaps_rollup", "Pss:") for p in pids)
    return {"processes": len(pids), "rss_mib": round(rss / 1024, 1),
            "pss_mib": round(pss / 1024, 1)}


def cpu_seconds(sid: int) -> float:
    """user+system CPU of the live processes of the tree."""
    total = 0
    for pid in session_pids(sid):
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _CLK_TCK


class Server:
    """A server process tree; ``stop()`` is idempotent and is also run by
    ``stop_all()`` from the bench's ``finally``/signal path."""

    def __init__(self, name: str, argv: list[str], log_path: str,
                 env: dict | None = None, cwd: str | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)
        self.pid = self.proc.pid
        _RUNNING.append(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def memory(self) -> dict:
        return memory_mib(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as f:
                text = f.read()[-8000:].decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_tree(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in session_pids(self.pid):  # anything that left the group
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self, grace: float = 8.0) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        self._signal_tree(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.proc.poll()
            if not session_pids(self.pid):
                break
            time.sleep(0.05)
        else:
            self._signal_tree(signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


def stop_all() -> None:
    for server in list(_RUNNING):
        server.stop(grace=3.0)
