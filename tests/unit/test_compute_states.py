"""Server status mapping (Nova's status_from_state table), its inverse for
list filters, and the action transition rules."""
from __future__ import annotations

import pytest

from stratus.common import errors
from stratus.compute import servers as domain
from stratus.compute import states as st
from stratus.db.models.compute import Instance

STATUS_TABLE = [
    (st.BUILDING, st.SCHEDULING, "BUILD"),
    (st.BUILDING, st.SPAWNING, "BUILD"),
    (st.BUILDING, None, "BUILD"),
    (st.ACTIVE, None, "ACTIVE"),
    (st.ACTIVE, st.POWERING_OFF, "ACTIVE"),
    (st.ACTIVE, st.DELETING, "ACTIVE"),
    (st.ACTIVE, st.REBOOTING, "REBOOT"),
    (st.ACTIVE, st.REBOOT_PENDING, "REBOOT"),
    (st.ACTIVE, st.REBOOTING_HARD, "HARD_REBOOT"),
    (st.ACTIVE, st.REBUILDING, "REBUILD"),
    (st.ACTIVE, st.REBUILD_SPAWNING, "REBUILD"),
    (st.ACTIVE, st.IMAGE_SNAPSHOT, "ACTIVE"),
    (st.STOPPED, None, "SHUTOFF"),
    # Targets are recorded at once; until the agent is done the source shows.
    (st.STOPPED, st.POWERING_OFF, "ACTIVE"),
    (st.ACTIVE, st.POWERING_ON, "SHUTOFF"),
    (st.PAUSED, st.PAUSING, "ACTIVE"),
    (st.ACTIVE, st.UNPAUSING, "PAUSED"),
    (st.ACTIVE, st.RESUMING, "SUSPENDED"),
    (st.STOPPED, st.REBUILDING, "REBUILD"),
    (st.PAUSED, None, "PAUSED"),
    (st.SUSPENDED, st.SUSPENDING, "ACTIVE"),
    (st.RESCUED, None, "RESCUE"),
    (st.ERROR, None, "ERROR"),
    (st.ERROR, st.REBUILDING, "REBUILD"),
    (st.DELETED, None, "DELETED"),
    (st.SOFT_DELETED, None, "SOFT_DELETED"),
    (st.SHELVED, None, "SHELVED"),
    (st.RESIZED, None, "VERIFY_RESIZE"),
    ("nonsense", None, "UNKNOWN"),
    (None, None, "UNKNOWN"),
]


@pytest.mark.parametrize("target,task,source", [
    (st.STOPPED, st.POWERING_OFF, st.ACTIVE), (st.ACTIVE, st.POWERING_ON, st.STOPPED),
    (st.PAUSED, st.PAUSING, st.ACTIVE), (st.ACTIVE, st.UNPAUSING, st.PAUSED),
    (st.SUSPENDED, st.SUSPENDING, st.ACTIVE), (st.ACTIVE, st.RESUMING, st.SUSPENDED),
    (st.ACTIVE, None, st.ACTIVE), (st.ACTIVE, st.REBOOTING, st.ACTIVE),
    (st.STOPPED, None, st.STOPPED)])
def test_shown_vm_state_is_the_source_during_a_transition(target, task, source):
    assert st.shown_vm_state(target, task) == source
    assert st.status(target, task) == st.status(source, None) or task == st.REBOOTING


@pytest.mark.parametrize("vm_state,task_state,expected", STATUS_TABLE)
def test_status(vm_state, task_state, expected):
    assert st.status(vm_state, task_state) == expected


def _matches(triples, vm_state, task_state) -> bool:
    for vm, tasks, excluded in triples:
        if vm != vm_state:
            continue
        if tasks is None and task_state not in excluded:
            return True
        if tasks is not None and task_state in tasks:
            return True
    return False


@pytest.mark.parametrize("wanted", [["ACTIVE"], ["REBOOT"], ["SHUTOFF"], ["BUILD"],
                                    ["ERROR", "REBUILD"], ["active"], ["HARD_REBOOT"]])
def test_status_filter_is_the_inverse_of_status(wanted):
    triples = st.status_filter(wanted)
    for vm_state in st.VM_STATES:
        for task_state in (None, *st.TASK_STATES):
            expected = st.status(vm_state, task_state) in {w.upper() for w in wanted}
            assert _matches(triples, vm_state, task_state) == expected, (vm_state, task_state)


def test_status_filter_unknown_status_matches_nothing():
    assert st.status_filter(["NOPE"]) == []


def inst(vm_state, task_state=None, host="h1"):
    return Instance(uuid="u-1", vm_state=vm_state, task_state=task_state, host=host,
                    action_seq=0)


# (action, vm_state, task_state) -> allowed?, new vm_state, new task_state
TRANSITIONS = [
    ("stop", st.ACTIVE, None, st.STOPPED, st.POWERING_OFF),
    ("stop", st.ERROR, None, st.STOPPED, st.POWERING_OFF),
    ("start", st.STOPPED, None, st.ACTIVE, st.POWERING_ON),
    ("reboot", st.ACTIVE, None, st.ACTIVE, st.REBOOTING),
    ("reboot_hard", st.STOPPED, None, st.ACTIVE, st.REBOOTING_HARD),
    ("reboot_hard", st.ACTIVE, st.REBOOTING, st.ACTIVE, st.REBOOTING_HARD),
    ("pause", st.ACTIVE, None, st.PAUSED, st.PAUSING),
    ("unpause", st.PAUSED, None, st.ACTIVE, st.UNPAUSING),
    ("suspend", st.ACTIVE, None, st.SUSPENDED, st.SUSPENDING),
    ("resume", st.SUSPENDED, None, st.ACTIVE, st.RESUMING),
    ("rebuild", st.STOPPED, None, st.STOPPED, st.REBUILDING),
    ("rebuild", st.ERROR, None, st.ACTIVE, st.REBUILDING),
    ("createImage", st.PAUSED, None, st.PAUSED, st.IMAGE_SNAPSHOT),
]


class FakeSession:
    """Records revision bumps (revision.bump runs an UPDATE)."""
    def __init__(self):
        self.executed = []

    def execute(self, stmt):
        self.executed.append(stmt)

        class R:
            rowcount = 0
        return R()


@pytest.mark.parametrize("action,vm,task,new_vm,new_task", TRANSITIONS)
def test_allowed_transitions(action, vm, task, new_vm, new_task):
    i = inst(vm, task)
    session = FakeSession()
    tr = domain.apply(session, i, action)
    assert (i.vm_state, i.task_state) == (new_vm, new_task)
    assert i.action_seq == (1 if tr.bump_seq else 0)
    assert len(session.executed) == 1  # the host revision bump


REFUSED = [
    ("stop", st.STOPPED, None, "vm_state stopped"),
    ("start", st.ACTIVE, None, "vm_state active"),
    ("start", st.STOPPED, st.POWERING_OFF, "vm_state active"),  # still active, as Nova
    ("reboot", st.STOPPED, None, "vm_state stopped"),
    ("reboot", st.ACTIVE, st.REBOOTING, "task_state rebooting"),
    ("pause", st.PAUSED, None, "vm_state paused"),
    ("unpause", st.ACTIVE, None, "vm_state active"),
    ("resume", st.ACTIVE, None, "vm_state active"),
    ("suspend", st.BUILDING, st.SCHEDULING, "vm_state building"),
    ("rebuild", st.BUILDING, None, "vm_state building"),
    ("createImage", st.ACTIVE, st.IMAGE_SNAPSHOT, "task_state image_snapshot"),
    ("reboot_hard", st.BUILDING, st.SPAWNING, "vm_state building"),
]


@pytest.mark.parametrize("action,vm,task,mention", REFUSED)
def test_refused_transitions_are_409_naming_the_state(action, vm, task, mention):
    i = inst(vm, task)
    with pytest.raises(errors.Conflict) as e:
        domain.apply(FakeSession(), i, action)
    name = "reboot" if action == "reboot_hard" else action
    assert f"Cannot '{name}' instance u-1 while it is in {mention}" == e.value.message
    assert (i.vm_state, i.task_state) == (vm, task)  # unchanged


def test_every_action_bumps_seq_only_when_it_must_be_redone():
    assert {a for a, t in domain.TRANSITIONS.items() if t.bump_seq} == \
        {"reboot", "reboot_hard", "rebuild", "createImage"}


def test_locked_server_refuses_non_admins():
    class Ctx:
        is_admin = False
    i = inst(st.ACTIVE)
    i.locked = True
    with pytest.raises(errors.Conflict, match="is locked"):
        domain.check_unlocked(i, Ctx())
    Ctx.is_admin = True
    domain.check_unlocked(i, Ctx())


def test_delete_on_a_host_asks_the_agent():
    i = inst(st.ACTIVE)
    session = FakeSession()
    assert domain.request_delete(session, i) is False
    assert i.task_state == st.DELETING and i.vm_state == st.ACTIVE
    assert len(session.executed) == 1


def test_reset_state_accepts_only_active_or_error():
    i = inst(st.ERROR, st.SPAWNING)
    domain.reset_state(FakeSession(), i, st.ACTIVE)
    assert (i.vm_state, i.task_state) == (st.ACTIVE, None)
    with pytest.raises(errors.BadRequest):
        domain.reset_state(FakeSession(), i, "paused")
