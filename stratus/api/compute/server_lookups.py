"""Database look-ups that validate a server create request: flavor, image,
networks, key pair, availability zone and server group.  Each raises the 4xx
Nova answers (mostly 400: the request names something that is not usable)."""
from __future__ import annotations

from sqlalchemy import or_, select

from stratus.api.compute import server_schema as schema
from stratus.common import errors
from stratus.db.models import compute as cm

GiB = 1024 ** 3


def flavor(session, ctx, ref) -> cm.Flavor:
    """The flavor of ``flavorRef`` (id or URL), if the caller may use it."""
    flavor_id = schema.ref_id(ref)
    row = session.scalar(select(cm.Flavor).where(cm.Flavor.flavorid == flavor_id))
    if row is not None and not row.is_public and not ctx.is_admin:
        allowed = session.scalar(select(cm.FlavorProject).where(
            cm.FlavorProject.flavor_id == row.id, cm.FlavorProject.project_id == ctx.project_id))
        row = row if allowed is not None else None
    if row is None:
        raise errors.BadRequest(f"Flavor {flavor_id} could not be found.")
    if row.disabled:
        raise errors.BadRequest("Flavor is disabled.")
    return row


def flavor_snapshot(session, f: cm.Flavor) -> dict:
    """The flavor as embedded in the instance (it may be deleted later)."""
    specs = {e.key: e.value for e in session.scalars(
        select(cm.FlavorExtraSpec).where(cm.FlavorExtraSpec.flavor_id == f.id))}
    return {"id": f.flavorid, "name": f.name, "vcpus": f.vcpus, "ram": f.memory_mb,
            "disk": f.root_gb, "ephemeral": f.ephemeral_gb, "swap": f.swap,
            "rxtx_factor": f.rxtx_factor, "extra_specs": specs}


def image(session, ctx, image_id: str, f: cm.Flavor):
    """The image row; 400 unless it is visible, active and fits the flavor."""
    from stratus.image import api as image_api
    img = image_api.get_image(session, image_id, ctx)
    if img is None:
        raise errors.BadRequest(f"Image {image_id} could not be found.")
    if img.status != "active":
        raise errors.BadRequest(f"Image {image_id} is not active.")
    check_image_fits(img.size or 0, img.min_disk or 0, img.min_ram or 0, f)
    return img


def check_image_fits(size: int, min_disk: int, min_ram: int, f) -> None:
    """Nova's _check_requested_image: a flavor with a root disk must hold the
    image and its min_disk; the flavor's RAM must reach min_ram."""
    if f.root_gb:
        disk_bytes = f.root_gb * GiB
        if size > disk_bytes or min_disk > f.root_gb:
            need = max(size, min_disk * GiB)
            raise errors.BadRequest(
                "Flavor's disk is too small for requested image. Flavor disk is "
                f"{disk_bytes} bytes, image is {need} bytes.")
    if min_ram and f.memory_mb < min_ram:
        raise errors.BadRequest("Flavor's memory is too small for requested image.")


def _visible_networks(session, ctx):
    from stratus.db.models import network as nm
    return list(session.scalars(select(nm.Network).where(
        nm.Network.external.is_(False),
        or_(nm.Network.project_id == ctx.project_id, nm.Network.shared.is_(True)))
        .order_by(nm.Network.created_at)))


def networks(session, ctx, requested, count: int) -> list[dict]:
    """Resolve ``networks`` to ``[{"network_id", "fixed_ip"?, "port_id"?}]``.

    Absent or "auto": the one network the project can use (none: no NIC; more
    than one: 409 as Nova).  "none": no NIC."""
    from stratus.db.models import network as nm
    from stratus.network.networks import network_visible
    if requested == "none":
        return []
    if requested is None or requested == "auto":
        nets = _visible_networks(session, ctx)
        if len(nets) > 1:
            raise errors.Conflict("Multiple possible networks found, use a Network ID to be "
                                  "more specific.")
        return [{"network_id": n.id} for n in nets]
    out = []
    for req in requested:
        if req.get("port"):
            if count > 1:
                raise errors.BadRequest("Unable to launch multiple instances with a single "
                                        "configured port ID. Please launch your instance one "
                                        "by one with different ports.")
            port = session.get(nm.Port, req["port"])
            if port is None or (port.project_id != ctx.project_id and not ctx.is_admin):
                raise errors.BadRequest(f"Port {req['port']} could not be found.")
            if port.device_id:
                raise errors.Conflict(f"Port {port.id} is still in use.")
            out.append({"network_id": port.network_id, "port_id": port.id})
            continue
        net_id = req.get("uuid")
        if not net_id:
            raise errors.BadRequest("Bad networks format: network uuid is not in proper "
                                    "format ()")
        if not schema.is_uuid(net_id):
            raise errors.BadRequest(f"Bad networks format: network uuid is not in proper "
                                    f"format ({net_id})")
        if network_visible(session, net_id, ctx.project_id, ctx.is_admin) is None:
            raise errors.BadRequest(f"Network {net_id} could not be found.")
        if req.get("fixed_ip") and count > 1:
            raise errors.BadRequest("max_count cannot be greater than 1 if an fixed_ip "
                                    "is specified.")
        item = {"network_id": net_id}
        if req.get("fixed_ip"):
            item["fixed_ip"] = req["fixed_ip"]
        out.append(item)
    return out


def key_pair(session, ctx, name: str | None) -> cm.KeyPair | None:
    if name is None:
        return None
    kp = session.scalar(select(cm.KeyPair).where(cm.KeyPair.user_id == ctx.user_id,
                                                 cm.KeyPair.name == name))
    if kp is None:
        raise errors.BadRequest("Invalid key_name provided.")
    return kp


def availability_zones(session, conf) -> set[str]:
    """Zones that exist: the default one and those set on aggregates."""
    zones = {conf.compute.default_availability_zone}
    zones.update(session.scalars(select(cm.AggregateMetadata.value).where(
        cm.AggregateMetadata.key == "availability_zone")))
    return zones


def availability_zone(session, conf, ctx, requested: str | None) -> tuple[str | None, str | None]:
    """``(zone, forced_host)`` of the request; ``zone:host`` forces a host
    (admins only, as Nova)."""
    requested = requested or conf.compute.default_schedule_zone or None
    if requested is None:
        return None, None
    zone, _, host = requested.partition(":")
    if host and not ctx.is_admin:
        raise errors.Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host "
                               "to be performed.")
    if zone and zone not in availability_zones(session, conf):
        raise errors.BadRequest(f"The requested availability zone is not available")
    return zone or None, host or None


def server_group(session, ctx, group_uuid: str | None) -> cm.ServerGroup | None:
    if group_uuid is None:
        return None
    q = select(cm.ServerGroup).where(cm.ServerGroup.uuid == group_uuid)
    if not ctx.is_admin:
        q = q.where(cm.ServerGroup.project_id == ctx.project_id)
    g = session.scalar(q)
    if g is None:
        raise errors.BadRequest(f"Invalid server group: {group_uuid} could not be found.")
    return g
