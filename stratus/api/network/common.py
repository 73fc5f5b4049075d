"""Neutron request/response conventions shared by the resource modules:
body validation against an attribute map, list filters (any attribute,
repeated parameters = any of), ``fields=``, sorting and keyset pagination with
``<collection>_links``."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import Boolean, Integer, select

from stratus.api import pagination
from stratus.common import errors
from stratus.network import exceptions as exc

LOG = logging.getLogger(__name__)
PAGING = {"limit", "marker", "page_reverse", "sort_key", "sort_dir", "fields"}


@dataclass
class Attr:
    """One API attribute: its column (None: not a column), value type, and
    whether create/update may set it (``admin`` = admins only)."""
    column: str | None
    kind: str = "str"          # str | bool | int | list | dict | any
    post: bool = True
    put: bool = True
    admin: bool = False        # only admins may set it
    hidden: bool = False       # only admins see it (and may filter on it)
    nullable: bool = False
    max_len: int = 255


def to_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise exc.HTTPBadRequest(f"'{value}' is not a valid boolean value for {name}.")


def check_value(name: str, attr: Attr, value):
    if value is None:
        if attr.nullable:
            return None
        raise exc.HTTPBadRequest(f"'None' is not a valid value for {name}.")
    if attr.kind == "bool":
        return to_bool(value, name)
    if attr.kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise exc.HTTPBadRequest(f"'{value}' is not an integer for {name}.")
        try:
            return int(value)
        except ValueError:
            raise exc.HTTPBadRequest(f"'{value}' is not an integer for {name}.") from None
    if attr.kind == "str":
        if not isinstance(value, str):
            raise exc.HTTPBadRequest(f"'{value}' is not a valid string for {name}.")
        if len(value) > attr.max_len:
            raise exc.HTTPBadRequest(f"'{value[:20]}...' exceeds maximum length of "
                                   f"{attr.max_len} for {name}.")
        return value
    if attr.kind == "list" and not isinstance(value, list):
        raise exc.HTTPBadRequest(f"'{value}' is not a list for {name}.")
    if attr.kind == "dict" and not isinstance(value, dict):
        raise exc.HTTPBadRequest(f"'{value}' is not a dictionary for {name}.")
    return value


def body(req, wrapper: str, attrs: dict[str, Attr], action: str) -> dict:
    """The validated ``{wrapper: {...}}`` entity; 400 on unknown or read-only
    attributes, 403 on admin-only ones set by non-admins."""
    doc = req.json()
    if not isinstance(doc, dict) or not isinstance(doc.get(wrapper), dict):
        raise errors.BadRequest(f"Resource body required: expected an object under "
                                f"'{wrapper}'.")
    entity = doc[wrapper]
    unknown = sorted(k for k in entity if k not in attrs)
    if unknown:
        raise exc.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    out = {}
    for name, value in entity.items():
        attr = attrs[name]
        if not (attr.post if action == "post" else attr.put):
            raise exc.HTTPBadRequest(f"Attribute '{name}' not allowed in "
                                    f"{'POST' if action == 'post' else 'PUT'}")
        if attr.admin and not req.ctx.is_admin:
            raise errors.Forbidden(f"(rule:{'create' if action == 'post' else 'update'}_"
                                   f"{wrapper}:{name}) is disallowed by policy")
        out[name] = check_value(name, attr, value)
    if "tenant_id" in out:
        tid = out.pop("tenant_id")
        if out.setdefault("project_id", tid) != tid:
            raise errors.BadRequest("'project_id' and 'tenant_id' differ.")
    return out


class _ItemRequest:
    """``req`` as one item of a bulk request: ``json()`` is ``doc`` and the
    path parameters are ``path_params``; everything else is ``req``'s."""

    def __init__(self, req, doc: dict, path_params: dict | None = None):
        self._req, self._doc = req, doc
        self.path_params = path_params if path_params is not None else req.path_params

    def json(self, required: bool = True):
        return self._doc

    def __getattr__(self, name):
        return getattr(self._req, name)


def is_bulk(req, collection: str) -> bool:
    """Is the POST body neutron's bulk form ``{collection: [...]}``?"""
    doc = req.json()
    return isinstance(doc, dict) and set(doc) == {collection}


def bulk_create(req, wrapper: str, collection: str, create, delete) -> tuple:
    """Neutron's bulk create: ``{collection: [{...}, ...]}`` creates each item
    as ``create`` (the single-item POST handler) would and answers 201
    ``{collection: [...]}`` in order.  All or nothing: when an item fails, the
    ones already created are deleted with ``delete`` (the DELETE handler) and
    the item's error is raised."""
    items = req.json()[collection]
    if not isinstance(items, list) or not items:
        raise errors.BadRequest(f"Resources required: expected a non-empty list under "
                                f"'{collection}'.")
    done = []
    try:
        for item in items:
            if not isinstance(item, dict):
                raise errors.BadRequest(f"Resource body required: expected objects in "
                                        f"'{collection}'.")
            _, body = create(_ItemRequest(req, {wrapper: item}))
            done.append(body[wrapper])
    except Exception:
        for made in reversed(done):
            try:
                delete(_ItemRequest(req, None, {f"{wrapper}_id": made["id"]}))
            except Exception:  # keep the item's error; log the leftover
                LOG.exception("bulk create: cannot delete %s %s", wrapper, made["id"])
        raise
    return 201, {collection: done}


def owner(req, ref: dict) -> str:
    """The project a new resource belongs to: the caller's, or (admins only)
    the one named in the body."""
    project = ref.pop("project_id", None) or req.ctx.project_id
    if project != req.ctx.project_id and not req.ctx.is_admin:
        raise errors.Forbidden("Specifying 'project_id' or 'tenant_id' other than the "
                               "authenticated project in request requires admin privileges")
    if not project:
        raise errors.BadRequest("A project-scoped token or a project_id is required.")
    return project


def filters(stmt, model, query, attrs: dict[str, Attr], is_admin: bool):
    """WHERE for each ``attr=value`` parameter naming a column attribute;
    repeated parameters match any of the values."""
    for name in set(query.keys()) - PAGING:
        attr = attrs.get(name)
        if attr is None or attr.column is None or (attr.hidden and not is_admin):
            continue  # Neutron ignores filters it does not know
        col = getattr(model, attr.column)
        values = query.getlist(name)
        if isinstance(col.type, Boolean):
            values = [to_bool(v, name) for v in values]
        elif isinstance(col.type, Integer):
            values = [check_value(name, Attr(None, "int"), v) for v in values]
        stmt = stmt.where(col.in_(values))
    return stmt


def listing(req, session, stmt, model, collection: str, attrs: dict[str, Attr], render,
            default_sort=(("id", "asc"),)) -> dict:
    """Run ``stmt`` (already restricted to what the caller may see) with the
    query's filters, sorting and pagination; ``render(rows)`` gives the dicts
    (one call, so it can batch its own queries)."""
    q = req.query
    stmt = filters(stmt, model, q, attrs, req.ctx.is_admin)
    keys, dirs = q.getlist("sort_key"), q.getlist("sort_dir")
    if len(dirs) > len(keys) or (dirs and len(dirs) != len(keys)):
        raise errors.BadRequest("The number of sort_keys and sort_dirs must be same")
    sort = []
    for i, k in enumerate(keys):
        attr = attrs.get(k)
        if attr is None or attr.column is None:
            raise errors.BadRequest(f"{k} is invalid attribute for sort_key")
        d = dirs[i] if dirs else "asc"
        if d not in ("asc", "desc"):
            raise errors.BadRequest(f"{d} is invalid value for sort_dir")
        sort.append((attr.column, d))
    sort = sort or list(default_sort)
    reverse = to_bool(q.get("page_reverse", "false"), "page_reverse")
    limit = None
    if q.get("limit") not in (None, "", "0"):
        limit = check_value("limit", Attr(None, "int"), q["limit"])
        if limit < 0:
            raise errors.BadRequest(f"Limit must be an integer 0 or greater and not "
                                    f"'{limit}'")
    limit = min(limit or req.conf.DEFAULT.osapi_max_limit, req.conf.DEFAULT.osapi_max_limit)
    eff = [(k, ("desc" if d == "asc" else "asc") if reverse else d) for k, d in sort]
    page = pagination.PageRequest(limit + 1, q.get("marker") or None, eff)
    rows = list(session.scalars(pagination.apply(session, stmt, model, page)))
    more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    out = {collection: only_fields(req, render(rows))}
    if q.get("limit") or q.get("marker"):
        out[f"{collection}_links"] = _links(req, rows, more, reverse)
    return out


def only_fields(req, items):
    """Apply ``fields=`` (repeatable) to a dict or a list of dicts."""
    fields = req.query.getlist("fields")
    if not fields:
        return items
    if isinstance(items, dict):
        return {k: v for k, v in items.items() if k in fields}
    return [{k: v for k, v in it.items() if k in fields} for it in items]


def _links(req, rows, more: bool, reverse: bool) -> list[dict]:
    base = req.url_for(req.raw.url.path[len("/network"):] if
                       req.raw.url.path.startswith("/network") else req.raw.url.path)
    params = [(k, v) for k, v in req.query.multi_items() if k not in ("marker", "page_reverse")]
    links = []
    marker = bool(req.query.get("marker"))
    # "more" is past the end of the page in the direction we read.
    has_next, has_prev = (marker, more) if reverse else (more, marker)
    if rows and has_next:
        links.append({"rel": "next", "href": f"{base}?" + urlencode(
            params + [("marker", rows[-1].id)])})
    if rows and has_prev:
        links.append({"rel": "previous", "href": f"{base}?" + urlencode(
            params + [("marker", rows[0].id), ("page_reverse", "True")])})
    return links


def get_visible(session, model, resource_id: str, clause, not_found):
    row = session.scalar(select(model).where(model.id == resource_id, clause))
    if row is None:
        raise not_found(resource_id)
    return row
