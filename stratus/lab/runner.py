"""The lab's host agents: one ``stratus agent`` process per lab host, with
its pid and log under ``<state_path>/lab/``, and the lab's manifest
(``lab.json``) so that ``stratus lab down`` knows what to remove."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict

from stratus.lab import fabric
from stratus.lab.plan import Lab, LabHost, physical_interface_mappings, plan


def lab_dir(state_path: str) -> str:
    return os.path.join(state_path, "lab")


def _manifest_path(state_path: str) -> str:
    return os.path.join(lab_dir(state_path), "lab.json")


def save(state_path: str, n: int, prefix: str, underlay_cidr: str) -> None:
    os.makedirs(lab_dir(state_path), exist_ok=True)
    with open(_manifest_path(state_path), "w") as f:
        json.dump({"hosts": n, "prefix": prefix, "underlay_cidr": underlay_cidr}, f)


def load(state_path: str) -> Lab | None:
    try:
        with open(_manifest_path(state_path)) as f:
            m = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    return plan(int(m["hosts"]), m["prefix"], m["underlay_cidr"])


def _pidfile(state_path: str, h: LabHost) -> str:
    return os.path.join(lab_dir(state_path), f"{h.host}.pid")


def running_pid(state_path: str, h: LabHost) -> int | None:
    try:
        with open(_pidfile(state_path, h)) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if b"agent" in cmd and h.host.encode() in cmd else None


def agent_argv(state_path: str, h: LabHost, config: str | None = None,
               endpoint: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "stratus.cmd.cli"]
    if config:
        argv += ["--config", config]
    argv += ["agent", "--host", h.host, "--state-dir", state_path, "--tunnel-ip",
             h.underlay_ip, "--physical-interface-mappings",
             ",".join(physical_interface_mappings())]
    if endpoint:
        argv += ["--endpoint", endpoint]
    return argv


def start_agents(state_path: str, lab: Lab, config: str | None = None,
                 endpoint: str | None = None) -> dict[str, int]:
    """Start the agents that are not running; host -> pid of every agent."""
    pids = {}
    for h in lab.hosts:
        pid = running_pid(state_path, h)
        if pid is None:
            log = open(os.path.join(lab_dir(state_path), f"{h.host}.log"), "ab")
            proc = subprocess.Popen(agent_argv(state_path, h, config, endpoint),
                                    stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            pid = proc.pid
            with open(_pidfile(state_path, h), "w") as f:
                f.write(str(pid))
        pids[h.host] = pid
    return pids


def stop_agents(state_path: str, lab: Lab, timeout: float = 15) -> list[str]:
    """SIGTERM every running agent of the lab, SIGKILL what outlives ``timeout``."""
    pids = {h.host: running_pid(state_path, h) for h in lab.hosts}
    pids = {h: p for h, p in pids.items() if p}
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and
                                              not _zombie(p) for p in pids.values()):
        time.sleep(0.1)
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    for h in lab.hosts:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_pidfile(state_path, h))
    return sorted(pids)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True


def up(conf, n: int, prefix: str = "lab", config: str | None = None,
       endpoint: str | None = None) -> tuple[Lab, dict[str, int]]:
    """Build (or complete) the lab and start its agents.  A lab already there
    with another shape is refused: take it down first."""
    cidr = conf.lab.underlay_cidr
    wanted = plan(n, prefix, cidr)
    existing = load(conf.state_path)
    if existing is not None and existing != wanted:
        raise RuntimeError(f"a lab of {len(existing.hosts)} host(s) named "
                           f"{existing.prefix}* is already up: run `stratus lab down` first")
    save(conf.state_path, n, prefix, cidr)
    fabric.ensure(wanted)
    return wanted, start_agents(conf.state_path, wanted, config, endpoint)


def down(conf) -> dict:
    """Stop the agents, tear every lab host down (VMs, data plane, namespaces,
    agent state) and remove the fabric.  Idempotent."""
    from stratus.agent import teardown as td
    lab = load(conf.state_path)
    if lab is None:
        return {"hosts": [], "errors": []}
    stopped = stop_agents(conf.state_path, lab)
    errors = []
    for h in lab.hosts:
        report = td.teardown(conf, h.host)
        errors += [f"{h.host}: {e}" for e in report.errors]
    fabric.remove(lab)
    if not errors:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_manifest_path(conf.state_path))
    return {"hosts": [h.host for h in lab.hosts], "stopped": stopped, "errors": errors,
            "lab": asdict(lab)}
