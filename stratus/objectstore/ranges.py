"""HTTP ``Range`` for objects (pure), as Swift's swob reads it: ``bytes=`` and
a comma list of ``first-last``, ``first-`` or ``-suffix``.  A header that does
not parse is ignored (the whole object is sent); ranges starting past the end
are dropped, and if none is left the answer is 416."""
from __future__ import annotations

MAX_RANGES = 50


class Unsatisfiable(Exception):
    pass


def parse(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """Inclusive (first, last) ranges to send, or None for the whole object."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    wanted = []
    for part in spec.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        if not dash or not (first or last):
            return None
        first, last = first.strip(), last.strip()
        if (first and not first.isdigit()) or (last and not last.isdigit()):
            return None
        if first and last and int(last) < int(first):
            return None
        wanted.append((int(first) if first else None, int(last) if last else None))
    if len(wanted) > MAX_RANGES:
        return None
    out = []
    for first, last in wanted:
        if first is None:  # suffix: the last `last` bytes
            if last == 0 or size == 0:
                continue
            out.append((max(0, size - last), size - 1))
        elif first < size:
            out.append((first, size - 1 if last is None else min(last, size - 1)))
    if not out:
        raise Unsatisfiable()
    return out
