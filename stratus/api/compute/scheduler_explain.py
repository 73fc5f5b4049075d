"""Admin-only Stratus extension: explain a scheduling decision.

``POST /v2.1/os-scheduler-explain`` takes the body of a server create
(``{"server": {"flavorRef", "imageRef"?, "availability_zone"?, "min_count"?,
...}, "os:scheduler_hints": {...}}``; other server keys are accepted and
ignored) and answers 200 ``{"explanation": {...}}``: what the configured
driver would decide for one such instance now (the driver, the cell stage,
each filter's hosts in / survivors / removed hosts and reason, the weights
best first, the reason when nothing fits).  Nothing is created or claimed.

``GET /v2.1/servers/{server_id}/os-scheduler-explain`` re-runs an existing
server's request spec (retry list and server group included) against the
hosts as they are now.

Policy ``os_compute_api:os-scheduler-explain`` (default admin).  A bad
flavor, image, zone, group or hint (a bad JsonFilter ``query``) is a 400
naming the problem.  The document is described in docs/scheduler.md.
"""
from __future__ import annotations

import uuid as uuidlib
from types import SimpleNamespace

from stratus.api.compute import server_create
from stratus.api.compute import server_lookups as lookups
from stratus.api.compute import server_scheduling as scheduling
from stratus.api.compute import server_schema as schema
from stratus.api.compute.server_common import get_instance
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.scheduler import request as sched_request
from stratus.scheduler import service

routes = RouteTable()
RULE = "os_compute_api:os-scheduler-explain"
EXPLAIN_SERVER = {**schema.SERVER_CREATE, "required": ["flavorRef"]}
BODY_KEYS = {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints", "project_id"}


def parse(body) -> tuple[dict, dict, str | None]:
    """``(server, hints, project_id)`` of an explain body, schema-checked."""
    if not isinstance(body, dict):
        raise errors.ValidationError("The request body must be a JSON object.")
    unknown = set(body) - BODY_KEYS
    if unknown:
        raise errors.ValidationError("Invalid input for field/attribute: additional "
                                     f"properties are not allowed ({', '.join(sorted(unknown))})")
    server = schema.validate(schema.body_of(body, "server"), EXPLAIN_SERVER, "server")
    hints = body.get("OS-SCH-HNT:scheduler_hints", body.get("os:scheduler_hints")) or {}
    schema.validate(hints, schema.HINTS, "os:scheduler_hints")
    if "query" in hints:
        from stratus.scheduler.filters import json_filter
        try:
            json_filter.validate(hints["query"])
        except ValueError as exc:
            raise errors.BadRequest(f"Invalid scheduler hint 'query': {exc}") from None
    project_id = body.get("project_id")
    if project_id is not None and (not isinstance(project_id, str) or not project_id):
        raise errors.ValidationError("project_id must be a non-empty string.")
    return server, hints, project_id


def request_of(session, conf, ctx, body) -> tuple[sched_request.RequestSpec, dict]:
    """The scheduler's view of a would-be server, and its echo for the answer."""
    server, hints, project_id = parse(body)
    lo, hi = schema.counts(server)
    flavor = lookups.flavor(session, ctx, server["flavorRef"])
    image_id = schema.boot_image(server) if server.get("imageRef") else None
    img = lookups.image(session, ctx, image_id, flavor) if image_id else None
    zone, forced_host = lookups.availability_zone(session, conf, ctx,
                                                  server.get("availability_zone"))
    group = lookups.server_group(session, ctx, hints.get("group"))
    snapshot = lookups.flavor_snapshot(session, flavor)
    scheduling.check_flavor_demands(snapshot["extra_specs"])   # as server create: 400
    raw = {**server_create._request_spec(server, hints, group, forced_host),
           **(scheduling.image_request(session, img) if img is not None else {})}
    inst = SimpleNamespace(
        uuid=str(uuidlib.uuid4()), project_id=project_id or ctx.project_id,
        vcpus=flavor.vcpus, memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb, flavor=snapshot, request_spec=raw,
        requested_az=zone)
    spec = sched_request.from_instance(inst)
    echo = {"flavor": {"id": flavor.flavorid, "name": flavor.name},
            "image": image_id, "min_count": lo, "max_count": hi}
    return spec, echo


def _request_view(spec: sched_request.RequestSpec, extra: dict) -> dict:
    return {**extra, "project_id": spec.project_id, "vcpus": spec.vcpus,
            "memory_mb": spec.memory_mb, "disk_gb": spec.disk_gb, "ecu": spec.ecu,
            "bandwidth_kbps": spec.bandwidth_kbps,
            "availability_zone": spec.availability_zone, "force_host": spec.force_host,
            "scheduler_hints": dict(spec.hints), "group": spec.group_uuid,
            "tried_hosts": sorted(spec.tried_hosts),
            "image_props": dict(getattr(spec, "image_props", {}) or {})}


@routes.post("/v2.1/os-scheduler-explain")
def explain_request(req):
    req.authorize(RULE, {"project_id": req.ctx.project_id})
    body = req.json()
    with req.db.session() as s:
        spec, echo = request_of(s, req.conf, req.ctx, body)
    decision = service.explain(req.db, req.conf, spec)
    return {"explanation": {"request": _request_view(spec, echo), **decision}}


@routes.get("/v2.1/servers/{server_id}/os-scheduler-explain")
def explain_server(req):
    req.authorize(RULE, {"project_id": req.ctx.project_id})
    with req.db.session() as s:
        inst = get_instance(s, req, req.path_params["server_id"])
        spec = sched_request.from_instance(inst)
        flavor = inst.flavor or {}
        echo = {"server": {"id": inst.uuid, "host": inst.host, "vm_state": inst.vm_state,
                           "task_state": inst.task_state},
                "flavor": {"id": flavor.get("id"), "name": flavor.get("name")},
                "image": inst.image_ref}
    decision = service.explain(req.db, req.conf, spec)
    return {"explanation": {"request": _request_view(spec, echo), **decision}}
