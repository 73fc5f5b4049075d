"""The servers under test and how each is started from nothing.

A target's ``start(workdir)`` prepares a fresh state (new state directory,
re-created database) and launches the server; it returns a ``Running`` with
the endpoints and credentials the load needs.  Raises ``Unavailable`` with a
one-line reason when the target cannot be run here.
"""
from __future__ import annotations

import os
import socket
import subprocess

import time
from dataclasses import dataclass

import httpx
import yaml

from procs import Server

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STRATUS = os.environ.get("STRATUS_BIN", os.path.join(ROOT, ".venv", "bin", "stratus"))
SETUP_KEYSTONE = os.path.join(HERE, "setup_keystone.sh")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STRATUS_PG_DB = "stratus_bench"
READY_TIMEOUT = 120.0


class Unavailable(Exception):
    """The target cannot run on this machine; str() is the reason."""


@dataclass
class Running:
    server: Server
    auth_url: str            # .../v3
    username: str
    password: str
    project: str
    ready_s: float           # exec -> first 200 on the version document
    setup_s: float = 0.0     # state preparation before exec (keystone-manage ...)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(server: Server, url: str, timeout: float = READY_TIMEOUT) -> float:
    """Seconds from the server's exec until ``url`` answers 200; polls every 20 ms."""
    deadline = server.started + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if not server.alive():
                raise Unavailable(f"{server.name} exited with {server.proc.returncode} before "
                                  f"answering; log tail:\n{server.log_tail()}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - server.started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise Unavailable(f"{server.name} did not answer 200 on {url} within {timeout:.0f}s; "
                      f"log tail:\n{server.log_tail()}")


def recreate_pg_database(name: str) -> None:
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # driver missing, server down, no rights
        raise Unavailable(f"cannot re-create PostgreSQL database {name}: {exc}") from None


def drop_pg_database(name: str) -> None:
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:
        pass


@dataclass
class Target:
    name: str
    kind: str        # "stratus" or "keystone"
    database: str    # "sqlite" or "postgresql"
    workers: int
    command: str     # how it is served, for the report
    cache: str = ""  # keystone only: "memory" enables its in-process cache

    def start(self, workdir: str) -> Running:
        return (_start_stratus if self.kind == "stratus" else _start_keystone)(self, workdir)

    def cleanup(self) -> None:
        if self.database == "postgresql":
            drop_pg_database(STRATUS_PG_DB if self.kind == "stratus" else "keystone_bench")


TARGETS = {
    t.name: t for t in [
        Target("stratus-up", "stratus", "sqlite", 1, "stratus up (all-in-one, 1 process)"),
        Target("stratus-sqlite", "stratus", "sqlite", 2, "stratus api --workers 2"),
        Target("stratus-pg", "stratus", "postgresql", 2, "stratus api --workers 2"),
        Target("keystone", "keystone", "postgresql", 2, "gunicorn --workers 2 (sync)"),
        Target("keystone-sqlite", "keystone", "sqlite", 2, "gunicorn --workers 2 (sync)"),
        Target("keystone-cached", "keystone", "postgresql", 2,
               "gunicorn --workers 2 (sync), [cache] dogpile.cache.memory", cache="memory"),
    ]
}
DEFAULT_TARGETS = ["stratus-up", "stratus-sqlite", "stratus-pg", "keystone", "keystone-sqlite",
                   "keystone-cached"]
QUICK_TARGETS = ["stratus-up", "stratus-pg", "keystone-sqlite"]


def _stratus_available() -> None:
    if not os.access(STRATUS, os.X_OK):
        raise Unavailable(f"{STRATUS} not found (pip install -e . in the project venv)")
    probe = subprocess.run([STRATUS, "up", "--help"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise Unavailable("`stratus up --help` failed: "
                          + (probe.stderr.strip().splitlines() or ["?"])[-1])


def _start_stratus(target: Target, workdir: str) -> Running:
    _stratus_available()
    state = os.path.join(workdir, "state")  # does not exist yet: a first start
    port = free_port()
    argv = [STRATUS]
    if target.database == "postgresql":
        recreate_pg_database(STRATUS_PG_DB)
        conf = os.path.join(workdir, "stratus.conf")
        with open(conf, "w") as f:
            f.write("[database]\nconnection = "
                    f"postgresql+psycopg://postgres@127.0.0.1/{STRATUS_PG_DB}\n")
        argv += ["--config", conf]
    if target.name == "stratus-up":
        argv += ["up", "--state-dir", state, "--port", str(port), "--no-user-clouds"]
    else:
        argv += ["api", "--state-dir", state, "--port", str(port),
                 "--workers", str(target.workers)]
    env = dict(os.environ, HOME=workdir)  # whatever it writes under ~ stays in workdir
    server = Server(target.name, argv, os.path.join(workdir, "server.log"), env=env, cwd=workdir)
    base = f"http://127.0.0.1:{port}/identity/v3"
    ready = wait_ready(server, base)
    with open(os.path.join(state, "clouds.yaml")) as f:
        auth = yaml.safe_load(f)["clouds"]["stratus"]["auth"]
    return Running(server, auth["auth_url"], auth["username"], auth["password"],
                   auth["project_name"], ready)


_keystone_install: tuple[bool, str] | None = None


def keystone_install() -> None:
    """Run ``setup_keystone.sh install`` once per bench run (idempotent)."""
    global _keystone_install
    if _keystone_install is None:
        try:
            proc = subprocess.run(["bash", SETUP_KEYSTONE, "install"], capture_output=True,
                                  text=True, timeout=900)
            reason = _unavailable_reason(proc)
            _keystone_install = (proc.returncode == 0, reason)
        except subprocess.TimeoutExpired:
            _keystone_install = (False, "setup_keystone.sh install took over 15 minutes")
        if _keystone_install[0]:
            print("  " + proc.stdout.strip().splitlines()[-1], flush=True)
    if not _keystone_install[0]:
        raise Unavailable(_keystone_install[1])


def _unavailable_reason(proc: subprocess.CompletedProcess) -> str:
    for line in (proc.stderr or "").splitlines()[::-1]:
        if line.startswith("keystone: unavailable ("):
            return line[len("keystone: unavailable ("):].rstrip(")")
    tail = ((proc.stderr or "") + (proc.stdout or "")).strip().splitlines()
    return f"setup_keystone.sh exited {proc.returncode}: {tail[-1] if tail else 'no output'}"


def _start_keystone(target: Target, workdir: str) -> Running:
    keystone_install()
    port = free_port()
    state = os.path.join(workdir, "keystone")
    env = dict(os.environ, KEYSTONE_DB=target.database, KEYSTONE_CACHE=target.cache)
    t0 = time.perf_counter()
    proc = subprocess.run(["bash", SETUP_KEYSTONE, "init", state, str(port)], env=env,
                          capture_output=True, text=True, timeout=600)
    setup_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise Unavailable(_unavailable_reason(proc))
    server = Server(target.name, ["bash", SETUP_KEYSTONE, "serve", state, str(port),
                                  str(target.workers)],
                    os.path.join(workdir, "server.log"), env=env, cwd=workdir)
    ready = wait_ready(server, f"http://127.0.0.1:{port}/v3")
    return Running(server, f"http://127.0.0.1:{port}/v3", "admin", "password", "admin",
                   ready, setup_s=setup_s)


