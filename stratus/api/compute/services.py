"""/v2.1/os-services: the nova-compute service of every registered host
(list with host/binary filters, enable/disable with a reason, delete) as nova
serves them.  From microversion 2.11 the list shows ``forced_down`` and
``PUT /os-services/force-down`` {"host", "binary", "forced_down"} sets it (a
forced-down host is down for the scheduler at once, whatever its heartbeat);
below 2.11 ``force-down`` is an unknown action (404), as in nova."""
from __future__ import annotations

from sqlalchemy import func, select

from stratus.api.compute import microversion
from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import zones
from stratus.db.models import compute as m
from stratus.db.models.identity import utcnow

routes = RouteTable()
BINARY = "nova-compute"
_STR = {"type": "string", "minLength": 1, "maxLength": 255}
UPDATE = {"type": "object", "properties": {"host": _STR, "binary": _STR},
          "required": ["host", "binary"], "additionalProperties": False}
DISABLE_REASON = {"type": "object",
                  "properties": {"host": _STR, "binary": _STR, "disabled_reason": _STR},
                  "required": ["host", "binary", "disabled_reason"],
                  "additionalProperties": False}
# nova's service_update_v211 (the body of every action from 2.11).
UPDATE_V211 = {"type": "object",
               "properties": {"host": _STR, "binary": _STR, "disabled_reason": _STR,
                              "forced_down": c.BOOLEAN},
               "required": ["host", "binary"], "additionalProperties": False}


def _view(req, node: m.ComputeNode, zone_map: dict, default_zone: str) -> dict:
    zone = ",".join(sorted(zone_map[node.host])) if node.host in zone_map else default_zone
    out = {"id": node.service_id, "binary": BINARY, "host": node.host, "zone": zone,
           "status": "disabled" if node.disabled else "enabled",
           "state": "up" if zones.is_up(node, req.conf.compute.service_down_time) else "down",
           "updated_at": c.isotime(node.updated_at or node.last_seen_up),
           "disabled_reason": node.disabled_reason}
    if microversion.at_least(req, 2, 11):
        out["forced_down"] = bool(node.forced_down)
    return out


@routes.get("/v2.1/os-services")
def list_services(req):
    req.authorize("os_compute_api:os-services:list")
    binary = req.query.get("binary")
    with req.db.session() as s:
        stmt = select(m.ComputeNode).order_by(m.ComputeNode.service_id)
        if "host" in req.query:
            stmt = stmt.where(m.ComputeNode.host == req.query["host"])
        nodes = [] if binary not in (None, BINARY) else list(s.scalars(stmt))
        zone_map = zones.host_zones(s)
        default = req.conf.compute.default_availability_zone
        return {"services": [_view(req, n, zone_map, default) for n in nodes]}


def _find(s, host: str, binary: str) -> m.ComputeNode:
    node = s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == host)) \
        if binary == BINARY else None
    if node is None:
        raise errors.NotFound(f"Service {binary} on host {host} could not be found.")
    return node


@routes.put("/v2.1/os-services/{action}")
def update_service(req):
    action = req.path_params["action"]
    actions = ("enable", "disable", "disable-log-reason")
    if microversion.at_least(req, 2, 11):
        actions += ("force-down",)
    if action not in actions:
        raise errors.NotFound(f"Unknown action {action}")
    req.authorize("os_compute_api:os-services:update")
    if action == "force-down":
        return _force_down(req)
    body = c.validate(req.json(), DISABLE_REASON if action == "disable-log-reason" else UPDATE)
    with req.db.session() as s:
        node = _find(s, body["host"], body["binary"])
        node.disabled = action != "enable"
        node.disabled_reason = body.get("disabled_reason")
        node.updated_at = utcnow()
    out = {"host": body["host"], "binary": body["binary"],
           "status": "enabled" if action == "enable" else "disabled"}
    if action == "disable-log-reason":
        out["disabled_reason"] = body["disabled_reason"]
    return {"service": out}


def _force_down(req):
    """nova's ``_forced_down`` (2.11): set or clear the forced_down flag."""
    body = c.validate(req.json(), UPDATE_V211)
    if "forced_down" not in body:
        raise errors.BadRequest("Missing forced_down field")
    forced_down = c.to_bool(body["forced_down"], "forced_down")
    with req.db.session() as s:
        node = _find(s, body["host"], body["binary"])
        node.forced_down = forced_down
        node.updated_at = utcnow()
    return {"service": {"host": body["host"], "binary": body["binary"],
                        "forced_down": forced_down}}


@routes.delete("/v2.1/os-services/{service_id}")
def delete_service(req):
    req.authorize("os_compute_api:os-services:delete")
    raw = req.path_params["service_id"]
    if not raw.isdigit():
        raise errors.BadRequest(f"Invalid service id {raw!r}: must be an integer.")
    with req.db.session() as s:
        node = s.scalar(select(m.ComputeNode).where(m.ComputeNode.service_id == int(raw)))
        if node is None:
            raise errors.NotFound(f"Service {raw} could not be found.")
        hosted = s.scalar(select(func.count(m.Instance.id)).where(
            m.Instance.host == node.host, m.Instance.deleted == 0))
        if hosted:
            raise errors.Conflict("Unable to delete compute service that is hosting "
                                  f"instances ({hosted} on host {node.host}). Migrate or "
                                  "delete the instances first.")
        for row in s.scalars(select(m.AggregateHost).where(m.AggregateHost.host == node.host)):
            s.delete(row)
        s.delete(node)
    return 204, None
