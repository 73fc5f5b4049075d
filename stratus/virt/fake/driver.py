"""Fake hypervisor driver — FOR SCALE SIMULATION ONLY.

It starts no process and boots nothing: instances are entries in memory
(optionally mirrored to a JSON file, so a restarted agent re-adopts them the
way the QEMU driver re-adopts running VMs).  Power-state transitions follow
the QEMU driver's rules, so the agent and API can be exercised with thousands
of "servers" on one machine.  ``host_info`` reports whatever it is given
(``[compute] fake_host_*`` through :func:`stratus.virt.load_driver`).
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time

from stratus.virt.base import (Driver, InstanceNotFound, InstanceSpec, InvalidState,
                               PowerState, tail_lines)

DEFAULT_HOST_INFO = {
    "vcpus": 64, "memory_mb": 262144, "local_gb": 4096,
    "hypervisor_type": "fake", "hypervisor_version": 1000,
    "cpu_info": {"arch": "x86_64", "vendor": "fake", "model": "fake",
                 "features": [], "topology": {"sockets": 1, "cores": 64, "threads": 1}},
}
MAX_CONSOLE_LINES = 200


class FakeDriver(Driver):
    """In-memory instances; see the module docstring (scale simulation only)."""
    name = "fake"

    def __init__(self, host: str = "fake-host", host_info: dict | None = None,
                 state_file: str | None = None):
        self.host = host
        self._host_info = {**DEFAULT_HOST_INFO, **(host_info or {})}
        self.state_file = state_file
        self._lock = threading.RLock()
        self._instances: dict[str, dict] = {}
        self._load()

    # -- persistence -----------------------------------------------------------
    def _load(self) -> None:
        if not self.state_file or not os.path.exists(self.state_file):
            return
        with open(self.state_file) as f:
            self._instances = json.load(f)

    def _save(self) -> None:
        if not self.state_file:
            return
        os.makedirs(os.path.dirname(self.state_file) or ".", exist_ok=True)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self._instances, f)
        os.replace(tmp, self.state_file)

    def _get(self, uuid: str) -> dict:
        try:
            return self._instances[uuid]
        except KeyError:
            raise InstanceNotFound(uuid) from None

    def _set(self, inst: dict, power_state: int, event: str) -> None:
        inst["power_state"] = power_state
        inst["console"] = (inst["console"] + [
            f"[{time.strftime('%H:%M:%S')}] fake-driver {inst['spec']['uuid']}: {event}"
        ])[-MAX_CONSOLE_LINES:]
        self._save()

    def _expect(self, inst: dict, *allowed: int) -> None:
        if inst["power_state"] not in allowed:
            raise InvalidState(f"Instance {inst['spec']['uuid']} is "
                               f"{PowerState.NAMES[inst['power_state']]}.")

    # -- interface ---------------------------------------------------------------
    def init_host(self) -> None:
        return None

    def host_info(self) -> dict:
        return dict(self._host_info)

    def list_instances(self) -> dict[str, int]:
        with self._lock:
            return {u: i["power_state"] for u, i in self._instances.items()}

    def spawn(self, spec: InstanceSpec) -> None:
        with self._lock:
            if spec.uuid in self._instances:
                inst = self._instances[spec.uuid]
                if inst["power_state"] == PowerState.RUNNING:
                    return
            inst = self._instances.setdefault(
                spec.uuid, {"spec": spec.to_dict(), "power_state": PowerState.NOSTATE,
                            "console": []})
            self._set(inst, PowerState.RUNNING, f"spawned {spec.name} "
                      f"({spec.vcpus} vCPU, {spec.memory_mb} MB, {len(spec.taps)} NIC)")

    def destroy(self, uuid: str) -> None:
        with self._lock:
            if self._instances.pop(uuid, None) is not None:
                self._save()

    def power_off(self, uuid: str, timeout: float | None = None) -> None:
        with self._lock:
            inst = self._get(uuid)
            if inst["power_state"] != PowerState.SHUTDOWN:
                self._set(inst, PowerState.SHUTDOWN, "powered off")

    def power_on(self, uuid: str) -> None:
        with self._lock:
            inst = self._get(uuid)
            if inst["power_state"] in (PowerState.SHUTDOWN, PowerState.SUSPENDED,
                                       PowerState.CRASHED, PowerState.NOSTATE):
                self._set(inst, PowerState.RUNNING, "powered on")

    def reboot(self, uuid: str, hard: bool = False) -> None:
        with self._lock:
            inst = self._get(uuid)
            self._set(inst, PowerState.RUNNING, "hard rebooted" if hard else "rebooted")

    def pause(self, uuid: str) -> None:
        with self._lock:
            inst = self._get(uuid)
            self._expect(inst, PowerState.RUNNING, PowerState.PAUSED)
            self._set(inst, PowerState.PAUSED, "paused")

    def unpause(self, uuid: str) -> None:
        with self._lock:
            inst = self._get(uuid)
            self._expect(inst, PowerState.RUNNING, PowerState.PAUSED)
            self._set(inst, PowerState.RUNNING, "unpaused")

    def suspend(self, uuid: str) -> None:
        with self._lock:
            inst = self._get(uuid)
            self._expect(inst, PowerState.RUNNING, PowerState.PAUSED, PowerState.SUSPENDED)
            self._set(inst, PowerState.SUSPENDED, "suspended")

    def resume(self, uuid: str) -> None:
        with self._lock:
            inst = self._get(uuid)
            self._expect(inst, PowerState.SUSPENDED, PowerState.RUNNING)
            self._set(inst, PowerState.RUNNING, "resumed")

    def console_output(self, uuid: str, length: int | None = None) -> str:
        with self._lock:
            lines = self._get(uuid)["console"]
            return tail_lines("".join(line + "\n" for line in lines), length)

    def snapshot(self, uuid: str, out_path: str) -> None:
        """Copies the base image the instance was spawned from (no disk is simulated)."""
        with self._lock:
            image = self._get(uuid)["spec"]["image_path"]
        if image and os.path.exists(image):
            shutil.copyfile(image, out_path)
        else:
            open(out_path, "wb").close()

    def rebuild(self, spec: InstanceSpec) -> None:
        with self._lock:
            inst = self._get(spec.uuid)
            inst["spec"] = spec.to_dict()
            self._set(inst, PowerState.RUNNING, f"rebuilt from {spec.image_path}")
