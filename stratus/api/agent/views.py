"""What the agent API tells a host about its instances: everything the
driver needs to boot one (flavor, image checksum, key, user data, metadata,
ports), so the agent never reads the database."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from stratus.db.models import compute as m
from stratus.db.models import image as im
from stratus.db.models import network as nm

SNAPSHOT_TASKS = ("image_snapshot", "image_snapshot_pending", "image_pending_upload",
                  "image_uploading")


def tap_name(port_id: str) -> str:
    return ("tap" + port_id)[:14]


def _iso(value):
    return value.isoformat() if value is not None else None


def _images(s, refs: set[str]) -> dict[str, im.Image]:
    if not refs:
        return {}
    return {i.id: i for i in s.scalars(select(im.Image).where(im.Image.id.in_(refs)))}


def _snapshot_targets(s, uuids: list[str]) -> dict[str, str]:
    """instance uuid -> id of the newest queued snapshot image waiting for its data
    (snapshot images carry the ``instance_uuid`` property, as nova's do)."""
    if not uuids:
        return {}
    rows = s.execute(select(im.ImageProperty.value, im.Image.id)
                     .join(im.Image, im.Image.id == im.ImageProperty.image_id)
                     .where(im.ImageProperty.name == "instance_uuid",
                            im.ImageProperty.value.in_(uuids),
                            im.Image.status == "queued")
                     .order_by(im.Image.created_at))
    return {inst: image_id for inst, image_id in rows}


def _ports(s, uuids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    if not uuids:
        return out
    ports = list(s.scalars(select(nm.Port).where(nm.Port.device_id.in_(uuids))
                           .order_by(nm.Port.created_at, nm.Port.id)))
    ips: dict[str, list[dict]] = defaultdict(list)
    if ports:
        for a in s.scalars(select(nm.IPAllocation).where(
                nm.IPAllocation.port_id.in_([p.id for p in ports]))):
            ips[a.port_id].append({"subnet_id": a.subnet_id, "ip_address": a.ip_address})
    for p in ports:
        out[p.device_id].append({"port_id": p.id, "tap": tap_name(p.id), "mac": p.mac_address,
                                 "network_id": p.network_id, "fixed_ips": ips[p.id]})
    return out


def host_instances(s, host: str) -> list[dict]:
    rows = list(s.scalars(select(m.Instance).where(m.Instance.host == host,
                                                  m.Instance.deleted == 0)
                          .order_by(m.Instance.id)))
    uuids = [r.uuid for r in rows]
    metadata: dict[str, dict] = defaultdict(dict)
    if uuids:
        for md in s.scalars(select(m.InstanceMetadata)
                            .where(m.InstanceMetadata.instance_uuid.in_(uuids))):
            metadata[md.instance_uuid][md.key] = md.value
    images = _images(s, {r.image_ref for r in rows if r.image_ref})
    snaps = _snapshot_targets(s, [r.uuid for r in rows if r.task_state in SNAPSHOT_TASKS])
    ports = _ports(s, uuids)
    return [to_dict(r, images.get(r.image_ref), metadata[r.uuid], ports[r.uuid],
                    snaps.get(r.uuid) or _requested_snapshot(r)) for r in rows]


def _requested_snapshot(r: m.Instance) -> str | None:
    """The image the createImage action recorded in the request spec."""
    if r.task_state not in SNAPSHOT_TASKS:
        return None
    return (r.request_spec or {}).get("snapshot_image_id")


def to_dict(r: m.Instance, image, metadata: dict, ports: list[dict],
            snapshot_image_id: str | None) -> dict:
    flavor = r.flavor or {}
    return {
        "uuid": r.uuid, "name": r.display_name, "hostname": r.hostname,
        "project_id": r.project_id, "user_id": r.user_id,
        "vm_state": r.vm_state, "task_state": r.task_state, "power_state": r.power_state,
        "action_seq": r.action_seq,
        "vcpus": r.vcpus, "memory_mb": r.memory_mb, "root_gb": r.root_gb,
        "ephemeral_gb": r.ephemeral_gb, "flavor_id": r.flavor_id,
        "extra_specs": dict(flavor.get("extra_specs") or {}),
        "image_ref": r.image_ref,
        "image_checksum": image.checksum if image else None,
        "image_os_hash_algo": image.os_hash_algo if image else None,
        "image_os_hash_value": image.os_hash_value if image else None,
        "image_disk_format": image.disk_format if image else None,
        "key_name": r.key_name, "key_data": r.key_data, "user_data": r.user_data,
        "config_drive": r.config_drive, "metadata": metadata,
        "availability_zone": r.availability_zone,
        "launched_at": _iso(r.launched_at), "created_at": _iso(r.created_at),
        "snapshot_image_id": snapshot_image_id,
        "ports": ports,
    }
