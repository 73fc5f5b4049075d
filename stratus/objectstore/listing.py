"""Listings (pure): Swift's ``prefix``/``delimiter``/``marker``/``end_marker``/
``limit``/``reverse`` over a sorted name source.

``fetch(lower, upper, prefix, limit, reverse)`` returns up to ``limit`` items
``(name, payload)`` with ``lower < name < upper`` (None: unbounded), starting
with ``prefix``, in byte order (descending when ``reverse``).  With a
delimiter, names whose rest after the prefix contains it collapse into one
``subdir`` entry (``("subdir", prefix + rest up to and including it)``).
"""
from __future__ import annotations

from typing import Any, Callable

TOP = "\U0010ffff"  # sorts after every valid character (UTF-8 F4 8F BF BF)
Fetch = Callable[[Any, Any, str, int, bool], list]


def collect(fetch: Fetch, *, limit: int, prefix: str = "", delimiter: str = "",
            marker: str = "", end_marker: str = "", reverse: bool = False) -> list[tuple]:
    """Entries ``("item", name, payload)`` and ``("subdir", name, None)``."""
    out: list[tuple] = []
    if reverse:
        lower, upper = end_marker or None, marker or None
    else:
        lower, upper = marker or None, end_marker or None
    while len(out) < limit:
        want = limit - len(out)
        batch = fetch(lower, upper, prefix, want, reverse)
        refetch = False
        for name, payload in batch:
            rest = name[len(prefix):]
            i = rest.find(delimiter) if delimiter else -1
            if i >= 0:
                sub = prefix + rest[:i + len(delimiter)]
                if not (out and out[-1][0] == "subdir" and out[-1][1] == sub):
                    out.append(("subdir", sub, None))
                if reverse:
                    upper = sub
                else:
                    lower = sub + TOP
                refetch = True
                break
            out.append(("item", name, payload))
            if reverse:
                upper = name
            else:
                lower = name
            if len(out) >= limit:
                break
        if not refetch and len(batch) < want:
            break
    return out[:limit]


def parse_params(query, max_limit: int) -> dict:
    """The listing parameters of a request; ValueError naming a bad one."""
    raw = query.get("limit")
    if raw is None or raw == "":
        limit = max_limit
    else:
        try:
            limit = int(raw)
        except ValueError:
            raise ValueError(f"Value of limit must be an integer: {raw!r}") from None
        if limit < 0:
            raise ValueError("Value of limit must be a positive integer")
        if limit > max_limit:
            raise ValueError(f"Maximum limit is {max_limit}")
    params = {"limit": limit, "reverse": (query.get("reverse") or "").lower()
              in ("1", "true", "yes", "on", "t", "y")}
    for key in ("prefix", "delimiter", "marker", "end_marker"):
        v = query.get(key) or ""
        if "\x00" in v:
            raise ValueError(f"Invalid {key}: contains a NUL byte")
        params[key] = v
    if len(params["delimiter"]) > 1:
        raise ValueError("Bad delimiter")
    return params
