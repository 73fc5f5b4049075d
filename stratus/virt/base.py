"""The hypervisor driver interface the host agent talks to.

A driver manages the VMs of one host: it boots them from an
:class:`InstanceSpec`, changes their power state and reports it.  Power states
are nova's integers, so the agent can report them to the API unchanged.  Every
method is synchronous and idempotent where the name allows it (``destroy`` of
an unknown instance, ``power_off`` of a stopped one are no-ops), because the
agent is level-triggered: it may repeat an action after a restart.
"""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any


class PowerState:
    """Nova's ``power_state`` values (nova/compute/power_state.py)."""
    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7

    NAMES = {0: "NOSTATE", 1: "RUNNING", 3: "PAUSED", 4: "SHUTDOWN",
             6: "CRASHED", 7: "SUSPENDED"}


class DriverError(Exception):
    """A hypervisor operation failed; the message is fit for an instance fault."""


class InstanceNotFound(DriverError):
    """The driver has no instance with this uuid on this host."""

    def __init__(self, uuid: str):
        super().__init__(f"Instance {uuid} could not be found on this host.")
        self.uuid = uuid


class InvalidState(DriverError):
    """The instance is not in a power state that allows the operation."""


@dataclass
class InstanceSpec:
    """Everything a driver needs to boot (or re-boot) one instance.

    ``image_path`` is a local file in the host's base image cache (the agent
    downloaded it); ``taps`` are ``{"port_id", "tap", "mac"}`` for tap devices
    the agent already created in ``netns``; ``config_drive`` holds the keyword
    arguments of :func:`stratus.virt.configdrive.make_config_drive` (without
    ``path``) or None for no config drive.
    """
    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    image_path: str
    image_format: str = "qcow2"
    taps: list[dict[str, str]] = field(default_factory=list)
    config_drive: dict[str, Any] | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)
    netns: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InstanceSpec":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class Driver(abc.ABC):
    """One host's hypervisor.  See docs/design/compute-contracts.md."""

    name: str = ""

    @abc.abstractmethod
    def init_host(self) -> None:
        """Prepare the host (directories, KVM probe); called once at agent start."""

    @abc.abstractmethod
    def host_info(self) -> dict[str, Any]:
        """``{"vcpus", "memory_mb", "local_gb", "hypervisor_type",
        "hypervisor_version", "cpu_info"}`` of this host."""

    @abc.abstractmethod
    def list_instances(self) -> dict[str, int]:
        """uuid -> power state of every instance this driver has on the host."""

    @abc.abstractmethod
    def spawn(self, spec: InstanceSpec) -> None:
        """Create the disk and config drive, then start the VM."""

    @abc.abstractmethod
    def destroy(self, uuid: str) -> None:
        """Stop the VM and remove everything it had on the host; idempotent."""

    @abc.abstractmethod
    def power_off(self, uuid: str, timeout: float | None = None) -> None:
        """Clean shutdown (ACPI), forced after ``timeout`` seconds; 0 forces at once."""

    @abc.abstractmethod
    def power_on(self, uuid: str) -> None:
        """Start a stopped VM again with the same disk."""

    @abc.abstractmethod
    def reboot(self, uuid: str, hard: bool = False) -> None:
        """Soft: clean guest shutdown then start (hard reset on timeout); hard: reset."""

    @abc.abstractmethod
    def pause(self, uuid: str) -> None:
        """Stop the vCPUs; memory stays in the host."""

    @abc.abstractmethod
    def unpause(self, uuid: str) -> None:
        """Continue a paused VM."""

    @abc.abstractmethod
    def suspend(self, uuid: str) -> None:
        """Save the VM's memory to disk and stop its process."""

    @abc.abstractmethod
    def resume(self, uuid: str) -> None:
        """Restore a suspended VM from its saved state."""

    @abc.abstractmethod
    def console_output(self, uuid: str, length: int | None = None) -> str:
        """The serial console log, or its last ``length`` lines."""

    @abc.abstractmethod
    def snapshot(self, uuid: str, out_path: str) -> None:
        """Write a standalone qcow2 of the instance's current root disk."""

    @abc.abstractmethod
    def rebuild(self, spec: InstanceSpec) -> None:
        """Replace the root disk with a fresh one from ``spec.image_path`` and boot it."""


def tail_lines(text: str, length: int | None) -> str:
    """The last ``length`` lines of ``text`` (all of it when length is None)."""
    if length is None:
        return text
    if length <= 0:
        return ""
    lines = text.splitlines(keepends=True)
    return "".join(lines[-length:])
