"""/v2.1/servers/{id}/os-instance-actions: the action records of a server.
Events are shown to admins only (Nova's ``os-instance-actions:events``), and
their tracebacks too."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.compute.server_views import isotime
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import actions
from stratus.db.models.compute import Instance, InstanceAction

routes = RouteTable()
P = "os_compute_api:os-instance-actions"


def action_view(a: InstanceAction) -> dict:
    return {"action": a.action, "instance_uuid": a.instance_uuid, "request_id": a.request_id,
            "user_id": a.user_id, "project_id": a.project_id,
            "start_time": isotime(a.start_time), "message": a.message}


def event_view(e, with_traceback: bool) -> dict:
    body = {"event": e.event, "start_time": isotime(e.start_time),
            "finish_time": isotime(e.finish_time), "result": e.result}
    if with_traceback:
        body["traceback"] = e.traceback
    return body


def _server(s, req):
    """Nova lists actions of deleted servers too (read_deleted='yes')."""
    server_id = req.path_params["server_id"]
    inst = s.scalar(select(Instance).where(Instance.uuid == server_id)
                    .order_by(Instance.deleted))
    if inst is None or (inst.project_id != req.ctx.project_id and not req.ctx.is_admin):
        raise errors.NotFound(f"Instance {server_id} could not be found.")
    return inst


@routes.get("/v2.1/servers/{server_id}/os-instance-actions")
def list_actions(req):
    with req.db.session() as s:
        inst = _server(s, req)
        req.authorize(P + ":list", {"project_id": inst.project_id})
        return {"instanceActions": [action_view(a) for a in actions.list_for(s, inst.uuid)]}


@routes.get("/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
def show_action(req):
    with req.db.session() as s:
        inst = _server(s, req)
        req.authorize(P + ":show", {"project_id": inst.project_id})
        request_id = req.path_params["request_id"]
        a = s.scalar(select(InstanceAction).where(InstanceAction.instance_uuid == inst.uuid,
                                                  InstanceAction.request_id == request_id))
        if a is None:
            raise errors.NotFound(f"Action for request_id {request_id} on instance "
                                  f"{inst.uuid} not found")
        body = action_view(a)
        admin = req.ctx.is_admin
        if admin:
            body["events"] = [event_view(e, admin) for e in actions.events_of(s, a.id)]
        return {"instanceAction": body}
