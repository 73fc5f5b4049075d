"""The host agent's pure reconcile plan (stratus/agent/plan.py)."""
from __future__ import annotations

import itertools

import pytest

from stratus.agent.plan import (CRASHED, NOSTATE, PAUSED, RUNNING, SHUTDOWN, SUSPENDED, Action,
                                Options, plan, plan_instance, target_of)

U = "11111111-2222-3333-4444-555555555555"
ALL_POWER = [None, NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED]


def inst(vm="active", task=None, power=RUNNING, seq=0, uuid=U):
    return {"uuid": uuid, "vm_state": vm, "task_state": task, "power_state": power,
            "action_seq": seq}


def one(i, power, done=None, **opts):
    return plan_instance(i, power, done, Options(**opts))


def kinds(actions):
    return [a.kind for a in actions]


# -- build ----------------------------------------------------------------------
@pytest.mark.parametrize("vm,task", [("building", "spawning"), ("building", None),
                                     ("building", "scheduling")])
def test_build_spawns_when_the_driver_has_no_vm(vm, task):
    [a] = one(inst(vm, task, NOSTATE, seq=2), None)
    assert a.kind == "spawn" and a.seq == 2
    assert a.report == {"power_state": RUNNING, "task_state": None, "vm_state": "active",
                        "expected_task_state": task,
                        "event": {"action": "spawn", "result": "Success"}}


@pytest.mark.parametrize("power", [RUNNING, PAUSED, SHUTDOWN])
def test_build_already_spawned_only_reports(power):
    [a] = one(inst("building", "spawning", NOSTATE), power)
    assert a.kind == "report" and a.report["vm_state"] == "active"
    assert a.report["expected_task_state"] == "spawning"


# -- stop / start -----------------------------------------------------------------
@pytest.mark.parametrize("vm", ["active", "stopped"])  # either API convention for the target
@pytest.mark.parametrize("power", [RUNNING, PAUSED, SUSPENDED])
def test_stop_powers_off_a_live_vm(vm, power):
    [a] = one(inst(vm, "powering-off"), power)
    assert a.kind == "power_off"
    assert a.report["vm_state"] == "stopped" and a.report["power_state"] == SHUTDOWN
    assert a.report["expected_task_state"] == "powering-off"


@pytest.mark.parametrize("power", [None, SHUTDOWN, CRASHED])
def test_stop_of_a_dead_vm_only_reports(power):
    [a] = one(inst("active", "powering-off"), power)
    assert a.kind == "report" and a.report["vm_state"] == "stopped"
    assert a.report["task_state"] is None


@pytest.mark.parametrize("vm", ["stopped", "active"])
@pytest.mark.parametrize("power", [SHUTDOWN, CRASHED, NOSTATE])
def test_start_powers_on(vm, power):
    [a] = one(inst(vm, "powering-on", SHUTDOWN), power)
    assert a.kind == "power_on" and a.report["vm_state"] == "active"
    assert a.report["power_state"] == RUNNING


def test_start_of_a_vanished_vm_spawns_it_again():
    assert kinds(one(inst("stopped", "powering-on", SHUTDOWN), None)) == ["spawn"]


def test_start_of_a_running_vm_only_clears_the_task():
    [a] = one(inst("stopped", "powering-on", SHUTDOWN), RUNNING)
    assert a.kind == "report" and a.report["vm_state"] == "active"


def test_stopped_and_shut_down_is_converged():
    assert one(inst("stopped", None, SHUTDOWN), SHUTDOWN) == []


def test_stopped_but_running_is_powered_off():
    assert kinds(one(inst("stopped", None, SHUTDOWN), RUNNING)) == ["power_off"]


# -- died on its own / host boot ----------------------------------------------------
@pytest.mark.parametrize("power", [None, SHUTDOWN, CRASHED, NOSTATE])
def test_vm_that_died_on_its_own_is_reported_shutoff(power):
    [a] = one(inst("active", None, RUNNING), power)
    assert a.kind == "report"
    assert a.report["vm_state"] == "stopped" and a.report["power_state"] == SHUTDOWN
    assert a.report["expected_task_state"] is None


@pytest.mark.parametrize("vm", ["active", "paused", "suspended"])
def test_resume_guests_on_host_boot(vm):
    [a] = one(inst(vm, None, RUNNING), SHUTDOWN, host_boot=True,
              resume_guests_state_on_host_boot=True)
    assert a.kind == "power_on" and a.report["vm_state"] == "active"
    assert kinds(one(inst(vm, None), None, host_boot=True,
                     resume_guests_state_on_host_boot=True)) == ["spawn"]


@pytest.mark.parametrize("boot,resume", [(True, False), (False, True)])
def test_no_resume_unless_host_boot_and_option(boot, resume):
    [a] = one(inst("active", None, RUNNING), SHUTDOWN, host_boot=boot,
              resume_guests_state_on_host_boot=resume)
    assert a.kind == "report" and a.report["vm_state"] == "stopped"


def test_resume_on_boot_leaves_stopped_vms_stopped():
    assert one(inst("stopped", None, SHUTDOWN), SHUTDOWN, host_boot=True,
               resume_guests_state_on_host_boot=True) == []


def test_running_and_active_is_converged():
    assert one(inst("active", None, RUNNING), RUNNING) == []


def test_power_state_drift_is_reported():
    [a] = one(inst("active", None, NOSTATE), RUNNING)
    assert a.kind == "report" and a.report["power_state"] == RUNNING


# -- reboot -------------------------------------------------------------------------
@pytest.mark.parametrize("task,power,hard", [("rebooting", RUNNING, False),
                                             ("rebooting_hard", RUNNING, True),
                                             ("reboot_pending", RUNNING, False),
                                             ("rebooting", SHUTDOWN, True),
                                             ("rebooting", PAUSED, True),
                                             ("rebooting_hard", SHUTDOWN, True)])
def test_reboot_once_per_action_seq(task, power, hard):
    [a] = one(inst("active", task, seq=5), power, done=4)
    assert a.kind == "reboot" and a.hard is hard and a.seq == 5
    assert a.report["vm_state"] == "active" and a.report["expected_task_state"] == task
    # Already executed (the report was lost): only report, never reboot twice.
    [b] = one(inst("active", task, seq=5), RUNNING, done=5)
    assert b.kind == "report" and b.report["task_state"] is None


def test_reboot_with_no_memory_of_the_instance_runs():
    assert kinds(one(inst("active", "rebooting", seq=1), RUNNING, done=None)) == ["reboot"]


def test_hard_reboot_of_a_vanished_vm_spawns():
    [a] = one(inst("active", "rebooting_hard", seq=1), None, done=0)
    assert a.kind == "spawn" and a.seq == 1


# -- pause / suspend ----------------------------------------------------------------
@pytest.mark.parametrize("vm", ["active", "paused"])
def test_pause(vm):
    [a] = one(inst(vm, "pausing"), RUNNING)
    assert a.kind == "pause" and a.report["vm_state"] == "paused"
    assert a.report["power_state"] == PAUSED


@pytest.mark.parametrize("vm", ["paused", "active"])
def test_unpause(vm):
    [a] = one(inst(vm, "unpausing", PAUSED), PAUSED)
    assert a.kind == "unpause" and a.report["vm_state"] == "active"


@pytest.mark.parametrize("power", [RUNNING, PAUSED])
def test_suspend(power):
    [a] = one(inst("active", "suspending"), power)
    assert a.kind == "suspend" and a.report["vm_state"] == "suspended"
    assert a.report["power_state"] == SUSPENDED


def test_resume():
    [a] = one(inst("suspended", "resuming", SUSPENDED), SUSPENDED)
    assert a.kind == "resume" and a.report["power_state"] == RUNNING


def test_pause_of_a_suspended_vm_resumes_first():
    [a] = one(inst("paused", None, SUSPENDED), SUSPENDED)
    assert a.kind == "resume" and a.report is None


@pytest.mark.parametrize("vm,power", [("paused", PAUSED), ("suspended", SUSPENDED)])
def test_paused_and_suspended_converged(vm, power):
    assert one(inst(vm, None, power), power) == []


@pytest.mark.parametrize("vm,task", [("paused", None), ("suspended", None),
                                     ("active", "pausing"), ("active", "suspending")])
def test_paused_or_suspended_vm_that_died_is_shutoff(vm, task):
    [a] = one(inst(vm, task, PAUSED), SHUTDOWN)
    assert a.report["vm_state"] == "stopped" and a.report["power_state"] == SHUTDOWN


# -- rebuild / snapshot ---------------------------------------------------------------
@pytest.mark.parametrize("power", [RUNNING, SHUTDOWN, None])
def test_rebuild_once(power):
    [a] = one(inst("active", "rebuilding", seq=3), power, done=2)
    assert a.kind == "rebuild" and a.seq == 3 and a.report["vm_state"] == "active"
    [b] = one(inst("active", "rebuilding", seq=3), RUNNING, done=3)
    assert b.kind == "report" and b.report["power_state"] == RUNNING


@pytest.mark.parametrize("vm,power", [("active", RUNNING), ("stopped", SHUTDOWN),
                                      ("paused", PAUSED)])
def test_snapshot_keeps_the_vm_state(vm, power):
    [a] = one(inst(vm, "image_snapshot", power, seq=7), power, done=6)
    assert a.kind == "snapshot" and a.seq == 7
    assert "vm_state" not in a.report and a.report["task_state"] is None
    assert a.report["expected_task_state"] == "image_snapshot"
    [b] = one(inst(vm, "image_snapshot", power, seq=7), power, done=7)
    assert b.kind == "report"


def test_snapshot_of_a_vanished_vm_only_clears_the_task():
    [a] = one(inst("active", "image_snapshot", seq=1), None, done=0)
    assert a.kind == "report" and a.report["power_state"] == NOSTATE


# -- delete ---------------------------------------------------------------------------
@pytest.mark.parametrize("power", ALL_POWER)
@pytest.mark.parametrize("vm", ["active", "stopped", "error", "building", "paused"])
def test_delete_always_destroys(vm, power):
    assert one(inst(vm, "deleting"), power) == [Action("delete", U)]


@pytest.mark.parametrize("vm", ["deleted", "soft-delete"])
def test_deleted_rows_are_destroyed(vm):
    assert kinds(one(inst(vm, None), RUNNING)) == ["delete"]


# -- error and states not driven here ---------------------------------------------------
@pytest.mark.parametrize("power", ALL_POWER)
@pytest.mark.parametrize("vm", ["error", "shelved", "rescued"])
def test_nothing_for_error_shelved_rescued(vm, power):
    assert one(inst(vm, None), power) == []


# -- unknown VMs ---------------------------------------------------------------------------
@pytest.mark.parametrize("how,power,expected", [
    ("noop", RUNNING, []), ("log", RUNNING, ["log_unknown"]),
    ("shutdown", RUNNING, ["shutdown_unknown"]), ("shutdown", PAUSED, ["shutdown_unknown"]),
    ("shutdown", SUSPENDED, ["shutdown_unknown"]), ("shutdown", SHUTDOWN, []),
    ("reap", RUNNING, ["reap_unknown"]), ("reap", SHUTDOWN, ["reap_unknown"])])
def test_running_deleted_instance_action(how, power, expected):
    acts = plan([], {U: power}, {}, Options(running_deleted_instance_action=how))
    assert kinds(acts) == expected
    assert all(a.uuid == U for a in acts)


@pytest.mark.parametrize("how,expected", [("noop", []), ("log", ["log_unknown"]),
                                          ("shutdown", ["log_unknown"]),
                                          ("reap", ["log_unknown"])])
def test_unknown_vm_live_elsewhere_is_never_touched(how, expected):
    acts = plan([], {U: RUNNING}, {}, Options(running_deleted_instance_action=how),
                live_elsewhere=frozenset({U}))
    assert kinds(acts) == expected


def test_unknown_vms_left_alone_between_checks():
    assert plan([], {U: RUNNING}, {}, Options(check_unknown=False)) == []


def test_bad_running_deleted_instance_action():
    with pytest.raises(ValueError):
        plan([], {}, {}, Options(running_deleted_instance_action="explode"))


# -- the whole host ---------------------------------------------------------------------------
def test_host_plan_deletes_first_and_ignores_converged():
    a, b, c = (f"{n}0000000-0000-0000-0000-000000000000" for n in "abc")
    desired = [inst("building", "spawning", NOSTATE, uuid=a),
               inst("active", None, RUNNING, uuid=b),
               inst("active", "deleting", uuid=c)]
    acts = plan(desired, {b: RUNNING, c: RUNNING, "d" * 8: RUNNING}, {})
    assert [(x.kind, x.uuid) for x in acts] == [("delete", c), ("reap_unknown", "d" * 8),
                                                ("spawn", a)]


def test_plan_is_idempotent_after_convergence():
    """Apply each action's outcome to the observed state and the reported
    row, plan again: nothing left to do, for every state combination."""
    outcome = {"spawn": RUNNING, "power_on": RUNNING, "power_off": SHUTDOWN, "reboot": RUNNING,
               "pause": PAUSED, "unpause": RUNNING, "suspend": SUSPENDED, "resume": RUNNING,
               "rebuild": RUNNING}
    tasks = [None, "spawning", "powering-off", "powering-on", "rebooting", "rebooting_hard",
             "pausing", "unpausing", "suspending", "resuming", "rebuilding", "image_snapshot"]
    vms = ["building", "active", "stopped", "paused", "suspended"]
    for vm, task, power in itertools.product(vms, tasks, ALL_POWER):
        row, observed, done = inst(vm, task, NOSTATE, seq=1), {}, {}
        if power is not None:
            observed[U] = power
        for _ in range(3):
            acts = plan([row], observed, done)
            if not acts:
                break
            for a in acts:
                if a.kind in outcome:
                    observed[U] = outcome[a.kind]
                if a.seq is not None:
                    done[U] = a.seq
                if a.report:
                    row = {**row, **{k: v for k, v in a.report.items()
                                     if k in ("vm_state", "task_state", "power_state")}}
        assert plan([row], observed, done) == [], (vm, task, power, row, observed)
        assert row["task_state"] is None, (vm, task, power, row)


def test_target_of():
    assert target_of(inst("active", "powering-off")) == "stopped"
    assert target_of(inst("stopped", None)) == "stopped"
    assert target_of(inst("active", "image_snapshot")) == "active"


def test_rebuild_of_a_stopped_server_leaves_it_stopped():
    acts = one(inst("stopped", "rebuilding", SHUTDOWN, seq=2), SHUTDOWN, done=1)
    assert kinds(acts) == ["rebuild", "power_off"]
    assert acts[0].seq == 2 and acts[0].report is None
    assert acts[1].report["vm_state"] == "stopped"
    assert acts[1].report["expected_task_state"] == "rebuilding"
    # Done already but the VM runs (crash between the two): only the power-off.
    assert kinds(one(inst("stopped", "rebuilding", seq=2), RUNNING, done=2)) == ["power_off"]


def test_executed_reboot_whose_vm_then_died_is_shutoff():
    [a] = one(inst("active", "rebooting", seq=3), SHUTDOWN, done=3)
    assert a.kind == "report" and a.report["vm_state"] == "stopped"
    assert a.report["expected_task_state"] == "rebooting"
