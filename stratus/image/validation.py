"""Checking image attributes, as Glance's image schema does (pure functions)."""
from __future__ import annotations

import uuid

from stratus.common import errors
from stratus.image.api import (CONTAINER_FORMATS, CORE, DISK_FORMATS, READ_ONLY, RESERVED,
                               VISIBILITIES)

WRITABLE_CORE = ("name", "visibility", "disk_format", "container_format", "min_disk",
                 "min_ram", "protected", "os_hidden", "owner")
MAX_INT = 2 ** 31 - 1


def _bad(name: str, why: str) -> errors.BadRequest:
    return errors.BadRequest(f"Provided object does not match schema 'image': "
                             f"{why}. Failed validating {name!r}.")


def check_value(name: str, value):
    """Validate one writable attribute (core or extra); returns the value."""
    if name == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise _bad(name, f"{value!r} is not a string of at most 255 characters")
    elif name == "visibility":
        if value not in VISIBILITIES:
            raise _bad(name, f"{value!r} is not one of {list(VISIBILITIES)}")
    elif name == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise _bad(name, f"{value!r} is not one of {list(DISK_FORMATS)}")
    elif name == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise _bad(name, f"{value!r} is not one of {list(CONTAINER_FORMATS)}")
    elif name in ("min_disk", "min_ram"):
        if type(value) is not int or not 0 <= value <= MAX_INT:
            raise _bad(name, f"{value!r} is not an integer between 0 and {MAX_INT}")
    elif name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise _bad(name, f"{value!r} is not of type 'boolean'")
    elif name == "owner":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise _bad(name, f"{value!r} is not a string of at most 255 characters")
    elif name == "tags":
        check_tags(value)
    else:
        check_property_name(name)
        if not isinstance(value, str):
            raise _bad(name, f"{value!r} is not of type 'string' (extra properties are "
                             f"strings)")
        if len(value) > 65535:
            raise _bad(name, "value is longer than 65535 characters")
    return value


def check_property_name(name: str) -> None:
    if not name or len(name) > 255:
        raise errors.BadRequest(f"Invalid property name {name!r}: 1 to 255 characters.")
    if name in RESERVED:
        raise errors.Forbidden(f"Attribute '{name}' is reserved.")
    if name in READ_ONLY:
        raise errors.Forbidden(f"Attribute '{name}' is read-only.")
    if name.startswith("os_glance"):
        raise errors.Forbidden(f"Attribute '{name}' is reserved.")


def check_tags(value) -> list[str]:
    if not isinstance(value, list):
        raise _bad("tags", f"{value!r} is not of type 'array'")
    for t in value:
        check_tag(t)
    return value


def check_tag(t) -> str:
    if not isinstance(t, str) or not t or len(t) > 255:
        raise errors.BadRequest(f"Invalid tag {t!r}: a tag is a string of 1 to 255 "
                                f"characters.")
    return t


def check_create(body) -> tuple[dict, dict, list[str]]:
    """Split a POST /v2/images body into (core fields, extra properties, tags)."""
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object describing the image.")
    fields: dict = {}
    props: dict = {}
    tags = check_tags(body["tags"]) if "tags" in body else []
    for k, v in body.items():
        if k == "tags":
            continue
        if k == "id":
            try:
                fields["id"] = str(uuid.UUID(v)) if isinstance(v, str) else None
            except ValueError:
                fields["id"] = None
            if fields["id"] is None:
                raise _bad("id", f"{v!r} is not a valid UUID")
        elif k in WRITABLE_CORE:
            fields[k] = check_value(k, v)
        elif k in CORE or k in READ_ONLY or k in RESERVED:
            raise errors.Forbidden(f"Attribute '{k}' is read-only." if k not in RESERVED
                                   else f"Attribute '{k}' is reserved.")
        else:
            props[k] = check_value(k, v)
    return fields, props, tags
