"""POST /servers: validate everything, then create the instance rows, their
ports, metadata and action records in one transaction.  Any failure rolls the
whole transaction back, so a refused request leaves nothing half-created.
Scheduling happens after the commit (see servers.py)."""
from __future__ import annotations

import secrets
import uuid as uuidlib

from stratus.api.compute import server_lookups as lookups
from stratus.api.compute import server_schema as schema
from stratus.api.compute import server_scheduling as scheduling
from stratus.compute import actions, quotas
from stratus.compute import servers as domain
from stratus.common import errors
from stratus.db.models import compute as cm
from stratus.scheduler.filters import json_filter


def parse(body) -> tuple[dict, dict]:
    """``(server, scheduler_hints)`` of a create body, schema-checked."""
    if not isinstance(body, dict):
        raise errors.ValidationError("The request body must be a JSON object.")
    unknown = set(body) - {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}
    if unknown:
        raise errors.ValidationError("Invalid input for field/attribute: additional "
                                     f"properties are not allowed ({', '.join(sorted(unknown))})")
    server = schema.validate(schema.body_of(body, "server"), schema.SERVER_CREATE, "server")
    hints = body.get("OS-SCH-HNT:scheduler_hints", body.get("os:scheduler_hints")) or {}
    schema.validate(hints, schema.HINTS, "OS-SCH-HNT:scheduler_hints")
    if "query" in hints:  # JsonFilter's language: a bad query is the caller's error
        try:
            json_filter.validate(hints["query"])
        except ValueError as exc:
            raise errors.BadRequest(f"Invalid scheduler hint 'query': {exc}") from None
    return server, hints


def _request_spec(server: dict, hints: dict, group, forced_host) -> dict:
    spec = {"scheduler_hints": hints,
            "security_groups": [g.get("name", "default")
                                for g in server.get("security_groups") or []] or ["default"],
            "disk_config": server.get("OS-DCF:diskConfig", "MANUAL")}
    if group is not None:
        spec["group"] = {"uuid": group.uuid, "policy": group.policy, "rules": group.rules or {}}
    for key in ("same_host", "different_host"):
        if hints.get(key):
            v = hints[key]
            spec[key] = [v] if isinstance(v, str) else list(v)
    if forced_host:
        spec["force_hosts"] = [forced_host]
    return spec


def create(session, conf, ctx, body) -> tuple[list[cm.Instance], str, str | None]:
    """Create the servers of a request; returns ``(instances, reservation_id,
    admin_pass)``.  Raises an APIError (4xx) for anything invalid."""
    server, hints = parse(body)
    lo, hi = schema.counts(server)
    user_data = schema.check_user_data(server.get("user_data"))
    image_id = schema.boot_image(server)
    if image_id is None:
        raise errors.BadRequest("Block Device Mapping is Invalid: Boot sequence for the "
                                "instance and image/block device mapping combination is not "
                                "valid.")
    config_drive = schema.bool_value(server.get("config_drive"), "config_drive") or \
        bool(conf.compute.force_config_drive)

    flavor = lookups.flavor(session, ctx, server["flavorRef"])
    img = lookups.image(session, ctx, image_id, flavor)
    snapshot = lookups.flavor_snapshot(session, flavor)
    scheduling.check_flavor_demands(snapshot["extra_specs"])   # ECU/bandwidth specs: 400
    nets = lookups.networks(session, ctx, server.get("networks"), hi)
    kp = lookups.key_pair(session, ctx, server.get("key_name"))
    zone, forced_host = lookups.availability_zone(session, conf, ctx,
                                                  server.get("availability_zone"))
    group = lookups.server_group(session, ctx, hints.get("group"))
    metadata = server.get("metadata") or {}
    quotas.check_metadata(session, conf, ctx, len(metadata))
    count = _count_within_quota(session, conf, ctx, flavor, lo, hi)
    if group is not None:
        members = session.query(cm.ServerGroupMember).filter_by(group_id=group.id).count()
        quotas.check_one(session, conf, ctx, "server_group_members", members, count)

    spec = domain.BuildSpec(
        project_id=ctx.project_id, user_id=ctx.user_id,
        flavor=snapshot, image_ref=image_id,
        requested_az=zone, key_name=kp.name if kp else None,
        key_data=kp.public_key if kp else None, user_data=user_data,
        config_drive=config_drive, access_ip_v4=schema.access_ip(server.get("accessIPv4")),
        access_ip_v6=schema.access_ip(server.get("accessIPv6")),
        requested_networks=server.get("networks"),
        request_spec={**_request_spec(server, hints, group, forced_host),
                      **scheduling.image_request(session, img)},
        reservation_id="r-" + secrets.token_hex(4))
    instances = []
    for index, name in enumerate(schema.names(server["name"], count)):
        inst = domain.new_instance(spec, str(uuidlib.uuid4()), name, schema.hostname(name),
                                   index)
        session.add(inst)
        session.flush()
        for key, value in metadata.items():
            session.add(cm.InstanceMetadata(instance_uuid=inst.uuid, key=key, value=value))
        if group is not None:
            session.add(cm.ServerGroupMember(group_id=group.id, instance_uuid=inst.uuid))
        _plug(session, ctx, inst, nets, zone or conf.compute.default_availability_zone)
        actions.record(session, ctx, inst.uuid, "create")
        instances.append(inst)
    session.flush()
    admin_pass = server.get("adminPass") or schema.admin_password()
    return instances, spec.reservation_id, admin_pass


def _count_within_quota(session, conf, ctx, flavor, lo: int, hi: int) -> int:
    """As Nova: create max_count if it fits, else as many as fit down to
    min_count, else 403 naming the quota."""
    try:
        quotas.check_server_create(session, conf, ctx, hi, flavor)
        return hi
    except errors.Forbidden:
        if lo == hi:
            raise
    for n in range(hi - 1, lo - 1, -1):
        try:
            quotas.check_server_create(session, conf, ctx, n, flavor)
            return n
        except errors.Forbidden:
            if n == lo:
                raise
    raise AssertionError("unreachable")


def _plug(session, ctx, inst: cm.Instance, nets: list[dict], zone: str) -> None:
    """Create (or take over) the instance's ports."""
    from stratus.db.models import network as nm
    from stratus.network import ports
    owner = f"compute:{zone}"
    groups = _group_ids(session, inst)
    for n in nets:
        if "port_id" in n:
            port = session.get(nm.Port, n["port_id"])
            port.device_id, port.device_owner = inst.uuid, owner
            continue
        fixed = [{"ip_address": n["fixed_ip"]}] if n.get("fixed_ip") else None
        ports.create_port(session, network_id=n["network_id"], project_id=inst.project_id,
                          device_id=inst.uuid, device_owner=owner, fixed_ips=fixed,
                          security_groups=groups)


def _group_ids(session, inst: cm.Instance) -> list[str]:
    """Ids of the server's requested security groups (names or ids in its
    project; ``default`` when none); an unknown one is a 400, as nova says."""
    from stratus.network import port_security
    from stratus.network.sg_exceptions import SecurityGroupNotFound
    out: list[str] = []
    for ref in dict.fromkeys((inst.request_spec or {}).get("security_groups") or ["default"]):
        try:
            out += port_security.group_ids(session, inst.project_id, [ref])
        except SecurityGroupNotFound:
            raise errors.BadRequest(f"Security group {ref} not found for project "
                                    f"{inst.project_id}.") from None
    out = list(dict.fromkeys(out))
    # the server shows its groups by name, as nova does (clients send ids too)
    from sqlalchemy import select
    from stratus.db.models.security_group import SecurityGroup
    names = dict(session.execute(select(SecurityGroup.id, SecurityGroup.name)
                                 .where(SecurityGroup.id.in_(out))).all())
    inst.request_spec = {**(inst.request_spec or {}),
                         "security_groups": [names.get(i, i) for i in out]}
    return out
