"""Server states as Nova names them, and the API ``status`` derived from them.

``vm_state`` is what the server is meant to be, ``task_state`` a transition in
progress, ``power_state`` what the hypervisor last reported.  ``status()`` is
Nova's ``nova.api.openstack.common.status_from_state`` table; ``status_filter()``
inverts it for ``GET /servers?status=...``.
"""
from __future__ import annotations

# vm_state
BUILDING, ACTIVE, STOPPED, PAUSED, SUSPENDED = "building", "active", "stopped", "paused", "suspended"
RESCUED, ERROR, DELETED, SOFT_DELETED = "rescued", "error", "deleted", "soft-delete"
SHELVED, SHELVED_OFFLOADED, RESIZED = "shelved", "shelved_offloaded", "resized"
VM_STATES = (BUILDING, ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, ERROR, DELETED,
             SOFT_DELETED, SHELVED, SHELVED_OFFLOADED, RESIZED)

# task_state
SCHEDULING, SPAWNING = "scheduling", "spawning"
POWERING_OFF, POWERING_ON = "powering-off", "powering-on"
REBOOTING, REBOOTING_HARD, REBOOT_PENDING = "rebooting", "rebooting_hard", "reboot_pending"
PAUSING, UNPAUSING, SUSPENDING, RESUMING = "pausing", "unpausing", "suspending", "resuming"
REBUILDING, REBUILD_SPAWNING = "rebuilding", "rebuild_spawning"
IMAGE_SNAPSHOT, IMAGE_UPLOADING = "image_snapshot", "image_uploading"
DELETING = "deleting"
TASK_STATES = (SCHEDULING, SPAWNING, POWERING_OFF, POWERING_ON, REBOOTING, REBOOTING_HARD,
               REBOOT_PENDING, PAUSING, UNPAUSING, SUSPENDING, RESUMING, REBUILDING,
               REBUILD_SPAWNING, IMAGE_SNAPSHOT, IMAGE_UPLOADING, DELETING)

# power_state (integers on the wire)
NOSTATE, RUNNING, PAUSED_POWER, SHUTDOWN, CRASHED, SUSPENDED_POWER = 0, 1, 3, 4, 6, 7
POWER_STATES = {NOSTATE: "pending", RUNNING: "running", PAUSED_POWER: "paused",
                SHUTDOWN: "shutdown", CRASHED: "crashed", SUSPENDED_POWER: "suspended"}

DEFAULT = "default"
# The API records the *target* vm_state when it accepts an action and the
# agent clears the task when the hypervisor is there.  Nova keeps the source
# state until then, so while one of these transitions runs the server is
# shown in its source state (``server stop`` shows ACTIVE/powering-off, not
# SHUTOFF, until the VM is really off: a client waiting for SHUTOFF waits).
SOURCE_STATE: dict[tuple[str, str], str] = {
    (STOPPED, POWERING_OFF): ACTIVE, (ACTIVE, POWERING_ON): STOPPED,
    (PAUSED, PAUSING): ACTIVE, (ACTIVE, UNPAUSING): PAUSED,
    (SUSPENDED, SUSPENDING): ACTIVE, (ACTIVE, RESUMING): SUSPENDED,
}
_STATE_MAP: dict[str, dict[str | None, str]] = {
    ACTIVE: {DEFAULT: "ACTIVE", POWERING_ON: "SHUTOFF", UNPAUSING: "PAUSED",
             RESUMING: "SUSPENDED",
             REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT",
             REBOOTING_HARD: "HARD_REBOOT",
             REBUILDING: "REBUILD", REBUILD_SPAWNING: "REBUILD"},
    BUILDING: {DEFAULT: "BUILD"},
    STOPPED: {DEFAULT: "SHUTOFF", POWERING_OFF: "ACTIVE", REBUILDING: "REBUILD", REBUILD_SPAWNING: "REBUILD"},
    RESIZED: {DEFAULT: "VERIFY_RESIZE"},
    PAUSED: {DEFAULT: "PAUSED", PAUSING: "ACTIVE"},
    SUSPENDED: {DEFAULT: "SUSPENDED", SUSPENDING: "ACTIVE"},
    RESCUED: {DEFAULT: "RESCUE"},
    ERROR: {DEFAULT: "ERROR", REBUILDING: "REBUILD", REBUILD_SPAWNING: "REBUILD"},
    DELETED: {DEFAULT: "DELETED"},
    SOFT_DELETED: {DEFAULT: "SOFT_DELETED"},
    SHELVED: {DEFAULT: "SHELVED"},
    SHELVED_OFFLOADED: {DEFAULT: "SHELVED_OFFLOADED"},
}

# Statuses for which Nova shows ``progress``.
PROGRESS_STATUSES = frozenset({"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
                               "MIGRATING"})


def status(vm_state: str | None, task_state: str | None) -> str:
    """The API ``status`` of a server (``UNKNOWN`` for an unknown vm_state)."""
    task_map = _STATE_MAP.get(vm_state or "")
    if task_map is None:
        return "UNKNOWN"
    return task_map.get(task_state, task_map[DEFAULT])


def shown_vm_state(vm_state: str | None, task_state: str | None) -> str | None:
    """``OS-EXT-STS:vm_state`` as Nova shows it (the source state during a
    transition, see SOURCE_STATE)."""
    return SOURCE_STATE.get((vm_state or "", task_state or ""), vm_state)


def status_filter(statuses: list[str]) -> list[tuple[str, set[str] | None, set[str]]]:
    """Inverse of :func:`status` for list filters.

    Returns ``(vm_state, tasks, excluded)`` triples: a server matches one when
    its vm_state is ``vm_state`` and either ``tasks`` is None and its
    task_state is not in ``excluded`` (the vm_state's default status), or its
    task_state is in ``tasks``.  An empty list means nothing can match.
    """
    wanted = {s.upper() for s in statuses}
    out: list[tuple[str, set[str] | None, set[str]]] = []
    for vm_state, task_map in _STATE_MAP.items():
        special = {t for t in task_map if t != DEFAULT}
        if task_map[DEFAULT] in wanted:
            out.append((vm_state, None, {t for t in special if task_map[t] not in wanted}))
        tasks = {t for t in special if task_map[t] in wanted}
        if tasks and task_map[DEFAULT] not in wanted:
            out.append((vm_state, tasks, set()))
    return out
