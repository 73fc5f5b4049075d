"""The host agent's reconcile plan: a PURE function.

``plan(desired, observed, done_seq, options)`` compares what the control plane
wants (the instances assigned to this host, as the agent API lists them), what
the hypervisor driver really runs (``uuid -> power_state``) and the last
``action_seq`` the agent executed per instance, and returns the actions that
converge the host.  It performs nothing; :mod:`stratus.agent.compute` executes
the actions.  Because the plan only looks at levels (states), running it again
after a crash or restart yields exactly the remaining difference.

Target of an instance: the ``task_state`` names the transition in progress
(``powering-off`` -> stopped, ``rebooting`` -> active, ...); without one the
``vm_state`` is the target.  One-shot user actions that do not change the
target (reboot, rebuild, snapshot) are executed once per ``action_seq``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7

# The vm_state a transition ends in.
TASK_TARGET = {
    "spawning": "active", "scheduling": "active", "block_device_mapping": "active",
    "networking": "active",
    "powering-off": "stopped", "powering-on": "active",
    "rebooting": "active", "rebooting_hard": "active", "reboot_pending": "active",
    "reboot_started": "active", "reboot_pending_hard": "active", "reboot_started_hard": "active",
    "pausing": "paused", "unpausing": "active",
    "suspending": "suspended", "resuming": "active",
}
REBOOT_TASKS = {"rebooting", "reboot_pending", "reboot_started"}
HARD_REBOOT_TASKS = {"rebooting_hard", "reboot_pending_hard", "reboot_started_hard"}
REBUILD_TASKS = {"rebuilding", "rebuild_spawning", "rebuild_block_device_mapping"}
SNAPSHOT_TASKS = {"image_snapshot", "image_snapshot_pending", "image_pending_upload",
                  "image_uploading"}
# vm_states the agent drives a VM to, with the power state each means.
TARGET_POWER = {"active": RUNNING, "stopped": SHUTDOWN, "paused": PAUSED,
                "suspended": SUSPENDED}
UNKNOWN_ACTIONS = ("noop", "log", "shutdown", "reap")
ALIVE = (RUNNING, PAUSED, SUSPENDED)


@dataclass(frozen=True)
class Options:
    running_deleted_instance_action: str = "reap"
    resume_guests_state_on_host_boot: bool = False
    host_boot: bool = False        # first pass after the agent started
    check_unknown: bool = True     # look at VMs the desired state does not list


@dataclass(frozen=True)
class Action:
    """``kind`` is a driver operation (spawn, destroy, power_off, power_on,
    reboot, pause, unpause, suspend, resume, rebuild, snapshot), ``report``
    (only tell the API), ``delete`` (destroy + tell the API the instance is
    gone), ``log_unknown``/``shutdown_unknown``/``reap_unknown`` for VMs the
    control plane does not know.  ``report`` holds the status body to POST
    after the driver call succeeded (None: nothing to report)."""
    kind: str
    uuid: str
    hard: bool = False
    seq: int | None = None            # action_seq to remember once executed
    report: dict[str, Any] | None = field(default=None)


def _status(inst: dict, vm_state: str | None, power: int, *, event: str | None = None
            ) -> dict[str, Any]:
    body: dict[str, Any] = {"power_state": power, "task_state": None,
                            "expected_task_state": inst.get("task_state")}
    if vm_state is not None:
        body["vm_state"] = vm_state
    if event:
        body["event"] = {"action": event, "result": "Success"}
    return body


def target_of(inst: dict) -> str:
    task = inst.get("task_state") or ""
    if task in REBUILD_TASKS:  # a stopped server stays stopped after its rebuild
        return "stopped" if inst["vm_state"] == "stopped" else "active"
    return TASK_TARGET.get(task, inst["vm_state"])


def plan_instance(inst: dict, power: int | None, done: int | None, opts: Options
                  ) -> list[Action]:
    """Actions for one instance the control plane assigns to this host;
    ``power`` is the driver's power state (None: the driver has no such VM)."""
    uuid, task, vm = inst["uuid"], inst.get("task_state"), inst["vm_state"]
    seq = int(inst.get("action_seq") or 0)
    fresh = done is None or seq > done
    if task == "deleting" or vm in ("deleted", "soft-delete"):
        return [Action("delete", uuid)]
    if vm == "error" or vm not in TARGET_POWER and vm != "building":
        return []  # nothing to converge (error, shelved, rescued: not driven here)
    if vm == "building" or task in ("spawning", "scheduling"):
        if power is None:
            return [Action("spawn", uuid, seq=seq,
                           report=_status(inst, "active", RUNNING, event="spawn"))]
        # Spawned before a crash or a lost report: just say so.
        return [Action("report", uuid, seq=seq,
                       report=_status(inst, "active", RUNNING, event="spawn"))]
    target = target_of(inst)
    # One-shot actions run once per action_seq; once done (a restarted agent,
    # a lost report) only the power state is converged and the task cleared.
    if task in SNAPSHOT_TASKS and fresh and power is not None:
        return [Action("snapshot", uuid, seq=seq,
                       report=_status(inst, None, power, event="snapshot"))]
    if task in SNAPSHOT_TASKS and fresh:   # nothing left to snapshot
        return [Action("report", uuid, report=_status(inst, None, NOSTATE))]
    if task in REBUILD_TASKS and fresh:
        if target == "stopped":
            return [Action("rebuild", uuid, seq=seq),
                    Action("power_off", uuid, report=_status(inst, "stopped", SHUTDOWN,
                                                             event="rebuild"))]
        return [Action("rebuild", uuid, seq=seq,
                       report=_status(inst, "active", RUNNING, event="rebuild"))]
    if task in REBOOT_TASKS | HARD_REBOOT_TASKS and fresh:
        if power is None:  # nothing to reboot; hard reboot recreates it
            return [Action("spawn", uuid, seq=seq,
                           report=_status(inst, "active", RUNNING, event="reboot"))]
        hard = task in HARD_REBOOT_TASKS or power != RUNNING
        return [Action("reboot", uuid, hard=hard, seq=seq,
                       report=_status(inst, "active", RUNNING, event="reboot"))]
    return _converge_power(inst, power, target, opts)


def _pw(power: int | None) -> int:
    return NOSTATE if power is None else power


def _converge_power(inst: dict, power: int | None, target: str, opts: Options
                    ) -> list[Action]:
    uuid, task = inst["uuid"], inst.get("task_state")
    want = TARGET_POWER[target]
    dead = power in (None, SHUTDOWN, CRASHED, NOSTATE)
    if power == want:
        if task is not None or inst.get("vm_state") != target \
                or inst.get("power_state") != power:
            return [Action("report", uuid, report=_status(inst, target, power))]
        return []
    if dead:
        if target == "stopped":  # any dead VM is SHUTOFF: power_state SHUTDOWN
            if task is not None or inst.get("vm_state") != target \
                    or inst.get("power_state") != SHUTDOWN:
                return [Action("report", uuid, report=_status(inst, target, SHUTDOWN))]
            return []
        # The VM should be alive but is not.
        if task in ("powering-on",) or (opts.host_boot and opts.resume_guests_state_on_host_boot
                                        and inst.get("vm_state") in ("active", "paused",
                                                                      "suspended")):
            kind = "spawn" if power is None else "power_on"
            return [Action(kind, uuid, report=_status(inst, "active", RUNNING,
                                                      event="start"))]
        # Died on its own (or the host rebooted without resume): SHUTOFF.
        if inst.get("vm_state") == "stopped" and task is None \
                and inst.get("power_state") == SHUTDOWN:
            return []
        return [Action("report", uuid, report=_status(inst, "stopped", SHUTDOWN))]
    # Alive in another state than wanted.
    if target == "stopped":
        return [Action("power_off", uuid, report=_status(inst, "stopped", SHUTDOWN,
                                                         event="stop"))]
    if target == "active":
        kind = {PAUSED: "unpause", SUSPENDED: "resume"}[power]
        return [Action(kind, uuid, report=_status(inst, "active", RUNNING, event=kind))]
    if target == "paused":
        if power == SUSPENDED:  # resume first, pause on the next pass
            return [Action("resume", uuid)]
        return [Action("pause", uuid, report=_status(inst, "paused", PAUSED, event="pause"))]
    # target suspended
    return [Action("suspend", uuid, report=_status(inst, "suspended", SUSPENDED,
                                                   event="suspend"))]


def plan_unknown(uuid: str, power: int, opts: Options, live_elsewhere: bool = False
                 ) -> list[Action]:
    """A VM the driver runs that the control plane does not assign to us;
    ``live_elsewhere``: its instance is live (another host, or unscheduled), so
    it is only logged, never shut down or reaped."""
    how = opts.running_deleted_instance_action
    if not opts.check_unknown or how == "noop":
        return []
    if live_elsewhere:
        return [Action("log_unknown", uuid)]
    if how == "log":
        return [Action("log_unknown", uuid)]
    if how == "shutdown":
        return [Action("shutdown_unknown", uuid)] if power in ALIVE else []
    return [Action("reap_unknown", uuid)]


def plan(desired: list[dict], observed: dict[str, int], done_seq: dict[str, int],
         opts: Options = Options(), live_elsewhere: frozenset[str] = frozenset()
         ) -> list[Action]:
    """All actions for this host, deletes first (they free resources).
    ``live_elsewhere``: VMs not assigned here whose instances are still live."""
    if opts.running_deleted_instance_action not in UNKNOWN_ACTIONS:
        raise ValueError(f"running_deleted_instance_action must be one of {UNKNOWN_ACTIONS}")
    actions: list[Action] = []
    known = set()
    for inst in sorted(desired, key=lambda i: i["uuid"]):
        known.add(inst["uuid"])
        actions += plan_instance(inst, observed.get(inst["uuid"]),
                                 done_seq.get(inst["uuid"]), opts)
    for uuid in sorted(set(observed) - known):
        actions += plan_unknown(uuid, observed[uuid], opts, uuid in live_elsewhere)
    first = ("delete", "reap_unknown", "shutdown_unknown")
    return sorted(actions, key=lambda a: 0 if a.kind in first else 1)
