"""Request bodies of the servers API (Nova 2.1 schemas) and the pure helpers
that read them: references given as id or URL, base64 user data, instance
counts, names and hostnames of multi-create."""
from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
import uuid as uuidlib
from typing import Any

import jsonschema

from stratus.common import errors

# Nova's parameter_types.name: 1-255 printable characters, no leading or
# trailing whitespace.
NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^(?!\s)[\s\S]*(?<!\s)$"}
METADATA = {"type": "object",
            "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string",
                                                                 "maxLength": 255}},
            "additionalProperties": False}
COUNT = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1}
NETWORK = {"type": "object",
           "properties": {"fixed_ip": {"type": "string", "format": "ip-address"},
                          "port": {"type": ["string", "null"], "format": "uuid"},
                          "uuid": {"type": "string"},
                          "tag": {"type": "string"}},
           "additionalProperties": False}
BDM_V2 = {"type": "object",
          "properties": {"uuid": {"type": "string"},
                         "source_type": {"type": "string",
                                         "enum": ["image", "blank", "volume", "snapshot"]},
                         "destination_type": {"type": "string", "enum": ["local", "volume"]},
                         "boot_index": {"type": ["integer", "string", "null"]},
                         "delete_on_termination": {"type": ["boolean", "string"]},
                         "device_name": {"type": ["string", "null"]},
                         "volume_size": {"type": ["integer", "string", "null"]},
                         "device_type": {"type": ["string", "null"]},
                         "disk_bus": {"type": ["string", "null"]},
                         "guest_format": {"type": ["string", "null"]},
                         "tag": {"type": "string"}},
          "additionalProperties": False}
SERVER_CREATE = {
    "type": "object",
    "properties": {
        "name": NAME,
        "imageRef": {"type": "string"},
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "adminPass": {"type": "string"},
        "metadata": METADATA,
        "networks": {"oneOf": [{"type": "array", "items": NETWORK},
                               {"type": "string", "enum": ["auto", "none"]}]},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        "accessIPv4": {"type": "string", "format": "ipv4"},
        "accessIPv6": {"type": "string", "format": "ipv6"},
        "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
        "key_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "user_data": {"type": "string", "maxLength": 65535},
        "config_drive": {"type": ["boolean", "string", "null"]},
        "min_count": COUNT,
        "max_count": COUNT,
        "return_reservation_id": {"type": ["boolean", "string"]},
        "security_groups": {"type": "array",
                            "items": {"type": "object",
                                      "properties": {"name": {"type": "string"}},
                                      "additionalProperties": False}},
        "description": {"type": ["string", "null"], "maxLength": 255},
        "block_device_mapping_v2": {"type": "array", "items": BDM_V2},
    },
    "required": ["name", "flavorRef"],
    "additionalProperties": False,
}
HINTS = {"type": "object",
         "properties": {"group": {"type": "string", "format": "uuid"},
                        "same_host": {"type": ["string", "array"]},
                        "different_host": {"type": ["string", "array"]},
                        # SimpleCIDRAffinityFilter, as nova's schema
                        "build_near_host_ip": {"type": "string", "format": "ip-address"},
                        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"}},
         "additionalProperties": True}
SERVER_UPDATE = {"type": "object",
                 "properties": {"name": NAME,
                                "accessIPv4": {"type": "string", "format": "ipv4"},
                                "accessIPv6": {"type": "string", "format": "ipv6"},
                                "OS-DCF:diskConfig": {"type": "string",
                                                      "enum": ["AUTO", "MANUAL"]}},
                 "additionalProperties": False}
_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("uuid")
def _is_uuid(value) -> bool:
    return not isinstance(value, str) or is_uuid(value)


@_FORMATS.checks("ip-address")
def _is_ip(value) -> bool:
    import ipaddress
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(str(value))
        return True
    except ValueError:
        return False


def validate(entity: Any, schema: dict, where: str) -> dict:
    """Check ``entity`` against ``schema``; 400 as Nova ("Invalid input for
    field/attribute name. ...") otherwise."""
    validator = jsonschema.Draft4Validator(schema, format_checker=_FORMATS)
    err = jsonschema.exceptions.best_match(validator.iter_errors(entity))
    if err is not None:
        path = "/".join(str(p) for p in err.absolute_path) or where
        raise errors.ValidationError(f"Invalid input for field/attribute {path}. "
                                     f"Value: {_short(err.instance)}. {err.message}")
    return entity


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def body_of(body: Any, key: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise errors.ValidationError(f"Invalid input: '{key}' is a required property.")
    return body[key]


def ref_id(ref: str | int) -> str:
    """The id in a reference given as an id or a URL (``.../flavors/1``)."""
    text = str(ref).strip()
    return text.rstrip("/").rsplit("/", 1)[-1] if "/" in text else text


def image_id(ref: str) -> str | None:
    """The image id of ``imageRef`` (None for "" — no image); 400 if it is
    neither a uuid nor a URL ending in one."""
    if ref == "":
        return None
    candidate = ref_id(ref)
    if not is_uuid(candidate):
        raise errors.BadRequest("Invalid imageRef provided.")
    return candidate


def boot_image(server: dict) -> str | None:
    """The image to boot from: ``imageRef``, or the image of a
    ``block_device_mapping_v2`` that is the local root disk (as the CLI sends
    along with imageRef).  Volumes need a block storage service, which this
    cloud does not have yet: 400."""
    image = image_id(server["imageRef"]) if server.get("imageRef") else None
    for bdm in server.get("block_device_mapping_v2") or []:
        if bdm.get("destination_type", "local") != "local" or \
                bdm.get("source_type") not in ("image", "blank"):
            raise errors.BadRequest("Block Device Mapping is Invalid: only local disks from "
                                    "an image are supported (no block storage service).")
        if bdm.get("source_type") == "image" and str(bdm.get("boot_index", "0")) == "0":
            bdm_image = image_id(bdm.get("uuid") or "")
            if image is not None and bdm_image != image:
                raise errors.BadRequest("Block Device Mapping is Invalid: the boot image "
                                        "differs from imageRef.")
            image = bdm_image
    return image


def check_user_data(data: str | None) -> str | None:
    """Check that user data is base64 (Nova stores it encoded)."""
    if data is None:
        return None
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest("User data needs to be valid base 64.") from None
    return data


def counts(server: dict) -> tuple[int, int]:
    """``(min_count, max_count)`` with Nova's defaults and checks."""
    lo = int(server.get("min_count", 1))
    hi = int(server.get("max_count", lo))
    if lo < 1 or hi < 1:
        raise errors.BadRequest("min_count and max_count must be at least 1.")
    if lo > hi:
        raise errors.BadRequest("min_count must be <= max_count")
    return lo, hi


def bool_value(value, field: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    low = str(value).strip().lower()
    if low in ("true", "1", "yes", "on", "t", "y"):
        return True
    if low in ("false", "0", "no", "off", "f", "n", ""):
        return False
    raise errors.BadRequest(f"Invalid value {value!r} for {field}: must be a boolean.")


def names(name: str, count: int) -> list[str]:
    """Display names of a multi-create: name-1..name-N (one server keeps it)."""
    if count == 1:
        return [name]
    return [f"{name}-{i + 1}" for i in range(count)]


def hostname(display_name: str) -> str:
    """Nova's ``sanitize_hostname``: lower case, [a-z0-9.-], at most 63."""
    h = display_name.lower()
    h = re.sub(r"[ _]", "-", h)
    h = re.sub(r"[^\w.-]+", "", h, flags=re.ASCII)
    h = h.replace("_", "-")
    h = h[:63].strip(".-")
    return h or "server"


def admin_password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def access_ip(value: str | None) -> str | None:
    """An accessIPv4/accessIPv6 as Nova stores it: normalised (its
    IPAddress fields), e.g. ``0:0:0:0:0:babe:220.12.22.2`` -> ``::babe:dc0c:1602``.
    The value was already checked by the ipv4/ipv6 formats."""
    import ipaddress
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def metadata_of(value) -> dict:
    """Body of metadata calls: a JSON object of string values."""
    return validate(value, METADATA, "metadata")
