"""What a host agent reports about one instance:
POST /agent/v1/instances/{uuid}/status, .../deleted and .../build-failed."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import actions
from stratus.db.models import compute as m
from stratus.db.models.identity import utcnow

routes = RouteTable()
VM_STATES = {"building", "active", "stopped", "paused", "suspended", "rescued", "error",
             "shelved"}
POWER_STATES = {0, 1, 3, 4, 6, 7}
UNSET = object()


def get_instance(s, uuid: str) -> m.Instance:
    row = s.scalars(select(m.Instance).where(m.Instance.uuid == uuid,
                                             m.Instance.deleted == 0)).first()
    if row is None:
        raise errors.NotFound(f"Instance {uuid} could not be found.")
    return row


def record_event(s, uuid: str, host: str | None, action: str, result: str,
                 details: str | None = None) -> None:
    """Adds ``compute_<action>_instance`` to the instance's newest action record
    and finishes that record (os-instance-actions)."""
    event = f"compute_{action}_instance"
    if actions.finish_event(s, uuid, None, event, result, details, host) is not None:
        actions.finish(s, uuid, None, actions.SUCCESS if result == "Success" else "Error",
                       details)


def _validate(body) -> dict:
    if not isinstance(body, dict):
        raise errors.ValidationError("Expected a JSON object.")
    if body.get("power_state") not in POWER_STATES:
        raise errors.ValidationError(f"power_state must be one of {sorted(POWER_STATES)}.")
    if "vm_state" in body and body["vm_state"] not in VM_STATES:
        raise errors.ValidationError(f"vm_state must be one of {sorted(VM_STATES)}.")
    for key in ("fault", "event"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise errors.ValidationError(f"{key} must be an object.")
    return body


@routes.post("/v1/instances/lookup")
def lookup(req):
    """What the control plane knows of VMs a host runs but was not assigned:
    ``{"instances": {uuid: {"state": "live"|"deleted"|"unknown", "host"}}}``, so
    ``running_deleted_instance_action`` only touches deleted or unknown ones."""
    req.authorize("agent:host")
    body = req.json()
    uuids = body.get("uuids") if isinstance(body, dict) else None
    if not isinstance(uuids, list) or not all(isinstance(u, str) for u in uuids) \
            or len(uuids) > 10000:
        raise errors.ValidationError("Expected {\"uuids\": [instance uuids]}.")
    found = {u: {"state": "unknown", "host": None} for u in uuids}
    with req.db.session() as s:
        for row in s.scalars(select(m.Instance).where(m.Instance.uuid.in_(uuids))):
            found[row.uuid] = {"state": "deleted" if row.deleted else "live", "host": row.host}
    return {"instances": found}


@routes.post("/v1/instances/{uuid}/status")
def status(req):
    req.authorize("agent:host")
    body = _validate(req.json())
    with req.db.session() as s:
        row = get_instance(s, req.path_params["uuid"])
        expected = body.get("expected_task_state", UNSET)
        if expected is not UNSET and row.task_state != expected:
            # The user asked for something else meanwhile (delete, another action):
            # the agent's next pass works from the new desired state.
            raise errors.Conflict(f"Instance {row.uuid} task_state is {row.task_state}, "
                                  f"expected {expected}.")
        now = utcnow()
        row.power_state = body["power_state"]
        if "vm_state" in body:
            row.vm_state = body["vm_state"]
            if body["vm_state"] == "active" and row.launched_at is None:
                row.launched_at = now
                from stratus.scheduler import build_failures
                build_failures.record_success(s, row.host)   # BuildFailureWeigher
        if "task_state" in body:
            row.task_state = body["task_state"]
        fault = body.get("fault")
        if fault:
            s.add(m.InstanceFault(instance_uuid=row.uuid, code=int(fault.get("code") or 500),
                                  message=str(fault.get("message") or "Unknown error")[:255],
                                  details=fault.get("details")))
        event = body.get("event")
        if event and event.get("action"):
            record_event(s, row.uuid, row.host, str(event["action"])[:200],
                         str(event.get("result") or "Success")[:200], event.get("details"))
        row.updated_at = now
        return {"uuid": row.uuid, "vm_state": row.vm_state, "task_state": row.task_state,
                "power_state": row.power_state}


@routes.post("/v1/instances/{uuid}/deleted")
def deleted(req):
    req.authorize("agent:host")
    from stratus.network.ports import delete_ports_for_device
    from stratus.scheduler.claims import release
    with req.db.session() as s:
        row = get_instance(s, req.path_params["uuid"])
        if row.task_state != "deleting" and row.vm_state not in ("deleted", "soft-delete"):
            raise errors.Conflict(f"Instance {row.uuid} is not being deleted.")
        now = utcnow()
        record_event(s, row.uuid, row.host, "terminate", "Success")
        row.deleted, row.vm_state, row.task_state, row.power_state = row.id, "deleted", None, 0
        row.deleted_at = row.terminated_at = row.updated_at = now
        release(s, row.uuid)
        delete_ports_for_device(s, row.uuid)
        return 204, None


@routes.post("/v1/instances/{uuid}/build-failed")
def build_failed(req):
    req.authorize("agent:host")
    body = req.json(required=False) or {}
    reason = str(body.get("reason") or "Build of instance failed on its host.")
    with req.db.session() as s:
        row = get_instance(s, req.path_params["uuid"])
        host = row.host
        record_event(s, row.uuid, host, "build_and_run", "Error", reason)
    from stratus.scheduler.service import reschedule
    reschedule(req.db, req.conf, req.path_params["uuid"], host, reason)
    return 202, None
