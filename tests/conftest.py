"""Shared fixtures: a live Stratus server for end-to-end tests, and helpers to
drive it with the real ``openstack`` CLI, openstacksdk and raw HTTP (httpx).

``live_cloud`` (session scope) starts ``stratus up`` once on a free port in a
temporary state directory (``stratus.conf`` with cheap bcrypt rounds), waits
until ``/identity/v3`` answers (failing with the server log's tail after
30 s), and stops it at the end even when tests fail.  ``stratus_servers`` and
``module_servers`` start further servers (another configuration, ``stratus
api``, a restart on the same state directory); ``private_cloud`` is a fresh
server for one test.  Every server is stopped when its fixture ends; the state
directories are removed when the session ends (``STRATUS_E2E_KEEP=1`` keeps
them, logs included).

Helpers on the :class:`Cloud` object: ``openstack(...)`` runs the real CLI
with OS_CLIENT_CONFIG_FILE/OS_CLOUD set and parses ``-f json``; ``http(token)``
is an httpx client on the Identity v3 URL; ``auth``/``token``/``admin_token``
get tokens; ``sdk(cloud)`` is ``openstack.connect``; ``stratus(...)`` runs an
admin command on the state directory.  ``assert_error`` checks an OpenStack
error response.
"""
from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

BIN = Path(sys.executable).parent            # the virtualenv's bin directory
STRATUS = str(BIN / "stratus")
OPENSTACK = str(BIN / "openstack")
READY_TIMEOUT = 60.0   # a loaded 2-core CI machine starts `stratus api --workers 2` slowly
FAST_CONF = "[identity]\npassword_hash_rounds = 4\n"


# -- processes -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no OS_* variables or proxies
    inherited from whoever runs the tests."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OS_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


class StratusServer:
    """One server process (``stratus up`` or ``stratus api``) on a state dir."""

    def __init__(self, state_dir: Path, port: int, command: str = "up",
                 extra_args: tuple[str, ...] = ()):
        self.state_dir = state_dir
        self.port = port
        self.command = command
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self.out_path = state_dir / f"server-{command}.out"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [STRATUS, self.command, "--state-dir", str(self.state_dir),
                "--port", str(self.port), *self.extra_args]
        if self.command == "up":
            argv.append("--no-user-clouds")
        return argv

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        out = open(self.out_path, "ab")
        try:
            # A new session: the server (and the workers of `stratus api`) get a
            # process group of their own that stop() can clean up.
            self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.state_dir,
                                         env=clean_env(), start_new_session=True)
        finally:
            out.close()
        self.wait_ready()

    def logs(self) -> str:
        return (f"--- {self.out_path.name} (tail) ---\n{tail(self.out_path)}\n"
                f"--- stratus.log (tail) ---\n{tail(self.state_dir / 'stratus.log')}")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        url = f"{self.base_url}/identity/v3"
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"stratus {self.command} exited with {self.proc.returncode} "
                                f"before it was ready\n{self.logs()}", pytrace=False)
                try:
                    r = http.get(url)
                    if r.status_code == 200:
                        return
                    last = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"stratus {self.command} not ready at {url} within {READY_TIMEOUT:.0f} s "
                    f"({last})\n{self.logs()}", pytrace=False)

    def signal_stop(self) -> subprocess.Popen | None:
        """Ask the server to stop (SIGINT, as Ctrl-C does) without waiting."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        return proc

    @staticmethod
    def reap(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
        """Wait for a stopping server; kill it (and its workers) if it hangs."""
        if proc is None:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
        # Workers of `stratus api` left behind (their group is the server's pid).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop(self, timeout: float = 15.0) -> None:
        self.reap(self.signal_stop(), timeout)

    def restart(self) -> None:
        self.stop()
        self.start()


# -- the cloud as a test sees it -------------------------------------------------
@dataclass
class Cloud:
    """A running Stratus and the ways to talk to it."""
    server: StratusServer
    extra_conf: str = ""
    _admin_token: str | None = field(default=None, repr=False)

    # Where things are.
    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def url(self) -> str:
        """The Identity v3 API base, http://127.0.0.1:PORT/identity/v3."""
        return f"{self.base_url}/identity/v3"

    @property
    def state_dir(self) -> Path:
        return self.server.state_dir

    @property
    def clouds_yaml(self) -> Path:
        return self.state_dir / "clouds.yaml"

    def _credentials(self) -> dict:
        return json.loads((self.state_dir / "credentials.json").read_text())

    @property
    def admin_password(self) -> str:
        return self._credentials()["admin"]

    @property
    def demo_password(self) -> str:
        return self._credentials()["demo"]

    def logs(self) -> str:
        return self.server.logs()

    # Raw HTTP.
    def http(self, token: str | None = None, **kwargs) -> httpx.Client:
        """An httpx client on the Identity v3 base URL, sending ``token``."""
        headers = {"X-Auth-Token": token} if token else {}
        return httpx.Client(base_url=self.url + "/", headers=headers, timeout=30.0,
                            trust_env=False, **kwargs)

    def auth(self, username: str, password: str, *, project: str | None = None,
             project_id: str | None = None, domain: str | None = None,
             system: bool = False, user_domain: str = "default") -> httpx.Response:
        """POST /v3/auth/tokens with the password method; the raw response."""
        scope: Any = None
        if project_id:
            scope = {"project": {"id": project_id}}
        elif project:
            scope = {"project": {"name": project, "domain": {"id": "default"}}}
        elif domain:
            scope = {"domain": {"id": domain}}
        elif system:
            scope = {"system": {"all": True}}
        body: dict = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": user_domain}, "password": password}}}}}
        if scope is not None:
            body["auth"]["scope"] = scope
        with httpx.Client(timeout=30.0, trust_env=False) as http:
            return http.post(f"{self.url}/auth/tokens", json=body)

    def token(self, username: str, password: str, **scope) -> str:
        r = self.auth(username, password, **scope)
        assert r.status_code == 201, f"auth as {username} {scope}: {r.status_code} {r.text}"
        return r.headers["X-Subject-Token"]

    def admin_token(self, fresh: bool = False) -> str:
        """A project-scoped admin token (cached unless ``fresh``)."""
        if fresh or self._admin_token is None:
            self._admin_token = self.token("admin", self.admin_password, project="admin")
        return self._admin_token

    def admin_http(self) -> httpx.Client:
        return self.http(self.admin_token())

    # The openstack CLI.
    def openstack(self, *args: str, cloud: str = "stratus", config: Path | None = None,
                  json_out: bool = True, check: bool = True, timeout: float = 120.0):
        """Run ``openstack ARGS`` with OS_CLIENT_CONFIG_FILE and OS_CLOUD set.

        With ``json_out`` ``-f json`` is appended and the parsed output returned
        (None when the command prints nothing).  With ``check`` a non-zero exit
        fails the test showing the command, its output and the server log;
        without it the CompletedProcess is returned."""
        return run_openstack(self, args, cloud_name=cloud, config=config, json_out=json_out,
                             check=check, timeout=timeout)

    def openstack_many(self, *commands: tuple, **kwargs) -> list:
        """Run several independent CLI commands concurrently; results in the
        same order.  Each command is a tuple of arguments, optionally ending
        with a dict of keyword arguments for :meth:`openstack` (overriding
        ``kwargs``)."""
        def run(cmd):
            opts = dict(kwargs)
            if cmd and isinstance(cmd[-1], dict):
                cmd, opts = cmd[:-1], {**opts, **cmd[-1]}
            return self.openstack(*cmd, **opts)
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(run, commands))

    def write_clouds_yaml(self, name: str, username: str, password: str,
                          project: str | None = None, path: Path | None = None) -> Path:
        """Write a clouds.yaml for one user (as a new user would) and return it."""
        import yaml
        auth: dict = {"auth_url": self.url, "username": username, "password": password,
                      "user_domain_name": "Default"}
        if project:
            auth.update(project_name=project, project_domain_name="Default")
        doc = {"clouds": {name: {"auth": auth, "identity_api_version": 3,
                                 "region_name": "RegionOne", "interface": "public"}}}
        path = path or self.state_dir / f"clouds-{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path

    def sdk(self, cloud: str = "stratus", config: Path | None = None):
        """An openstacksdk Connection made the documented way:
        ``openstack.connect(cloud=...)`` with OS_CLIENT_CONFIG_FILE pointing at
        the config file."""
        import openstack
        from unittest import mock
        env = {"OS_CLIENT_CONFIG_FILE": str(config or self.clouds_yaml),
               "OS_CLIENT_SECURE_FILE": str(self.state_dir / "secure.yaml")}
        stale = [k for k in os.environ if k.startswith("OS_") and k not in env]
        with mock.patch.dict(os.environ, env):
            for k in stale:
                os.environ.pop(k, None)
            return openstack.connect(cloud=cloud)

    def stratus(self, *args: str, check: bool = True, timeout: float = 60.0
                ) -> subprocess.CompletedProcess:
        """Run a ``stratus`` admin command (``identity rotate-keys``, ``db sync``…)
        on this cloud's state directory."""
        argv = [STRATUS, *args, "--state-dir", str(self.state_dir)]
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            env=clean_env(), cwd=self.state_dir)
        if check and cp.returncode != 0:
            pytest.fail(f"{' '.join(argv)} exited {cp.returncode}\nstdout: {cp.stdout}\n"
                        f"stderr: {cp.stderr}", pytrace=False)
        return cp


def run_openstack(cloud: Cloud, args: tuple, *, cloud_name: str = "stratus", config=None,
                  json_out=True, check=True, timeout=120.0):
    argv = [OPENSTACK, *args]
    if json_out:
        argv += ["-f", "json"]
    secure = cloud.state_dir / "secure.yaml"
    env = clean_env(OS_CLIENT_CONFIG_FILE=str(config or cloud.clouds_yaml),
                    OS_CLIENT_SECURE_FILE=str(secure), OS_CLOUD=cloud_name)
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                        cwd=cloud.state_dir)
    if not check:
        return cp
    if cp.returncode != 0:
        pytest.fail(f"`openstack {' '.join(args)}` (cloud {cloud_name}) exited "
                    f"{cp.returncode}\nstdout: {cp.stdout}\nstderr: {cp.stderr}\n"
                    f"{cloud.logs()}", pytrace=False)
    if not json_out:
        return cp.stdout
    out = cp.stdout.strip()
    return json.loads(out) if out else None


# -- errors ----------------------------------------------------------------------
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large"}


def ok(r: httpx.Response, status: int = 200):
    """The response must have ``status``; returns its JSON body (None if empty)."""
    assert r.status_code == status, f"{r.request.method} {r.request.url} -> " \
                                    f"{r.status_code} {r.text[:500]}"
    return r.json() if r.content else None


def assert_error(r: httpx.Response, status: int, *mentions: str) -> dict:
    """``r`` is an OpenStack (Keystone) error: the status, a JSON body
    ``{"error": {"code", "message", "title"}}`` whose message names each of
    ``mentions``; never a 500."""
    what = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:500]}"
    assert r.status_code < 500, f"server error: {what}"
    assert r.status_code == status, f"expected {status}: {what}"
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {what}") from None
    assert set(body) == {"error"}, f"not an OpenStack error body: {what}"
    err = body["error"]
    assert err.get("code") == status, what
    assert isinstance(err.get("message"), str) and err["message"], what
    assert err.get("title") == TITLES.get(status, err.get("title")), what
    for m in mentions:
        assert m.lower() in err["message"].lower(), f"message does not name {m!r}: {what}"
    return err


# -- fixtures --------------------------------------------------------------------
# Servers asked to stop but not yet waited for, and state directories to
# remove: a server takes ~2 s to exit, so test teardown only signals it and
# the end of the session waits for all of them at once.
_STOPPING: list[subprocess.Popen] = []
_DIRS: list[Path] = []


def _finish_stopping() -> None:
    while _STOPPING:
        StratusServer.reap(_STOPPING.pop())
    if os.environ.get("STRATUS_E2E_KEEP"):
        if _DIRS:
            print(f"\nkept Stratus state dirs: {[str(d) for d in _DIRS]}")
        _DIRS.clear()
        return
    while _DIRS:
        shutil.rmtree(_DIRS.pop(), ignore_errors=True)


atexit.register(_finish_stopping)   # also when the session is interrupted


# Files that take minutes (real VMs on a lab, large uploads): collected first, so
# that with `pytest -n 3 --dist loadfile` they start at once instead of making
# the tail of the run.  The order is deterministic, as xdist requires.
SLOW_FIRST = ("e2e/test_network_restart_safety.py", "e2e/test_object_store.py",
              "e2e/test_lab_vxlan.py", "e2e/test_compute_boot.py", "e2e/test_transfer.py",
              "e2e/test_scheduler_concurrency_pg.py", "e2e/test_scheduler_explain.py",
              "e2e/test_scheduler_ecu_bandwidth.py")


# Collected last: a CPU-bound VM (TCG) that would otherwise run beside the
# zero-loss restart tests' guests and starve them.
SLOW_LAST = ("lab/test_vlan_in_vm.py",)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = str(item.fspath).replace(os.sep, "/")
        if any(path.endswith(s) for s in SLOW_LAST):
            return len(SLOW_FIRST) + 1
        return next((i for i, s in enumerate(SLOW_FIRST) if path.endswith(s)),
                    len(SLOW_FIRST))
    items.sort(key=rank)    # stable: the order within a file and among the rest stays


def pytest_sessionfinish(session, exitstatus):
    _finish_stopping()


def wait_for(fn, timeout: float = 30.0, what: str = "condition", interval: float = 0.25):
    """Poll ``fn`` until it returns something truthy (returned); fail the test
    naming ``what`` and the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def compute_client(cloud, token: str) -> httpx.Client:
    """A raw httpx client on the cloud's Compute v2.1 endpoint with ``token``."""
    return httpx.Client(base_url=f"{cloud.base_url}/compute/v2.1/",
                        headers={"X-Auth-Token": token}, timeout=30.0, trust_env=False)


def network_client(cloud, token: str) -> httpx.Client:
    """A raw httpx client on the cloud's Network v2.0 endpoint with ``token``."""
    return httpx.Client(base_url=f"{cloud.base_url}/network/v2.0/",
                        headers={"X-Auth-Token": token}, timeout=30.0, trust_env=False)


def qemu_conf_or_skip(host: str) -> str:
    """Build the guest image (cached) and return the ``[compute]`` section of a
    cloud that boots real VMs on ``host``; skip the test when the image cannot
    be built here."""
    build = pytest.importorskip("stratus.guestimage.build")
    try:
        build.build()
    except Exception as exc:  # no network for the Debian packages, ...
        pytest.skip(f"cannot build the guest image: {exc}")
    # TCG, always: on this kind of machine /dev/kvm exists and the probe has once
    # said "usable" while real guests then hung (a test must not depend on that)
    return (f"[compute]\ncompute_driver = qemu\nhost = {host}\nagent_poll_interval = 0.5\n"
            f"report_interval = 5\n[qemu]\nvirt_type = qemu\n")


def own_host(extra_conf: str) -> str:
    """Every test cloud gets its own compute host name, so that clouds running
    at once never share a host namespace (``shost-<host>``) whose level-triggered
    sync would remove the other's devices.  Clouds that do not choose a driver
    get the fake one: no VMs, no kernel changes."""
    host = f"e2e-{uuid.uuid4().hex[:8]}"
    if "[compute]" not in extra_conf:
        return extra_conf + f"\n[compute]\nhost = {host}\ncompute_driver = fake\n"
    head, _, rest = extra_conf.partition("[compute]\n")
    section = rest.split("\n[", 1)[0]
    if any(line.split("=")[0].strip() == "host" for line in section.splitlines()):
        return extra_conf
    return f"{head}[compute]\nhost = {host}\n{rest}"


def agent_footprint(state_dir: Path) -> tuple[bool, str | None]:
    """(whether the cloud's host agent makes VMs and a data plane, its host)
    from the state dir's ``stratus.conf``: any driver but ``fake`` does (the
    default is ``qemu``).  Only a host the config names is torn down: the
    default (this machine's hostname) may be a real cloud's."""
    import configparser
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read(state_dir / "stratus.conf")
    except configparser.Error:
        return False, None
    driver = cp.get("compute", "compute_driver", fallback="qemu").strip()
    host = cp.get("compute", "host", fallback="").strip() or None
    return driver != "fake" and host is not None, host


def teardown_host(state_dir: Path, host: str) -> None:
    """``stratus agent --teardown`` for a stopped cloud's host: its VMs, taps,
    bridges, dnsmasq and namespaces go.  A failure is reported (stderr and a
    warning), never raised: it must not change the outcome of the tests."""
    argv = [STRATUS, "agent", "--teardown", "--state-dir", str(state_dir), "--host", host]
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=180,
                            env=clean_env(), cwd=state_dir)
        if cp.returncode == 0:
            return
        problem = f"exit {cp.returncode}\n{cp.stdout}{cp.stderr}"
    except (OSError, subprocess.SubprocessError) as exc:
        problem = repr(exc)
    message = f"`{' '.join(argv)}` failed: {problem}"
    print(f"\n{message}", file=sys.stderr)
    with contextlib.suppress(Warning):   # even under -W error
        import warnings
        warnings.warn(message, stacklevel=2)


_CLOUDS: list[Cloud] = []   # every cloud started, to see who else runs on a state dir


class ServerPool:
    """Starts clouds; close() stops them all (their state directories are
    removed at the end of the session).  Clouds whose host agent runs real VMs
    (any driver but ``fake``) are waited for and then torn down with
    ``stratus agent --teardown``, so no QEMU, dnsmasq or namespace outlives
    them."""

    def __init__(self):
        self.clouds: list[Cloud] = []
        self._torn_down: set[Path] = set()

    def new_state_dir(self, extra_conf: str = "") -> Path:
        d = Path(tempfile.mkdtemp(prefix="stratus-e2e-"))
        _DIRS.append(d)
        (d / "stratus.conf").write_text(FAST_CONF + own_host(extra_conf))
        (d / "secure.yaml").write_text("clouds: {}\n")
        return d

    def start(self, extra_conf: str = "", command: str = "up",
              extra_args: tuple[str, ...] = (), state_dir: Path | None = None) -> Cloud:
        d = state_dir or self.new_state_dir(extra_conf)
        server = StratusServer(d, free_port(), command, extra_args)
        cloud = Cloud(server, extra_conf)
        self.clouds.append(cloud)
        _CLOUDS.append(cloud)
        server.start()
        return cloud

    def close(self) -> None:
        real: list[tuple[Cloud, subprocess.Popen | None]] = []
        for c in self.clouds:
            proc = c.server.signal_stop()
            fresh = proc is not None or c.state_dir not in self._torn_down
            if fresh and agent_footprint(c.state_dir)[0]:
                real.append((c, proc))
            elif proc is not None:
                _STOPPING.append(proc)
        for c, proc in real:
            StratusServer.reap(proc)         # its agent must be gone before the teardown
        done: set[Path] = set()
        for c, _ in real:
            d = c.state_dir
            running = any(o.state_dir == d and o.server.proc is not None
                          and o.server.proc.poll() is None for o in _CLOUDS)
            if d in done or running:   # another server still uses this host
                continue
            done.add(d)
            self._torn_down.add(d)
            teardown_host(d, agent_footprint(d)[1])


@pytest.fixture(scope="session")
def live_cloud() -> Iterator[Cloud]:
    """One Stratus (``stratus up``, SQLite) for the whole session."""
    pool = ServerPool()
    try:
        yield pool.start()
    finally:
        pool.close()


@pytest.fixture
def stratus_servers() -> Iterator[ServerPool]:
    """Start extra servers in a test: ``stratus_servers.start(extra_conf=...)``."""
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def private_cloud(stratus_servers) -> Cloud:
    """A fresh server of the test's own, for tests that may leave the server
    in a state other tests must not inherit (revoked and invalidated tokens)."""
    return stratus_servers.start()


@pytest.fixture(scope="module")
def module_servers() -> Iterator[ServerPool]:
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


def unique(prefix: str) -> str:
    """A name no other test (or run on the same server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def uniq():
    return unique


@pytest.fixture
def api(live_cloud: Cloud):
    """Admin HTTP client on the shared server, for set-up and independent checks."""
    with live_cloud.admin_http() as http:
        yield http
