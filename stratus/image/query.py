"""GET /v2/images: filters, sorting and paging as Glance reads them.

Default listing for a non-admin: public images, the project's own images
(any visibility) and shared images the project accepted; community images
only with ``visibility=community``; ``os_hidden`` images only with
``os_hidden=true``.  An admin lists every image (filters still apply).
"""
from __future__ import annotations

from sqlalchemy import and_, exists, or_, select

from stratus.api.pagination import PageRequest
from stratus.common import errors
from stratus.db.models import image as m
from stratus.image.api import (CONTAINER_FORMATS, DISK_FORMATS, MEMBER_STATUSES, STATUSES,
                               VISIBILITIES, is_admin, member_clause)

SORT_KEYS = {"name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at", "visibility", "owner", "min_disk", "min_ram", "virtual_size"}
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
PAGING = {"limit", "marker", "sort_key", "sort_dir", "sort"}
COLUMN_FILTERS = {"name", "status", "visibility", "owner", "disk_format", "container_format",
                  "id"}
INT_FILTERS = {"size", "virtual_size", "min_ram", "min_disk"}
HASH_FILTERS = {"checksum", "os_hash_value", "os_hash_algo"}
SPECIAL = {"member_status", "tag", "size_min", "size_max", "protected", "os_hidden",
           "changes-since"}


def _bool(name: str, value: str) -> bool:
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise errors.BadRequest(f"Invalid value {value!r} for filter {name}: must be a boolean.")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid value {value!r} for filter {name}: must be an "
                                f"integer.") from None


def parse_page(query) -> PageRequest:
    raw = query.get("limit")
    limit = DEFAULT_LIMIT if raw is None else _int("limit", raw)
    if limit < 0:
        raise errors.BadRequest("limit param must be positive")
    limit = min(limit, MAX_LIMIT)
    keys, dirs = query.getlist("sort_key"), query.getlist("sort_dir")
    sort_param = query.get("sort")
    if sort_param and (keys or dirs):
        raise errors.BadRequest("The 'sort' parameter cannot be combined with 'sort_key' or "
                                "'sort_dir'.")
    sort: list[tuple[str, str]] = []
    if sort_param:
        for item in sort_param.split(","):
            key, _, d = item.strip().partition(":")
            sort.append((key.strip(), (d or "desc").strip()))
    else:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise errors.BadRequest("Number of sort dirs does not match the number of sort "
                                    "keys")
        for i, key in enumerate(keys):
            sort.append((key, dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")))
        if not keys and dirs:
            sort.append(("created_at", dirs[0]))
    for key, d in sort:
        if key not in SORT_KEYS:
            raise errors.BadRequest(f"Invalid sort key: {key}. It should be one of the "
                                    f"following: {', '.join(sorted(SORT_KEYS))}.")
        if d not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid sort direction: {d}. It must be 'asc' or "
                                    f"'desc'.")
    return PageRequest(limit, query.get("marker") or None, sort or [("created_at", "desc")])


def _in_or_eq(col, name: str, value: str, allowed=None):
    values = value[3:].split(",") if value.startswith("in:") else [value]
    values = [v.strip('"') for v in values]
    if allowed is not None:
        for v in values:
            if v not in allowed:
                raise errors.BadRequest(f"Invalid {name} value: {v}")
    return col.in_(values) if len(values) > 1 else col == values[0]


def select_images(query, ctx):
    """The SELECT of images ``ctx`` asked for with ``query`` (no paging)."""
    stmt = select(m.Image)
    admin = is_admin(ctx)
    pid = ctx.project_id
    visibility = query.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES + ("all",):
        raise errors.BadRequest(f"Invalid visibility value: {visibility}")
    member_status = query.get("member_status", "accepted")
    if member_status not in MEMBER_STATUSES + ("all",):
        raise errors.BadRequest(f"Invalid status value: {member_status}")
    statuses = None if member_status == "all" else (member_status,)
    shared_with_me = and_(m.Image.visibility == "shared", member_clause(pid, statuses))

    if visibility in (None, "all"):
        if not admin:
            stmt = stmt.where(or_(m.Image.visibility == "public", m.Image.owner == pid,
                                  shared_with_me,
                                  *([m.Image.visibility == "community"]
                                    if visibility == "all" else [])))
    else:
        stmt = stmt.where(m.Image.visibility == visibility)
        if not admin:
            if visibility == "private":
                stmt = stmt.where(m.Image.owner == pid)
            elif visibility == "shared":
                stmt = stmt.where(or_(m.Image.owner == pid, member_clause(pid, statuses)))
    if "member_status" in query and visibility is None and not admin:
        stmt = stmt.where(or_(m.Image.visibility != "shared", m.Image.owner == pid,
                              member_clause(pid, statuses)))

    for name in ("name", "owner", "id"):
        if name in query:
            stmt = stmt.where(_in_or_eq(getattr(m.Image, name), name, query[name]))
    if "status" in query:
        stmt = stmt.where(_in_or_eq(m.Image.status, "status", query["status"], STATUSES))
    if "disk_format" in query:
        stmt = stmt.where(_in_or_eq(m.Image.disk_format, "disk_format", query["disk_format"],
                                    DISK_FORMATS))
    if "container_format" in query:
        stmt = stmt.where(_in_or_eq(m.Image.container_format, "container_format",
                                    query["container_format"], CONTAINER_FORMATS))
    for name in INT_FILTERS & set(query.keys()):
        stmt = stmt.where(getattr(m.Image, name) == _int(name, query[name]))
    for name in HASH_FILTERS & set(query.keys()):
        stmt = stmt.where(_in_or_eq(getattr(m.Image, name), name, query[name]))
    if "size_min" in query:
        stmt = stmt.where(m.Image.size >= _int("size_min", query["size_min"]))
    if "size_max" in query:
        stmt = stmt.where(m.Image.size <= _int("size_max", query["size_max"]))
    if "protected" in query:
        stmt = stmt.where(m.Image.protected.is_(_bool("protected", query["protected"])))
    hidden = _bool("os_hidden", query["os_hidden"]) if "os_hidden" in query else False
    stmt = stmt.where(m.Image.os_hidden.is_(hidden))
    for tag in query.getlist("tag"):
        stmt = stmt.where(exists().where(m.ImageTag.image_id == m.Image.id,
                                         m.ImageTag.value == tag))
    for name, value in query.multi_items():
        if name in PAGING or name in COLUMN_FILTERS or name in SPECIAL or \
                name in INT_FILTERS or name in HASH_FILTERS:
            continue
        stmt = stmt.where(exists().where(m.ImageProperty.image_id == m.Image.id,
                                         m.ImageProperty.name == name,
                                         m.ImageProperty.value == value))
    return stmt
