"""Request validation (pure): names, user metadata headers and expiry
headers, with Swift's limits and wording (from ``[object_store]``)."""
from __future__ import annotations

import math

from stratus.objectstore import errors


def check_name(kind: str, name: str, limit: int) -> None:
    n = len(name.encode("utf-8", "surrogatepass"))
    if n > limit:
        raise errors.BadRequest(f"{kind} name length of {n} longer than {limit}")
    if "\x00" in name:
        raise errors.BadRequest(f"{kind} name contains a NUL byte")


def meta_updates(headers, kind: str, extra: tuple[str, ...] = ()) -> tuple[dict, set]:
    """(set, remove): lower-case ``x-<kind>-meta-*`` (and ``extra``) headers to
    set, and those ``X-Remove-<kind>-Meta-*`` (or an empty value) removes."""
    prefix, rprefix = f"x-{kind}-meta-", f"x-remove-{kind}-meta-"
    set_, remove = {}, set()
    for k, v in headers.items():
        k = k.lower()
        if k.startswith(prefix) or k in extra:
            if v == "" and k.startswith(prefix) and kind != "object":
                remove.add(k)  # an empty value removes (objects keep empty values)
            else:
                set_[k] = v
        elif k.startswith(rprefix):
            remove.add(prefix + k[len(rprefix):])
    return set_, remove


def check_meta(meta: dict, kind: str, conf) -> None:
    """Swift's check_metadata over the resulting user metadata."""
    prefix = f"x-{kind}-meta-"
    count = size = 0
    for k, v in meta.items():
        if not k.startswith(prefix):
            continue
        name = k[len(prefix):]
        if not name:
            raise errors.BadRequest("Metadata name cannot be empty")
        count += 1
        size += len(name) + len(v)
        if len(name) > conf.max_meta_name_length:
            raise errors.BadRequest(f"Metadata name too long: {k}; max "
                                    f"{conf.max_meta_name_length}")
        if len(v) > conf.max_meta_value_length:
            raise errors.BadRequest(f"Metadata value longer than {conf.max_meta_value_length}: "
                                    f"{k}")
    if count > conf.max_meta_count:
        raise errors.BadRequest(f"Too many metadata items; max {conf.max_meta_count}")
    if size > conf.max_meta_overall_size:
        raise errors.BadRequest(f"Total metadata too large; max {conf.max_meta_overall_size}")


def delete_at(headers, now: float) -> float | None | bool:
    """The expiry time from X-Delete-At / X-Delete-After; None if neither is
    given.  BadRequest for non-integers or times in the past."""
    after = headers.get("x-delete-after")
    at = headers.get("x-delete-at")
    if after is not None:
        try:
            secs = int(after)
        except ValueError:
            raise errors.BadRequest("Non-integer X-Delete-After") from None
        if secs <= 0:
            raise errors.BadRequest("X-Delete-After in past")
        return float(math.ceil(now) + secs)
    if at is not None:
        try:
            when = int(float(at))
        except ValueError:
            raise errors.BadRequest("Non-integer X-Delete-At") from None
        if when <= now:
            raise errors.BadRequest("X-Delete-At in past")
        return float(when)
    return None
