"""A small synchronous QMP session over the ``qemu.qmp`` library.

Each session owns a private asyncio loop, so it works from any thread (the
host agent's worker threads, ``stratus up``'s agent thread) and never touches
the thread's current event loop.  Sessions are short: connect, run a few
commands, close; QEMU's monitor serves one client at a time.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

from qemu.qmp import ExecuteError, QMPClient, QMPError

LOG = logging.getLogger(__name__)


class QMPUnavailable(Exception):
    """The QMP socket is missing or nobody answers on it."""


def _connect_unix(path: str, timeout: float) -> socket.socket:
    """A connected UNIX socket; paths too long for sockaddr_un go through
    /proc/self/fd/<dirfd>/<name>."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    dirfd = None
    try:
        target = path
        if len(path.encode()) > 100:
            dirfd = os.open(os.path.dirname(path), os.O_PATH)
            target = f"/proc/self/fd/{dirfd}/{os.path.basename(path)}"
        sock.connect(target)
    except OSError as exc:
        sock.close()
        raise QMPUnavailable(f"cannot connect to {path}: {exc}") from None
    finally:
        if dirfd is not None:
            os.close(dirfd)
    sock.setblocking(False)
    return sock


class QMPSession:
    """``with QMPSession(path) as qmp: qmp.cmd("query-status")``."""

    def __init__(self, path: str, timeout: float = 10.0):
        self.path = path
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._client = QMPClient(os.path.basename(os.path.dirname(path)))

    def _run(self, coro, timeout: float | None = None):
        return self._loop.run_until_complete(
            asyncio.wait_for(coro, self.timeout if timeout is None else timeout))

    def __enter__(self) -> "QMPSession":
        sock = _connect_unix(self.path, self.timeout)
        try:
            self._run(self._client.connect(sock))
        except (QMPError, OSError, asyncio.TimeoutError) as exc:
            self.close()
            raise QMPUnavailable(f"QMP handshake on {self.path} failed: {exc}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._run(self._client.disconnect())
        except Exception:  # the peer may already be gone (quit)
            LOG.debug("QMP disconnect from %s failed", self.path, exc_info=True)
        finally:
            self._loop.close()

    def cmd(self, name: str, **args: Any) -> Any:
        """Run one command; raises ``qemu.qmp.ExecuteError`` on a QMP error."""
        return self._run(self._client.execute(name, args or None))

    def status(self) -> str:
        """The run state: ``running``, ``paused``, ``inmigrate``, ``postmigrate``, ..."""
        return self.cmd("query-status")["status"]

    def wait_migration(self, timeout: float) -> dict[str, Any]:
        """Poll ``query-migrate`` until it is completed; raise on failure."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.cmd("query-migrate")
            state = info.get("status")
            if state == "completed":
                return info
            if state in ("failed", "cancelled"):
                raise QMPError(f"migration {state}: {info.get('error-desc', '')}")
            if time.monotonic() > deadline:
                raise QMPError(f"migration still {state} after {timeout} s")
            time.sleep(0.1)

    def wait_incoming(self, timeout: float) -> str:
        """Wait until an ``-incoming`` QEMU has loaded its state; returns the run state."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status != "inmigrate":
                return status
            if time.monotonic() > deadline:
                raise QMPError(f"incoming migration not done after {timeout} s")
            time.sleep(0.1)


__all__ = ["QMPSession", "QMPUnavailable", "ExecuteError", "QMPError"]
