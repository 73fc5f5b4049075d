"""Hypervisor drivers.  See docs/design/compute-contracts.md.

``load_driver(conf, host)`` returns the driver ``[compute] compute_driver``
names: ``qemu`` (real VMs) or ``fake`` (no processes; scale simulation only).
"""
from __future__ import annotations

import os

from stratus.virt import paths
from stratus.virt.base import Driver, DriverError, InstanceNotFound, InstanceSpec, PowerState

DRIVERS = ("qemu", "fake")


def load_driver(conf, host: str) -> Driver:
    name = conf.compute.compute_driver
    if name == "qemu":
        from stratus.virt.qemu.driver import QemuDriver
        return QemuDriver(conf, host)
    if name == "fake":
        from stratus.virt.fake.driver import FakeDriver
        return FakeDriver(
            host,
            host_info={"vcpus": conf.compute.fake_host_vcpus,
                       "memory_mb": conf.compute.fake_host_memory_mb,
                       "local_gb": conf.compute.fake_host_local_gb},
            state_file=os.path.join(paths.instances_path(conf, host), "fake-instances.json"))
    raise DriverError(f"unknown [compute] compute_driver {name!r}; choose one of {', '.join(DRIVERS)}")


__all__ = ["Driver", "DriverError", "InstanceNotFound", "InstanceSpec", "PowerState",
           "load_driver", "DRIVERS"]
