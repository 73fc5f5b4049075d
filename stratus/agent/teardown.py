"""``stratus agent --teardown``: remove one host's local footprint.

Decommissioning a compute host (or cleaning up after a test cloud) means:
every VM the driver lists is destroyed (QEMU killed, instance directory
removed), the data plane is converged to an empty state (``sync_host`` with
no networks and no ports removes taps, bridges, dnsmasq and the host's
``qdhcp-*`` namespaces), whatever still runs in the host's namespaces is
killed, the host namespace ``shost-<host>`` is deleted and the agent's state
directory removed.

Only local state is touched: no HTTP, so it works while the API is down; the
control plane still lists the host and its instances (delete them through the
API first when the host leaves for good).  Idempotent: a second run finds
nothing and does nothing.  If something cannot be removed the agent's state
directory is kept (it names the dnsmasq processes), so running it again
retries.  Stop the host's agent first, or it rebuilds what this removes.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass, field

LOG = logging.getLogger(__name__)

EMPTY = {"networks": [], "ports": []}


@dataclass
class Report:
    host: str
    destroyed: list[str] = field(default_factory=list)     # instance uuids
    dataplane: list[str] = field(default_factory=list)     # actions applied
    killed: list[int] = field(default_factory=list)        # leftover pids in our namespaces
    namespaces: list[str] = field(default_factory=list)    # namespaces deleted
    state_removed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _instance_uuids(driver, root: str) -> list[str]:
    """What the driver lists, plus instance-named directories it does not (a
    spawn that failed before its launch spec was written)."""
    from stratus.virt import paths
    found = set(driver.list_instances())
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        found |= {n for n in os.listdir(root)
                  if paths.is_instance_dir_name(n) and os.path.isdir(os.path.join(root, n))}
    return sorted(found)


def _kill_namespace_pids(ns: str, report: Report) -> None:
    """SIGTERM, then SIGKILL, every process still running in ``ns``."""
    from stratus.dataplane.ip import run
    try:
        pids = [int(p) for p in run(["ip", "netns", "pids", ns]).split()]
    except Exception as exc:  # noqa: BLE001 - reported
        report.errors.append(f"listing the processes of namespace {ns}: {exc}")
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            break
        report.killed.extend(p for p in alive if p not in report.killed)
        deadline = time.monotonic() + 3
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if os.path.exists(f"/proc/{p}")]
            time.sleep(0.05)
        pids = alive


def teardown(conf, host: str | None = None, driver=None) -> Report:
    from stratus.agent.network import host_namespace
    from stratus.agent.service import agent_state_dir, host_name
    from stratus.virt import load_driver, paths

    host = host or host_name(conf)
    report = Report(host)
    state_dir = agent_state_dir(conf, host)
    net_dir = os.path.join(state_dir, "network")
    ns = host_namespace(host)

    # 1. The VMs.
    try:
        driver = driver or load_driver(conf, host)
        uuids = _instance_uuids(driver, paths.instances_path(conf, host))
    except Exception as exc:  # noqa: BLE001 - reported
        report.errors.append(f"listing the instances: {exc}")
        driver, uuids = None, []
    for uuid in uuids:
        try:
            driver.destroy(uuid)
            report.destroyed.append(uuid)
        except Exception as exc:  # noqa: BLE001 - reported, the others still go
            report.errors.append(f"destroying {uuid}: {exc}")
    for uuid in uuids:  # destroy() removes the directory; make sure of it
        with contextlib.suppress(ValueError):
            shutil.rmtree(paths.instance_dir(conf, host, uuid), ignore_errors=True)

    # 2. The data plane: converge to nothing, then the namespaces themselves.
    from stratus.dataplane import dnsmasq, netns
    from stratus.dataplane.sync import SyncError, sync_host
    if netns.exists(ns) or dnsmasq.present(net_dir) or dnsmasq.namespaces(ns):
        # dnsmasq first: one whose pid file is lost would outlive its namespace.
        for name in sorted(dnsmasq.namespaces(ns)):
            _kill_namespace_pids(name, report)
        try:
            actions = sync_host(ns, EMPTY, net_dir,
                                lease_seconds=conf.network.dhcp_lease_duration)
            report.dataplane = [repr(a) for a in actions]
        except SyncError as exc:
            report.errors.append(f"data plane: {exc}")
        except Exception as exc:  # noqa: BLE001 - no root, no iproute2, ...
            report.errors.append(f"data plane: {exc}")
        for name in sorted(dnsmasq.namespaces(ns)) + ([ns] if netns.exists(ns) else []):
            _kill_namespace_pids(name, report)
            try:
                if netns.delete(name):
                    report.namespaces.append(name)
            except Exception as exc:  # noqa: BLE001 - reported
                report.errors.append(f"deleting namespace {name}: {exc}")

    # 3. The agent's own files (kept on failure: they name what is left).
    if report.ok and os.path.isdir(state_dir):
        shutil.rmtree(state_dir, ignore_errors=True)
        report.state_removed = True
    for line in report.errors:
        LOG.warning("teardown of host %s: %s", host, line)
    return report


def describe(report: Report) -> str:
    lines = [f"host {report.host}: destroyed {len(report.destroyed)} instance(s)"
             + (f" ({', '.join(report.destroyed)})" if report.destroyed else ""),
             f"data plane: {', '.join(report.dataplane) or 'nothing to remove'}",
             f"namespaces deleted: {', '.join(report.namespaces) or 'none'}"]
    if report.killed:
        lines.append(f"leftover processes killed: {' '.join(map(str, report.killed))}")
    lines.append("agent state removed" if report.state_removed else "no agent state removed")
    lines += [f"ERROR: {e}" for e in report.errors]
    return "\n".join(lines)
