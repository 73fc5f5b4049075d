"""Helpers shared by the Identity API resources: validation, links, lookups,
list filtering."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jsonschema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stratus.common import errors

NAME_64 = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"[\S]"}
NAME_255 = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]"}
ID = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 65535}
BOOL = {"type": "boolean"}


def new_id() -> str:
    return uuid.uuid4().hex


def entity_schema(properties: dict, required: list[str] = (), extra: bool = True,
                  min_properties: int = 0) -> dict:
    """A Keystone-style entity: named properties, extra attributes allowed
    (Keystone stores them) unless ``extra`` is False."""
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": extra, "minProperties": min_properties}


def validate(body: Any, wrapper: str, schema: dict) -> dict:
    """Check ``{wrapper: {...}}`` against ``schema``; 400 naming the field otherwise."""
    if not isinstance(body, dict):
        raise errors.ValidationError("The request body must be a JSON object.")
    if wrapper not in body:
        raise errors.ValidationError(f"Invalid input: '{wrapper}' is a required property.")
    unknown = set(body) - {wrapper}
    if unknown:
        raise errors.ValidationError(
            f"Invalid input: unexpected top-level key(s) {', '.join(sorted(unknown))}.")
    entity = body[wrapper]
    validator = jsonschema.Draft4Validator(schema)
    err = next(iter(sorted(validator.iter_errors(entity), key=lambda e: e.path)), None)
    if err is not None:
        path = ".".join(str(p) for p in err.absolute_path)
        where = f"'{wrapper}.{path}'" if path else f"'{wrapper}'"
        raise errors.ValidationError(f"Invalid input for field {where}: {err.message}")
    return entity


def link(req, path: str) -> dict:
    return {"self": req.url_for(path)}


def collection_links(req) -> dict:
    qs = str(req.raw.url.query)
    return {"self": req.url_for(req.raw.url.path[len("/identity"):]) + (f"?{qs}" if qs else ""),
            "previous": None, "next": None}


def get_or_404(session, model, id_: str, kind: str, **where):
    obj = session.get(model, id_) if id_ else None
    if obj is None or any(getattr(obj, k) != v for k, v in where.items()):
        raise errors.NotFound(f"Could not find {kind}: {id_}.")
    return obj


def bool_query(req, name: str) -> bool | None:
    v = req.query.get(name)
    if v is None:
        return None
    # Keystone treats any value but '0'/'false' as true; a bare flag is true.
    return v.lower() not in ("0", "false", "no", "off")


def apply_filters(q, model, req, names: list[str]):
    """Exact-match filters from the query string for the given columns;
    ``name__contains`` style filters as Keystone supports them for names."""
    for n in names:
        v = req.query.get(n)
        if v is None:
            continue
        col = getattr(model, n)
        if n == "enabled":
            q = q.where(col.is_(bool_query(req, n)))
        else:
            q = q.where(col == v)
    for op in ("contains", "startswith", "endswith", "icontains", "istartswith", "iendswith"):
        v = req.query.get(f"name__{op}")
        if v is None:
            continue
        col = model.name
        if op.startswith("i"):
            col, v, op = col.lower(), v.lower(), op[1:]
        q = q.where(getattr(col, op)(v, autoescape=True))
    return q


def truncate(req, items: list) -> tuple[list, bool]:
    limit = req.conf.identity.list_limit
    if limit and len(items) > limit:
        return items[:limit], True
    return items, False


def exists(session, q) -> bool:
    return session.execute(select(q.exists())).scalar()


def parse_time(field: str, value: str | None) -> dt.datetime | None:
    """An ISO 8601 time from a request body as naive UTC; 400 naming the field."""
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise errors.ValidationError(f"Invalid input for field '{field}': {value!r} is not an "
                                     "ISO 8601 time.") from None
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def listing(req, key: str, rows: list, render) -> dict:
    """A Keystone list body, truncated to ``[identity] list_limit`` if set."""
    items, truncated = truncate(req, rows)
    body = {key: [render(r) for r in items], "links": collection_links(req)}
    if truncated:
        body["truncated"] = True
    return body


def extra_of(ref: dict, known) -> dict:
    """The attributes of a request entity that are not ``known`` columns:
    Keystone stores them as-is and echoes them back."""
    return {k: v for k, v in ref.items() if k not in known}


def flush_unique(s, kind: str, name, domain_id: str | None = None) -> None:
    """Flush, turning a unique-constraint violation into Keystone's 409."""
    try:
        s.flush()
    except IntegrityError:
        where = f" at domain ID {domain_id}" if domain_id else ""
        raise errors.Conflict(f"Conflict occurred attempting to store {kind} - Duplicate "
                              f"entry found with name {name}{where}.") from None
