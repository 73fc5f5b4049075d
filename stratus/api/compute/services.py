"""/v2.1/os-services: the nova-compute service of every registered host
(list with host/binary filters, enable/disable with a reason, delete) as nova
2.1 serves them.  Forcing a service down needs microversion 2.11, which this
cloud does not offer yet, so ``force-down`` is unknown (404) as in nova 2.1."""
from __future__ import annotations

from sqlalchemy import func, select

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


def _view(req, node: m.ComputeNode, zone_map: dict, default_zone: str) -> dict:
    zone = ",".join(sorted(zone_map[node.host])) if node.host in zone_map else default_zone
    return {"id": node.service_id, "binary": BINARY, "host": node.host, "zone": zone,
            "status": "disabled" if node.disabled else "enabled",
            "state": "up" if zones.is_up(node, req.conf.compute.service_down_time) else "down",
            "updated_at": c.isotime(node.updated_at or node.last_seen_up),
            "disabled_reason": node.disabled_reason}


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
    if action not in ("enable", "disable", "disable-log-reason"):
        raise errors.NotFound(f"Unknown action {action}")
    req.authorize("os_compute_api:os-services:update")
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
