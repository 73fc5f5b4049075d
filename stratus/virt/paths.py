"""Where a host keeps its instances on disk.

Every host has its own tree, so the several hosts of a lab can share one
machine: ``<state_path>/hosts/<host>/instances`` unless ``[compute]
instances_path`` is set.  One directory per instance holds its disk, config
drive, serial console log, QMP socket, pidfile and launch spec; the compute
API reads :func:`console_log` directly.
"""
from __future__ import annotations

import os
import re

_UUID = re.compile(r"^[0-9a-fA-F-]{8,64}$")

DISK = "disk"
CONFIG_DRIVE = "disk.config"
CONSOLE_LOG = "console.log"
QMP_SOCKET = "qmp.sock"
PIDFILE = "qemu.pid"
LAUNCH_SPEC = "launch.json"
SAVED_STATE = "saved-state"


def instances_path(conf, host: str) -> str:
    explicit = conf.compute.instances_path
    if explicit:
        return os.path.abspath(explicit)
    return os.path.join(conf.state_path, "hosts", host, "instances")


def instance_dir(conf, host: str, uuid: str) -> str:
    if not _UUID.match(uuid):
        raise ValueError(f"not an instance uuid: {uuid!r}")
    return os.path.join(instances_path(conf, host), uuid)


def console_log(conf, host: str, uuid: str) -> str:
    return os.path.join(instance_dir(conf, host, uuid), CONSOLE_LOG)


def base_images_path(conf, host: str) -> str:
    explicit = conf.qemu.base_images_path
    if explicit:
        return os.path.abspath(explicit)
    return os.path.join(instances_path(conf, host), "_base")


def is_instance_dir_name(name: str) -> bool:
    """True for a directory name under instances_path that may be an instance
    (``_base`` and other helpers never match)."""
    return bool(_UUID.match(name))
