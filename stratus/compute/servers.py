"""Server domain logic shared by the compute API and the agent API: which
action is allowed in which state and what it sets, building instance rows,
deleting.

The API records the *target* (``vm_state``) and a ``task_state`` naming the
transition; the host agent performs it and clears the task state.  Actions
that must be re-done even when the target does not change (reboot, rebuild,
snapshot) increment ``action_seq``.  Transition rules follow Nova's
``@check_instance_state`` decorators in ``nova/compute/api.py``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete as sql_delete

from stratus.common import errors
from stratus.compute import revision
from stratus.compute import states as st
from stratus.db.models.compute import Instance, InstanceMetadata

KEEP = object()  # "leave vm_state as it is"


@dataclass(frozen=True)
class Transition:
    vm_states: frozenset[str]          # allowed current vm_states
    task_states: frozenset[str | None]  # allowed current task_states
    target: object                     # new vm_state, or KEEP
    task: str | None                   # task_state to set
    bump_seq: bool = False             # the agent must redo it even if the target is unchanged


def _t(vm, target, task, tasks=(None,), bump_seq=False) -> Transition:
    return Transition(frozenset(vm), frozenset(tasks), target, task, bump_seq)


_HARD_REBOOT_TASKS = (None, st.REBOOTING, st.REBOOT_PENDING, st.REBOOTING_HARD, st.RESUMING,
                      st.UNPAUSING, st.PAUSING, st.SUSPENDING)

TRANSITIONS: dict[str, Transition] = {
    "stop": _t({st.ACTIVE, st.ERROR}, st.STOPPED, st.POWERING_OFF),
    "start": _t({st.STOPPED}, st.ACTIVE, st.POWERING_ON),
    "reboot": _t({st.ACTIVE}, st.ACTIVE, st.REBOOTING, bump_seq=True),
    "reboot_hard": _t({st.ACTIVE, st.STOPPED, st.PAUSED, st.SUSPENDED, st.ERROR}, st.ACTIVE,
                      st.REBOOTING_HARD, tasks=_HARD_REBOOT_TASKS, bump_seq=True),
    "pause": _t({st.ACTIVE}, st.PAUSED, st.PAUSING),
    "unpause": _t({st.PAUSED}, st.ACTIVE, st.UNPAUSING),
    "suspend": _t({st.ACTIVE}, st.SUSPENDED, st.SUSPENDING),
    "resume": _t({st.SUSPENDED}, st.ACTIVE, st.RESUMING),
    "rebuild": _t({st.ACTIVE, st.STOPPED, st.ERROR}, KEEP, st.REBUILDING, bump_seq=True),
    "createImage": _t({st.ACTIVE, st.STOPPED, st.PAUSED, st.SUSPENDED}, KEEP,
                      st.IMAGE_SNAPSHOT, bump_seq=True),
}
# The name Nova shows in "Cannot '<name>' instance ..." messages.
API_NAMES = {"reboot_hard": "reboot", "createImage": "createImage"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def check(inst: Instance, action: str) -> Transition:
    """The transition of ``action`` for ``inst``; 409 as Nova when its state
    does not allow it."""
    tr = TRANSITIONS[action]
    name = API_NAMES.get(action, action)
    vm_state = st.shown_vm_state(inst.vm_state, inst.task_state)  # the source, mid-transition
    if vm_state not in tr.vm_states:
        raise errors.Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in "
                              f"vm_state {vm_state}")
    if inst.task_state not in tr.task_states:
        raise errors.Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in "
                              f"task_state {inst.task_state}")
    return tr


def target_vm_state(inst: Instance, tr: Transition) -> str:
    if tr.target is not KEEP:
        return tr.target  # type: ignore[return-value]
    # Rebuilding a server in ERROR brings it back to ACTIVE, as Nova does.
    return st.ACTIVE if inst.vm_state == st.ERROR else inst.vm_state


def apply(session, inst: Instance, action: str) -> Transition:
    """Check and apply ``action``: set the target and task state, bump
    ``action_seq`` when needed and the host revision.  The caller records
    the instance action."""
    tr = check(inst, action)
    inst.vm_state = target_vm_state(inst, tr)
    inst.task_state = tr.task
    if tr.bump_seq:
        inst.action_seq = (inst.action_seq or 0) + 1
    inst.updated_at = now()
    revision.bump(session, inst.host)
    return tr


def check_unlocked(inst: Instance, ctx) -> None:
    """A locked server refuses actions, except to admins (Nova's default)."""
    if inst.locked and not ctx.is_admin:
        raise errors.Conflict(f"Instance {inst.uuid} is locked")


def soft_delete(session, inst: Instance) -> None:
    """Mark the row deleted as Nova does and free what it holds: the claim,
    the ports, the metadata.  Used for instances that are on no host and by
    the agent API once a host has destroyed the VM."""
    from stratus.network import ports
    from stratus.scheduler import claims
    claims.release(session, inst.uuid)
    ports.delete_ports_for_device(session, inst.uuid)
    session.execute(sql_delete(InstanceMetadata)
                    .where(InstanceMetadata.instance_uuid == inst.uuid))
    t = now()
    inst.vm_state, inst.task_state = st.DELETED, None
    inst.deleted, inst.deleted_at, inst.terminated_at, inst.updated_at = inst.id, t, t, t


def request_delete(session, inst: Instance) -> bool:
    """Delete a server: at once when it is on no host (returns True), else ask
    its host's agent (``task_state=deleting``; returns False)."""
    if not inst.host:
        soft_delete(session, inst)
        return True
    inst.task_state = st.DELETING
    inst.updated_at = now()
    revision.bump(session, inst.host)
    return False


def reset_state(session, inst: Instance, state: str) -> None:
    """Admin ``os-resetState``: force vm_state active or error, clear the task."""
    if state not in (st.ACTIVE, st.ERROR):
        raise errors.BadRequest(f"Invalid state {state!r}: must be 'active' or 'error'.")
    inst.vm_state, inst.task_state, inst.updated_at = state, None, now()
    revision.bump(session, inst.host)


@dataclass
class BuildSpec:
    """What every instance of one create request shares."""
    project_id: str
    user_id: str
    flavor: dict            # snapshot: id, name, vcpus, ram, disk, ephemeral, swap, extra_specs
    image_ref: str
    requested_az: str | None
    key_name: str | None
    key_data: str | None
    user_data: str | None
    config_drive: bool
    access_ip_v4: str | None
    access_ip_v6: str | None
    requested_networks: list | str | None
    request_spec: dict
    reservation_id: str


def new_instance(spec: BuildSpec, uuid: str, display_name: str, hostname: str,
                 launch_index: int) -> Instance:
    """An instance row in ``building``/``scheduling`` (not yet added)."""
    f = spec.flavor
    t = now()
    return Instance(
        uuid=uuid, display_name=display_name, hostname=hostname,
        project_id=spec.project_id, user_id=spec.user_id, image_ref=spec.image_ref,
        flavor=f, flavor_id=f["id"], vcpus=f["vcpus"], memory_mb=f["ram"],
        root_gb=f["disk"], ephemeral_gb=f.get("ephemeral", 0),
        vm_state=st.BUILDING, task_state=st.SCHEDULING, power_state=st.NOSTATE,
        availability_zone=spec.requested_az, requested_az=spec.requested_az,
        key_name=spec.key_name, key_data=spec.key_data, user_data=spec.user_data,
        config_drive=spec.config_drive, access_ip_v4=spec.access_ip_v4,
        access_ip_v6=spec.access_ip_v6, reservation_id=spec.reservation_id,
        launch_index=launch_index, progress=0, locked=False,
        requested_networks=spec.requested_networks, request_spec=dict(spec.request_spec),
        action_seq=0, created_at=t, updated_at=t, deleted=0)
