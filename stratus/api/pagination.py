"""Pagination (``limit``/``marker``), sorting (``sort_key``/``sort_dir``) and
exact-match filtering shared by list calls, as Nova/Neutron/Glance do them.

Pagination is keyset-based (like oslo.db's ``paginate_query``): the marker is
the id of the last item of the previous page; the next page holds the rows
that sort strictly after it.  The sort always ends with the id so the order is
total and pages never overlap or skip rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select

from stratus.common import errors


@dataclass
class PageRequest:
    limit: int
    marker: str | None
    sort: list[tuple[str, str]]  # (column name, 'asc'|'desc')


def parse(query, max_limit: int, default_sort: list[tuple[str, str]],
          sortable: set[str]) -> PageRequest:
    """Read limit, marker, sort_key and sort_dir from a query mapping; 400 on
    nonsense.  ``limit`` above ``osapi_max_limit`` is capped, not refused."""
    raw = query.get("limit")
    if raw is None:
        limit = max_limit
    else:
        try:
            limit = int(raw)
        except ValueError:
            raise errors.BadRequest(f"Invalid limit {raw!r}: must be an integer.") from None
        if limit < 0:
            raise errors.BadRequest(f"Invalid limit {raw!r}: must be >= 0.")
        limit = min(limit, max_limit)
    marker = query.get("marker") or None
    keys = query.getlist("sort_key") if hasattr(query, "getlist") else \
        ([query["sort_key"]] if query.get("sort_key") else [])
    dirs = query.getlist("sort_dir") if hasattr(query, "getlist") else \
        ([query["sort_dir"]] if query.get("sort_dir") else [])
    for k in keys:
        if k not in sortable:
            raise errors.BadRequest(f"Invalid sort_key {k!r}; valid keys: "
                                    f"{', '.join(sorted(sortable))}.")
    for d in dirs:
        if d not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid sort_dir {d!r}: must be 'asc' or 'desc'.")
    if len(dirs) > len(keys):
        raise errors.BadRequest("More sort_dir than sort_key values.")
    if keys:
        default_dir = dirs[0] if dirs else "desc"
        sort = [(k, dirs[i] if i < len(dirs) else default_dir) for i, k in enumerate(keys)]
    else:
        sort = list(default_sort)
    return PageRequest(limit, marker, sort)


def apply(session, stmt, model, page: PageRequest, id_attr: str = "id"):
    """Add ORDER BY, the marker condition and LIMIT to ``stmt``.  An unknown
    marker is a 400, as upstream ("marker not found")."""
    sort = list(page.sort)
    if id_attr not in [k for k, _ in sort]:
        sort.append((id_attr, sort[-1][1] if sort else "asc"))
    cols = [(getattr(model, k), d) for k, d in sort]
    if page.marker is not None:
        marker_row = session.execute(select(model).where(
            getattr(model, id_attr) == page.marker)).scalar()
        if marker_row is None:
            raise errors.BadRequest(f"marker [{page.marker}] not found")
        # (a, b, c) after (ma, mb, mc) in mixed directions, spelled out.
        clauses = []
        for i, (col, d) in enumerate(cols):
            value = getattr(marker_row, sort[i][0])
            prefix = [cols[j][0] == getattr(marker_row, sort[j][0]) for j in range(i)]
            step = col > value if d == "asc" else col < value
            clauses.append(and_(*prefix, step))
        stmt = stmt.where(or_(*clauses))
    stmt = stmt.order_by(*[c.asc() if d == "asc" else c.desc() for c, d in cols])
    return stmt.limit(page.limit)


def filter_exact(stmt, model, query, allowed: list[str]):
    for name in allowed:
        if name in query:
            stmt = stmt.where(getattr(model, name) == query[name])
    return stmt


def next_link(base_url: str, query, items: list, page: PageRequest, id_of=lambda i: i["id"]):
    """The ``next`` link of a full page (upstream includes one whenever the page
    is full), else None."""
    if not items or len(items) < page.limit:
        return None
    params = [(k, v) for k, v in query.multi_items() if k != "marker"] \
        if hasattr(query, "multi_items") else [(k, v) for k, v in query.items() if k != "marker"]
    params.append(("marker", id_of(items[-1])))
    return f"{base_url}?{urlencode(params)}"
