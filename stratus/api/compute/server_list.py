"""GET /servers and /servers/detail: the query of a server listing with
Nova's filters (nova/api/openstack/compute/servers.py ``_get_servers``).

Non-admins see their own project's live servers; ``all_tenants``,
``project_id``/``tenant_id``, ``host`` and ``deleted`` only take effect for
admins (ignored otherwise, as Nova does at 2.1).  Unknown filters are ignored.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import and_, false, or_, select

from stratus.api.compute import server_schema as schema
from stratus.common import errors
from stratus.compute import states
from stratus.db.models.compute import Instance

SORT_KEYS = {"created_at", "display_name", "hostname", "uuid", "updated_at", "launched_at",
             "vm_state", "task_state", "power_state", "availability_zone", "key_name",
             "project_id", "user_id", "image_ref", "flavor_id", "host", "node",
             "launch_index", "reservation_id", "terminated_at", "display_description"}


def truthy(value: str | None) -> bool:
    if value is None:
        return False
    return value.strip().lower() not in ("0", "false", "off", "no", "f", "n")


def all_tenants(query) -> bool:
    """Nova's ``is_all_tenants``: present and empty means yes; otherwise a
    boolean string (400 if it is not one)."""
    if "all_tenants" not in query:
        return False
    value = query.get("all_tenants")
    if not value:
        return True
    low = value.strip().lower()
    if low in ("1", "t", "true", "on", "y", "yes"):
        return True
    if low in ("0", "f", "false", "off", "n", "no"):
        return False
    raise errors.BadRequest(f"Invalid input received: Unrecognized value '{value}', "
                            "acceptable values are: '0', '1', 'f', 'false', 'n', 'no', "
                            "'off', 'on', 't', 'true', 'y', 'yes'")


def parse_time(value: str, field: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise errors.BadRequest(f"Invalid {field} value: {value!r} is not an ISO 8601 "
                                "time.") from None
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t


def status_clause(statuses: list[str]):
    """Rows whose API status is one of ``statuses`` (see states.status_filter)."""
    parts = []
    for vm_state, tasks, excluded in states.status_filter(statuses):
        if tasks is None:
            cond = Instance.vm_state == vm_state
            if excluded:
                cond = and_(cond, or_(Instance.task_state.is_(None),
                                      Instance.task_state.not_in(sorted(excluded))))
            parts.append(cond)
        else:
            parts.append(and_(Instance.vm_state == vm_state,
                              Instance.task_state.in_(sorted(tasks))))
    return or_(*parts) if parts else false()


def build_query(ctx, query):
    """The SELECT of the listing, without ordering and paging (the ``name``
    and ``ip`` regular expressions are applied to the rows afterwards)."""
    q = select(Instance)
    admin = ctx.is_admin
    if admin and all_tenants(query):
        # (the API checked the get_all_tenants policy first)
        project = query.get("project_id") or query.get("tenant_id")
        if project:
            q = q.where(Instance.project_id == project)
    else:
        # Without all_tenants Nova ignores tenant_id/project_id (lp:#1185290):
        # everyone, admins included, lists their own project.
        q = q.where(Instance.project_id == ctx.project_id)

    show_deleted = admin and truthy(query.get("deleted"))
    changes_since = query.get("changes-since") or query.get("changes_since")
    statuses = query.getlist("status") if hasattr(query, "getlist") else \
        ([query["status"]] if query.get("status") else [])
    if show_deleted:
        q = q.where(Instance.deleted != 0)
    elif not changes_since and not any(s.upper() in ("DELETED", "SOFT_DELETED")
                                       for s in statuses):
        q = q.where(Instance.deleted == 0)
    if changes_since:
        q = q.where(Instance.updated_at >= parse_time(changes_since, "changes-since"))
    if statuses:
        if not admin and any(s.upper() == "DELETED" for s in statuses) and \
                len(statuses) == 1:
            # Nova lets non-admins list their deleted servers only with changes-since.
            q = q.where(Instance.deleted != 0) if changes_since else q.where(false())
        else:
            q = q.where(status_clause(statuses))

    if query.get("image"):
        q = q.where(Instance.image_ref == schema.ref_id(query["image"]))
    if query.get("flavor"):
        q = q.where(Instance.flavor_id == schema.ref_id(query["flavor"]))
    if query.get("reservation_id"):
        q = q.where(Instance.reservation_id == query["reservation_id"])
    if admin and query.get("host"):
        q = q.where(Instance.host == query["host"])
    if query.get("availability_zone"):
        q = q.where(Instance.availability_zone == query["availability_zone"])
    if query.get("key_name"):
        q = q.where(Instance.key_name == query["key_name"])
    return q


def ip_matches(address: dict, ip, ip6) -> bool:
    """Nova's ip filters: ``ip`` (regexp) over any fixed address as before,
    ``ip6`` (regexp, admins; everyone from 2.5) over IPv6 ones; either matching
    keeps the server."""
    if ip is not None and ip.search(address["addr"]):
        return True
    return ip6 is not None and address.get("version") == 6 and \
        ip6.search(address["addr"]) is not None


def name_regex(value: str | None, field: str = "name"):
    """Nova matches ``name`` (and ``ip``) as a regular expression (re.search)."""
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error:
        raise errors.BadRequest(f"Invalid {field} filter {value!r}: not a regular "
                                "expression.") from None
