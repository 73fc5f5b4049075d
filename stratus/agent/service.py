"""The host agent's main loop.

Registers the host, heartbeats every ``[compute] report_interval``, polls its
desired state every ``agent_poll_interval`` (``since=<revision>``: cheap when
nothing changed), reconciles fully every ``resync_interval``, and also
whenever the driver's power states moved (a VM that died on its own is
reported SHUTOFF).  A restart re-reads desired and actual state and applies
only the difference: running VMs are re-adopted, never restarted.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import time

import httpx

from stratus.agent.client import Client
from stratus.agent.compute import Reconciler
from stratus.agent.images import ImageCache
from stratus.agent.network import HostNetwork
from stratus.agent.seqstore import SeqStore

LOG = logging.getLogger(__name__)


def host_name(conf) -> str:
    return conf.compute.host or socket.gethostname()


def agent_state_dir(conf, host: str) -> str:
    return conf.agent.state_dir or os.path.join(conf.state_path, "hosts", host, "agent")


def auth_of(conf) -> dict:
    """The agent's credentials: ``[agent]``, the password defaulting to the
    admin password of ``<state_path>/credentials.json`` (all-in-one clouds)."""
    password = conf.agent.password
    if not password:
        path = os.path.join(conf.state_path, "credentials.json")
        with open(path) as f:
            password = json.load(f)[conf.agent.username]
    return {"auth_url": conf.agent.auth_url,  # empty: <endpoint>/identity/v3
            "username": conf.agent.username, "password": password,
            "project_name": conf.agent.project_name,
            "user_domain_name": conf.agent.user_domain_name,
            "project_domain_name": conf.agent.project_domain_name}


def host_config(conf) -> dict:
    c = conf.compute
    out = {k: getattr(c, k) for k in (
        "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio",
        "reserved_host_memory_mb", "reserved_host_disk_mb", "reserved_host_cpus")}
    out["cell"] = getattr(c, "cell", "") or "cell1"    # two-level placement
    return out


def advertised(conf, host_info: dict) -> dict:
    """``{"ecu", "bandwidth_mbps"}`` this host offers the scheduler: ``[compute]
    ecu``, else ``ecu_per_cpu`` x its CPUs (rounded down); ``bandwidth_mbps``."""
    c = conf.compute
    ecu = int(c.ecu) or int(float(c.ecu_per_cpu) * int(host_info.get("vcpus") or 0))
    return {"ecu": max(0, ecu), "bandwidth_mbps": max(0, int(c.bandwidth_mbps))}


def supported_instances(host_info: dict) -> list:
    """[arch, hv_type, vm_mode] triples for ImagePropertiesFilter."""
    from stratus.scheduler import image_props
    return image_props.supported_instances(host_info)


class Agent:
    """One host's agent; ``run()`` blocks until ``stop()``."""

    def __init__(self, conf, host: str | None = None, endpoint: str | None = None,
                 driver=None, client: Client | None = None):
        from stratus.virt import load_driver, paths
        self.conf = conf
        self.host = host or host_name(conf)
        self.client = client or Client(endpoint or conf.public_endpoint, auth_of(conf))
        self.driver = driver or load_driver(conf, self.host)
        state_dir = agent_state_dir(conf, self.host)
        self.reconciler = Reconciler(
            host=self.host, client=self.client, driver=self.driver,
            images=ImageCache(self.client, paths.base_images_path(conf, self.host)),
            network=HostNetwork(self.host, os.path.join(state_dir, "network"),
                                enabled=self.driver.name != "fake",
                                lease_seconds=conf.network.dhcp_lease_duration,
                                external_namespace=conf.network.external_namespace,
                                vxlan_port=conf.vxlan.udp_dstport,
                                arp_responder=conf.vxlan.arp_responder,
                                metadata_socket=_metadata_socket(conf),
                                physical_interface_mappings=(
                                    conf.linux_bridge.physical_interface_mappings)),
            seqs=SeqStore(os.path.join(state_dir, "action_seq.json")),
            running_deleted_instance_action=conf.compute.running_deleted_instance_action,
            resume_guests_state_on_host_boot=conf.compute.resume_guests_state_on_host_boot,
            work_dir=os.path.join(state_dir, "snapshots"),
            force_config_drive=conf.compute.force_config_drive)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0   # reconcile passes done (for tests and the log)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"agent-{self.host}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()

    def register(self) -> dict:
        info = self.driver.host_info()
        return self.client.register(self.host, info,
                                    {**host_config(self.conf), **advertised(self.conf, info)},
                                    host_ip=_host_ip(),
                                    tunnel_ip=self.conf.vxlan.local_ip or None,
                                    stats={"compute_driver": self.driver.name,
                                           "uptime": host_uptime(),
                                           "supported_instances": supported_instances(info)})

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.driver.init_host()
        except Exception:
            LOG.exception("host agent %s: the %s driver cannot run here; agent stopped",
                          self.host, self.driver.name)
            return
        delay = 0.1     # an agent started beside its API registers once it listens
        while not self._stop.is_set():
            try:
                self.register()
                break
            except Exception as exc:
                LOG.warning("host %s: registration failed (%s); retrying in %.1f s",
                            self.host, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)
        if self._stop.is_set():
            return
        LOG.info("host agent %s registered (driver %s)", self.host, self.driver.name)
        self._last_beat = time.monotonic()
        self._last_full = self._last_unknown = float("-inf")
        self._revision, self._state, self._seen, self._host_boot = None, None, None, True
        while not self._stop.is_set():
            delay = self.conf.compute.agent_poll_interval
            try:
                delay = self.poll_once(time.monotonic())
            except httpx.TransportError as exc:   # the API is restarting or unreachable
                LOG.warning("host agent %s: control plane unreachable: %s", self.host, exc)
            except Exception:
                LOG.exception("host agent %s: pass failed", self.host)
            self._stop.wait(delay)

    def poll_once(self, now: float) -> float:
        """Heartbeat if due, poll the desired state, reconcile when it, the
        driver's power states or the resync timer say so; returns the delay
        until the next poll."""
        c = self.conf.compute
        if now - self._last_beat >= c.report_interval:
            self.register()
            self._last_beat = now
        full = now - self._last_full >= c.resync_interval
        answer = self.client.state(self.host, None if full else self._revision)
        if answer["changed"]:
            self._state, self._revision = answer, answer["revision"]
        observed = self.driver.list_instances()
        if not (answer["changed"] or full or observed != self._seen):
            return c.agent_poll_interval
        check_unknown = self._host_boot or \
            now - self._last_unknown >= c.running_deleted_instance_poll_interval
        actions = self.reconciler.reconcile(self._state, host_boot=self._host_boot,
                                            check_unknown=check_unknown)
        self.passes += 1
        self._host_boot = False
        if check_unknown:
            self._last_unknown = now
        if full:
            self._last_full = now
        self._seen = observed
        if actions:  # what we did changed rows and VMs: look again soon, in full
            self._seen, self._revision = None, None
            return 0.1
        return c.agent_poll_interval


def _metadata_socket(conf) -> str | None:
    """The metadata service's unix socket the host proxies forward to."""
    if not conf.metadata.enabled:
        return None
    from stratus.metadata.server import socket_path
    return socket_path(conf)


def _host_ip() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))   # no packet is sent; picks the source address
            return s.getsockname()[0]
    except OSError:
        return None


def format_uptime(clock: str, seconds: float, users: int, loads: tuple) -> str:
    """The ``uptime`` command's line (procps), from its parts (pure)."""
    minutes = int(seconds) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    up = f"{days} day{'s' if days != 1 else ''}, " if days else ""
    up += f"{hours:2d}:{mins:02d}" if hours else f"{mins} min"
    return (f" {clock} up {up},  {users} user{'s' if users != 1 else ''},  "
            f"load average: {loads[0]:.2f}, {loads[1]:.2f}, {loads[2]:.2f}")


def host_uptime() -> str | None:
    """What ``os-hypervisors/{id}/uptime`` shows: ``env LANG=C uptime``, as
    nova's libvirt driver runs it; built from /proc if there is no ``uptime``."""
    try:
        cp = subprocess.run(["env", "LANG=C", "LC_ALL=C", "uptime"], capture_output=True,
                            text=True, timeout=5)
        if cp.returncode == 0 and cp.stdout.strip():
            return cp.stdout.rstrip("\n")
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/uptime") as f:
            seconds = float(f.read().split()[0])
        loads = os.getloadavg()
    except (OSError, ValueError, IndexError):
        return None
    return format_uptime(time.strftime("%H:%M:%S"), seconds, 0, loads)
