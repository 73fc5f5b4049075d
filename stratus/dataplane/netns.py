"""Network namespaces (``ip netns``); each function idempotent."""
from __future__ import annotations

import os

from stratus.dataplane.ip import ip, run

NETNS_DIR = "/var/run/netns"


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def list_all() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def ensure(name: str) -> bool:
    """Create namespace ``name`` with its loopback up; True if it was created."""
    created = False
    if not exists(name):
        run(["ip", "netns", "add", name])
        created = True
    ip(name, "link", "set", "lo", "up")
    return created


def delete(name: str) -> bool:
    """Remove namespace ``name`` (its links go with it); True if it existed."""
    if not exists(name):
        return False
    run(["ip", "netns", "delete", name])
    return True


def exec_argv(name: str, argv: list[str]) -> list[str]:
    """``argv`` run inside namespace ``name``."""
    return ["ip", "netns", "exec", name, *argv]
