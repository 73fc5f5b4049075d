"""A throw-away Stratus cloud running inside the server namespace of a Link.

``stratus up --no-agent --no-user-clouds`` on a fresh state directory,
listening on 0.0.0.0 (so it keeps serving across Link.reconfigure) with
``[api] public_endpoint`` set to the namespace address the client uses, so
clouds.yaml, the catalog and every link point across the emulated WAN.
``start()`` waits until /identity/v3 answers; ``stop()`` ends the process
(the Link kills anything left in its namespaces anyway).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench.wan.topology import REPO, Link

PROBE = ("import sys,urllib.request;"
         "sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)")


class Cloud:
    def __init__(self, link: Link, port: int = 5000):
        self.link, self.port = link, port
        self.state_dir = tempfile.mkdtemp(prefix="stratus-bench-transfer-")
        self.public = f"http://{link.server_ip}:{port}"
        self.proc: subprocess.Popen | None = None
        self.stratus = os.path.join(os.path.dirname(sys.executable), "stratus")

    @property
    def auth_url(self) -> str:
        return f"{self.public}/identity/v3"

    @property
    def clouds_yaml(self) -> str:
        return os.path.join(self.state_dir, "clouds.yaml")

    def admin_password(self) -> str:
        with open(os.path.join(self.state_dir, "credentials.json")) as f:
            return json.load(f)["admin"]

    def start(self, timeout: float = 120) -> "Cloud":
        with open(os.path.join(self.state_dir, "stratus.conf"), "w") as f:
            # No L3 bootstrap (public network, router): the bench needs none of it.
            f.write(f"[api]\npublic_endpoint = {self.public}\n\n"
                    "[network]\ncreate_public_network = false\n")
        self._log = open(os.path.join(self.state_dir, "up.out"), "w")
        self.proc = subprocess.Popen(
            self.link.server_cmd([self.stratus, "up", "--state-dir", self.state_dir,
                                  "--host", "0.0.0.0", "--port", str(self.port),
                                  "--no-agent", "--no-user-clouds"]),
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/identity/v3"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stratus up exited {self.proc.returncode}: "
                                   f"{self.tail()}")
            if subprocess.run(self.link.server_cmd([sys.executable, "-c", PROBE, url]),
                              capture_output=True).returncode == 0:
                return self
            time.sleep(0.5)
        raise RuntimeError(f"stratus up did not answer within {timeout:.0f}s: {self.tail()}")

    def tail(self, n: int = 600) -> str:
        try:
            with open(os.path.join(self.state_dir, "up.out")) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def errors(self, n: int = 40) -> str:
        """The last ``n`` lines of stratus.log from its last ERROR on (the
        traceback of a failed request or transfer session), or ''."""
        try:
            with open(os.path.join(self.state_dir, "stratus.log")) as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        last = max((i for i, ln in enumerate(lines) if " ERROR " in ln), default=None)
        return "" if last is None else "\n".join(lines[last:last + n])

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def remove(self) -> None:
        shutil.rmtree(self.state_dir, ignore_errors=True)
