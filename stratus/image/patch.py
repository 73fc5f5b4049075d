"""Glance's JSON-patch for images (pure logic).

Media types ``application/openstack-images-v2.1-json-patch`` (RFC 6902 style:
``{"op": "replace", "path": "/name", "value": ...}``) and the older
``...-v2.0-json-patch`` (``{"replace": "name", "value": ...}``).  Only top-level
paths are allowed.  As Glance: ``add`` of a base attribute replaces it, of an
existing extra property is a 409;
``replace``/``remove`` of a missing extra property is a 409; read-only and
reserved attributes are a 403; a base attribute cannot be removed (403).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stratus.common import errors
from stratus.image import validation

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"
MEDIA_TYPES = (V21, V20)
OPS = ("add", "replace", "remove")


@dataclass
class ImageState:
    """The mutable view of an image a patch works on."""
    core: dict            # WRITABLE_CORE attribute -> value
    properties: dict      # extra property -> string
    tags: list = field(default_factory=list)


def _unescape(seg: str) -> str:
    return seg.replace("~1", "/").replace("~0", "~")


def parse_path(path, version: str) -> str:
    if not isinstance(path, str):
        raise errors.BadRequest(f"Invalid JSON pointer {path!r}: a string is required.")
    if version == V21:
        if not path.startswith("/"):
            raise errors.BadRequest(f"Pointer `{path}` does not start with \"/\".")
        path = path[1:]
    else:
        path = path.lstrip("/")
    if path == "" or "/" in path:
        raise errors.BadRequest(f"Invalid JSON pointer `{path}`: nested paths are not "
                                f"allowed.")
    if "~" in path.replace("~0", "").replace("~1", ""):
        raise errors.BadRequest(f"Pointer `{path}` contains a \"~\" not part of an escape.")
    return _unescape(path)


def normalize(op, version: str) -> tuple[str, str, object]:
    """One change → (op, attribute name, value)."""
    if not isinstance(op, dict):
        raise errors.BadRequest("Each change must be a JSON object.")
    if version == V21:
        name = op.get("op")
        if name not in OPS:
            raise errors.BadRequest(f"Unable to find `op` in JSON Schema change: "
                                    f"must be one of {', '.join(OPS)}.")
        path = op.get("path")
    else:
        found = [o for o in OPS if o in op]
        if len(found) != 1:
            raise errors.BadRequest("A change must name exactly one of add, replace, remove.")
        name, path = found[0], op[found[0]]
    if name != "remove" and "value" not in op:
        raise errors.BadRequest(f"Unable to find `value` in JSON Schema change for {name}.")
    return name, parse_path(path, version), op.get("value")


def apply(state: ImageState, changes, version: str = V21) -> ImageState:
    """Apply ``changes`` to a copy of ``state``; raises on any invalid change
    (nothing is applied then)."""
    if not isinstance(changes, list):
        raise errors.BadRequest("The request body must be a JSON array of changes.")
    new = ImageState(dict(state.core), dict(state.properties), list(state.tags))
    for raw in changes:
        op, name, value = normalize(raw, version)
        if name == "tags":
            if op == "remove":
                new.tags = []
            else:
                new.tags = list(dict.fromkeys(validation.check_tags(value)))
            continue
        if name in validation.WRITABLE_CORE:
            if op == "remove":
                raise errors.Forbidden(f"Properties {name} cannot be removed: it is a base "
                                       f"attribute of every image.")
            new.core[name] = validation.check_value(name, value)
            continue
        validation.check_property_name(name)   # read-only / reserved → 403
        if op == "add":
            if name in new.properties:
                raise errors.Conflict(f"Property {name} already present.")
            new.properties[name] = validation.check_value(name, value)
        elif name not in new.properties:
            raise errors.Conflict(f"Property {name} does not exist.")
        elif op == "replace":
            new.properties[name] = validation.check_value(name, value)
        else:
            del new.properties[name]
    return new
