"""Instance action records (``os-instance-actions``) and their events.

The API records one action per user request (``record``); whoever performs it
(the API itself, the scheduler, the host agent) adds events and finishes it.
Nova action names: create, delete, stop, start, reboot, pause, unpause,
suspend, resume, rebuild, createImage, lock, unlock.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from stratus.db.models.compute import InstanceAction, InstanceActionEvent

SUCCESS, ERROR = "Success", "Error"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def record(session, ctx, instance_uuid: str, action: str,
           request_id: str | None = None) -> InstanceAction:
    """Start an action record for ``instance_uuid`` by the caller ``ctx``."""
    row = InstanceAction(instance_uuid=instance_uuid, action=action,
                         request_id=request_id or ctx.request_id,
                         user_id=ctx.user_id or "", project_id=ctx.project_id or "",
                         start_time=_now())
    session.add(row)
    session.flush()
    return row


def find(session, instance_uuid: str, request_id: str | None = None) -> InstanceAction | None:
    """The action of ``request_id`` on the instance, or its latest action."""
    q = select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
    if request_id is not None:
        q = q.where(InstanceAction.request_id == request_id)
    return session.scalars(q.order_by(InstanceAction.id.desc()).limit(1)).first()


def finish(session, instance_uuid: str, request_id: str | None, result: str = SUCCESS,
           message: str | None = None) -> InstanceAction | None:
    """Mark the action finished (``request_id`` None: the latest unfinished one).
    ``message`` is set when the action failed, as Nova's "Error"."""
    q = select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
    if request_id is not None:
        q = q.where(InstanceAction.request_id == request_id)
    else:
        q = q.where(InstanceAction.finish_time.is_(None))
    row = session.scalars(q.order_by(InstanceAction.id.desc()).limit(1)).first()
    if row is None:
        return None
    row.finish_time = row.updated_at = _now()
    if result != SUCCESS:
        row.message = (message or result)[:255]
    return row


def start_event(session, instance_uuid: str, request_id: str | None, event: str,
                host: str | None = None) -> InstanceActionEvent | None:
    """Add an event (e.g. ``compute_stop_instance``) to the instance's action."""
    action = find(session, instance_uuid, request_id)
    if action is None:
        return None
    ev = InstanceActionEvent(action_id=action.id, event=event, host=host, start_time=_now())
    session.add(ev)
    session.flush()
    return ev


def finish_event(session, instance_uuid: str, request_id: str | None, event: str,
                 result: str = SUCCESS, traceback: str | None = None,
                 host: str | None = None) -> InstanceActionEvent | None:
    """Finish the event (starting it first when nobody did)."""
    action = find(session, instance_uuid, request_id)
    if action is None:
        return None
    ev = session.scalars(select(InstanceActionEvent)
                         .where(InstanceActionEvent.action_id == action.id,
                                InstanceActionEvent.event == event,
                                InstanceActionEvent.finish_time.is_(None))
                         .order_by(InstanceActionEvent.id.desc()).limit(1)).first()
    if ev is None:
        ev = start_event(session, instance_uuid, request_id, event, host)
    ev.finish_time = _now()
    ev.result = result
    ev.traceback = traceback
    return ev


def list_for(session, instance_uuid: str) -> list[InstanceAction]:
    return list(session.scalars(select(InstanceAction)
                                .where(InstanceAction.instance_uuid == instance_uuid)
                                .order_by(InstanceAction.start_time.desc(),
                                          InstanceAction.id.desc())))


def events_of(session, action_id: int) -> list[InstanceActionEvent]:
    return list(session.scalars(select(InstanceActionEvent)
                                .where(InstanceActionEvent.action_id == action_id)
                                .order_by(InstanceActionEvent.id)))
