"""/v2.1/os-aggregates: host aggregates with metadata; the
``availability_zone`` metadata key makes an aggregate an availability zone,
and a host may be in only one zone (as nova enforces)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import zones
from stratus.db.models import compute as m
from stratus.db.models.identity import utcnow

routes = RouteTable()
AZ = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
      "pattern": r"^[^:]*$"}
CREATE = {"type": "object", "properties": {"aggregate": {
    "type": "object", "properties": {"name": c.NAME, "availability_zone": AZ},
    "required": ["name"], "additionalProperties": False}},
    "required": ["aggregate"], "additionalProperties": False}
UPDATE = {"type": "object", "properties": {"aggregate": {
    "type": "object", "properties": {"name": c.NAME, "availability_zone": AZ},
    "additionalProperties": False, "minProperties": 1}},
    "required": ["aggregate"], "additionalProperties": False}
HOST = {"type": "object", "properties": {"host": {"type": "string", "minLength": 1,
                                                  "maxLength": 255}},
        "required": ["host"], "additionalProperties": False}
METADATA = {"type": "object", "properties": {"metadata": {
    "type": "object", "patternProperties": {
        r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "null"], "maxLength": 255}},
    "additionalProperties": False}},
    "required": ["metadata"], "additionalProperties": False}
ACTION = {"type": "object", "properties": {"add_host": HOST, "remove_host": HOST,
                                           "set_metadata": METADATA},
          "minProperties": 1, "maxProperties": 1, "additionalProperties": False}


def _metadata(s, a: m.Aggregate) -> dict[str, str]:
    return {r.key: r.value for r in s.scalars(
        select(m.AggregateMetadata).where(m.AggregateMetadata.aggregate_id == a.id))}


def _hosts(s, a: m.Aggregate) -> list[str]:
    return sorted(s.scalars(select(m.AggregateHost.host).where(
        m.AggregateHost.aggregate_id == a.id)))


def _short(a: m.Aggregate, az: str | None) -> dict:
    return {"availability_zone": az, "created_at": c.isotime(a.created_at), "deleted": False,
            "deleted_at": None, "id": a.id, "name": a.name,
            "updated_at": c.isotime(a.updated_at)}


def _full(s, a: m.Aggregate) -> dict:
    md = _metadata(s, a)
    return {**_short(a, md.get(zones.AZ_KEY)), "hosts": _hosts(s, a), "metadata": md}


def _get(s, aggregate_id: str) -> m.Aggregate:
    a = s.get(m.Aggregate, int(aggregate_id)) if aggregate_id.isdigit() else None
    if a is None:
        raise errors.NotFound(f"Aggregate {aggregate_id} could not be found.")
    return a


def _check_name(s, name: str, own_id: int | None = None) -> None:
    other = s.scalar(select(m.Aggregate).where(m.Aggregate.name == name))
    if other is not None and other.id != own_id:
        raise errors.Conflict(f"Aggregate {name} already exists.")


def _check_zone_for_hosts(s, a: m.Aggregate, new_zone: str | None, status=errors.BadRequest):
    """Refuse a zone for ``a`` that would put one of its hosts in two zones."""
    current = zones.host_zones(s)
    own = _metadata(s, a).get(zones.AZ_KEY)
    for host in _hosts(s, a):
        others = set(current.get(host, set()))
        if own:
            others.discard(own)
        clash = zones.zone_conflict(others, new_zone)
        if clash:
            raise status(f"Cannot update aggregate {a.id}. Reason: One or more hosts already "
                         f"in availability zone(s) ['{clash}'].")


def _set_zone(s, a: m.Aggregate, zone: str | None) -> None:
    row = s.get(m.AggregateMetadata, (a.id, zones.AZ_KEY))
    if zone is None:
        if row is not None:
            s.delete(row)
    elif row is None:
        s.add(m.AggregateMetadata(aggregate_id=a.id, key=zones.AZ_KEY, value=zone))
    else:
        row.value = zone


@routes.get("/v2.1/os-aggregates")
def list_aggregates(req):
    req.authorize("os_compute_api:os-aggregates:index")
    with req.db.session() as s:
        return {"aggregates": [_full(s, a) for a in
                               s.scalars(select(m.Aggregate).order_by(m.Aggregate.id))]}


@routes.post("/v2.1/os-aggregates")
def create_aggregate(req):
    req.authorize("os_compute_api:os-aggregates:create")
    body = c.validate(req.json(), CREATE)["aggregate"]
    zone = body.get("availability_zone")
    with req.db.session() as s:
        _check_name(s, body["name"])
        a = m.Aggregate(uuid=str(uuid.uuid4()), name=body["name"])
        s.add(a)
        s.flush()
        _set_zone(s, a, zone)
        s.flush()
        return {"aggregate": _short(a, zone)}


@routes.get("/v2.1/os-aggregates/{aggregate_id}")
def show_aggregate(req):
    req.authorize("os_compute_api:os-aggregates:show")
    with req.db.session() as s:
        return {"aggregate": _full(s, _get(s, req.path_params["aggregate_id"]))}


@routes.put("/v2.1/os-aggregates/{aggregate_id}")
def update_aggregate(req):
    req.authorize("os_compute_api:os-aggregates:update")
    body = c.validate(req.json(), UPDATE)["aggregate"]
    with req.db.session() as s:
        a = _get(s, req.path_params["aggregate_id"])
        if "name" in body:
            _check_name(s, body["name"], a.id)
            a.name = body["name"]
        if "availability_zone" in body:
            _check_zone_for_hosts(s, a, body["availability_zone"])
            _set_zone(s, a, body["availability_zone"])
        a.updated_at = utcnow()
        s.flush()
        return {"aggregate": _full(s, a)}


@routes.delete("/v2.1/os-aggregates/{aggregate_id}")
def delete_aggregate(req):
    req.authorize("os_compute_api:os-aggregates:delete")
    with req.db.session() as s:
        a = _get(s, req.path_params["aggregate_id"])
        if _hosts(s, a):
            raise errors.BadRequest(f"Cannot remove aggregate {a.id}. Reason: Host aggregate "
                                    "is not empty.")
        for row in s.scalars(select(m.AggregateMetadata).where(
                m.AggregateMetadata.aggregate_id == a.id)):
            s.delete(row)
        s.delete(a)
    return 200, None


def _add_host(s, a: m.Aggregate, host: str) -> None:
    if s.scalar(select(m.ComputeNode.id).where(m.ComputeNode.host == host)) is None:
        raise errors.NotFound(f"Compute host {host} could not be found.")
    if s.get(m.AggregateHost, (a.id, host)) is not None:
        raise errors.Conflict(f"Aggregate {a.id} already has host {host}.")
    zone = _metadata(s, a).get(zones.AZ_KEY)
    clash = zones.zone_conflict(zones.host_zones(s).get(host, set()), zone)
    if clash:
        raise errors.Conflict(f"Cannot add host to aggregate {a.id}. Reason: One or more "
                              f"hosts already in availability zone(s) ['{clash}'].")
    s.add(m.AggregateHost(aggregate_id=a.id, host=host))


def _set_metadata(s, a: m.Aggregate, metadata: dict) -> None:
    if zones.AZ_KEY in metadata:
        _check_zone_for_hosts(s, a, metadata[zones.AZ_KEY])
    for key, value in metadata.items():
        row = s.get(m.AggregateMetadata, (a.id, key))
        if value is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(m.AggregateMetadata(aggregate_id=a.id, key=key, value=value))
        else:
            row.value = value


@routes.post("/v2.1/os-aggregates/{aggregate_id}/action")
def aggregate_action(req):
    body = c.validate(req.json(), ACTION)
    action = next(iter(body))
    req.authorize(f"os_compute_api:os-aggregates:{action}")
    with req.db.session() as s:
        a = _get(s, req.path_params["aggregate_id"])
        if action == "add_host":
            _add_host(s, a, body[action]["host"])
        elif action == "remove_host":
            host = body[action]["host"]
            row = s.get(m.AggregateHost, (a.id, host))
            if row is None:
                raise errors.NotFound(f"Cannot remove host {host} in aggregate {a.id}")
            s.delete(row)
        else:
            _set_metadata(s, a, body[action]["metadata"])
        a.updated_at = utcnow()
        s.flush()
        s.expire_all()
        return {"aggregate": _full(s, a)}
