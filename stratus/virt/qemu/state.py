"""Power state of a QEMU instance from what the host shows (pure)."""
from __future__ import annotations

from stratus.virt.base import PowerState

# QMP RunState -> nova power state, for a live QEMU process.
RUNSTATE_POWER = {
    "running": PowerState.RUNNING,
    "paused": PowerState.PAUSED,
    "suspended": PowerState.PAUSED,        # guest ACPI S3: vCPUs stopped, memory kept
    "debug": PowerState.PAUSED,
    "io-error": PowerState.PAUSED,
    "watchdog": PowerState.PAUSED,
    "shutdown": PowerState.SHUTDOWN,       # guest powered off under -no-shutdown
    "guest-panicked": PowerState.CRASHED,
    "internal-error": PowerState.CRASHED,
    # migration to a state file (suspend) or from one (resume) in progress
    "finish-migrate": PowerState.PAUSED,
    "postmigrate": PowerState.SUSPENDED,
    "inmigrate": PowerState.NOSTATE,
    "prelaunch": PowerState.NOSTATE,
    "restore-vm": PowerState.NOSTATE,
    "save-vm": PowerState.PAUSED,
}


def power_state(process_alive: bool, qmp_status: str | None, saved_state: bool) -> int:
    """Nova power state of one instance.

    ``process_alive``: its QEMU runs (pidfile pid alive with the right uuid);
    ``qmp_status``: QMP ``query-status`` answer, None when QMP did not answer;
    ``saved_state``: a complete suspend file exists.  A QEMU that died on its
    own (killed, crashed, guest powered off) is SHUTDOWN, as in nova.
    """
    if not process_alive:
        return PowerState.SUSPENDED if saved_state else PowerState.SHUTDOWN
    if qmp_status is None:
        return PowerState.NOSTATE
    return RUNSTATE_POWER.get(qmp_status, PowerState.NOSTATE)
