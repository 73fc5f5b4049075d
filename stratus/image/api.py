"""Image domain logic shared by the Image API and the other services: who may
see an image, creating image rows, and the Glance v2 representation.

Visibility (as Glance): an admin sees every image; others see public and
community images, their own project's images, and ``shared`` images their
project is a member of (any member status for a direct GET; listings show
only accepted ones unless ``member_status`` says otherwise).
"""
from __future__ import annotations

import uuid

from sqlalchemy import and_, exists, or_, select

from stratus.db.models import image as m
from stratus.db.models.identity import utcnow

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = ("queued", "saving", "active", "killed", "deleted", "pending_delete",
            "deactivated", "uploading", "importing")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
# Attributes stored in image columns; everything else is an extra property.
CORE = ("id", "name", "status", "visibility", "owner", "disk_format", "container_format",
        "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "min_disk",
        "min_ram", "protected", "os_hidden", "created_at", "updated_at")
READ_ONLY = ("id", "status", "size", "virtual_size", "checksum", "os_hash_algo",
             "os_hash_value", "created_at", "updated_at", "self", "file", "schema",
             "direct_url", "locations", "stores")
RESERVED = ("self", "file", "schema", "direct_url", "locations", "tags", "stores",
            "os_glance_importing_to_stores", "os_glance_failed_import")


def is_admin(ctx) -> bool:
    return bool(ctx is not None and ctx.is_admin)


def member_clause(project_id, statuses: tuple[str, ...] | None):
    q = and_(m.ImageMember.image_id == m.Image.id, m.ImageMember.member == project_id)
    if statuses:
        q = and_(q, m.ImageMember.status.in_(statuses))
    return exists().where(q)


def visible_clause(ctx):
    """SQL condition: the image may be read by ``ctx`` (direct GET)."""
    if is_admin(ctx):
        return None
    pid = ctx.project_id
    return or_(m.Image.visibility.in_(("public", "community")), m.Image.owner == pid,
               and_(m.Image.visibility == "shared", member_clause(pid, None)))


def get_image(session, image_id: str, ctx) -> m.Image | None:
    """The image row if it exists and ``ctx`` may see it, else None."""
    if not isinstance(image_id, str) or len(image_id) > 36:
        return None
    q = select(m.Image).where(m.Image.id == image_id)
    clause = visible_clause(ctx)
    if clause is not None:
        q = q.where(clause)
    return session.execute(q).scalar()


def new_image(session, *, owner: str | None, fields: dict, properties: dict | None = None,
              tags: list[str] | None = None) -> m.Image:
    """Insert an image row (status queued) with its properties and tags."""
    now = utcnow()
    img = m.Image(id=fields.get("id") or str(uuid.uuid4()), name=fields.get("name"),
                  status="queued", visibility=fields.get("visibility") or "shared",
                  owner=owner, disk_format=fields.get("disk_format"),
                  container_format=fields.get("container_format"),
                  min_disk=fields.get("min_disk") or 0, min_ram=fields.get("min_ram") or 0,
                  protected=bool(fields.get("protected", False)),
                  os_hidden=bool(fields.get("os_hidden", False)), created_at=now,
                  updated_at=now)
    session.add(img)
    for k, v in (properties or {}).items():
        session.add(m.ImageProperty(image_id=img.id, name=k, value=str(v)))
    for t in dict.fromkeys(tags or []):
        session.add(m.ImageTag(image_id=img.id, value=t))
    session.flush()
    return img


def create_snapshot_image(session, ctx, name: str, properties: dict) -> str:
    """A queued, private image owned by the caller's project, to receive a
    server snapshot.  Core attributes in ``properties`` (disk_format,
    container_format, min_disk, min_ram) set the columns; the rest become
    extra string properties."""
    props = dict(properties or {})
    fields = {"name": name, "visibility": "private",
              "disk_format": props.pop("disk_format", None) or "qcow2",
              "container_format": props.pop("container_format", None) or "bare",
              "min_disk": int(props.pop("min_disk", 0) or 0),
              "min_ram": int(props.pop("min_ram", 0) or 0)}
    for k in CORE + RESERVED:
        props.pop(k, None)
    props = {k: ("" if v is None else str(v)) for k, v in props.items()}
    return new_image(session, owner=ctx.project_id, fields=fields, properties=props).id


def properties_of(session, image_ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {i: {} for i in image_ids}
    if image_ids:
        for p in session.execute(select(m.ImageProperty).where(
                m.ImageProperty.image_id.in_(image_ids))).scalars():
            out[p.image_id][p.name] = p.value
    return out


def tags_of(session, image_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in image_ids}
    if image_ids:
        for t in session.execute(select(m.ImageTag).where(m.ImageTag.image_id.in_(image_ids))
                                 .order_by(m.ImageTag.created_at, m.ImageTag.value)).scalars():
            out[t.image_id].append(t.value)
    return out


def isotime(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def to_dict(img: m.Image, properties: dict[str, str], tags: list[str]) -> dict:
    """The Glance v2 image body."""
    body = dict(properties)
    body.update({
        "id": img.id, "name": img.name, "status": img.status, "visibility": img.visibility,
        "protected": bool(img.protected), "os_hidden": bool(img.os_hidden),
        "checksum": img.checksum, "os_hash_algo": img.os_hash_algo,
        "os_hash_value": img.os_hash_value, "owner": img.owner, "size": img.size,
        "virtual_size": img.virtual_size, "min_ram": img.min_ram, "min_disk": img.min_disk,
        "disk_format": img.disk_format, "container_format": img.container_format,
        "created_at": isotime(img.created_at), "updated_at": isotime(img.updated_at),
        "tags": list(tags), "self": f"/v2/images/{img.id}",
        "file": f"/v2/images/{img.id}/file", "schema": "/v2/schemas/image",
    })
    return body


def image_dicts(session, images: list[m.Image]) -> list[dict]:
    ids = [i.id for i in images]
    props, tags = properties_of(session, ids), tags_of(session, ids)
    return [to_dict(i, props[i.id], tags[i.id]) for i in images]
