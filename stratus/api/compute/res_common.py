"""Helpers of the resources half of the Compute API: nova-style body
validation, links, booleans in query strings, and timestamps."""
from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema

from stratus.common import errors

# nova's parameter_types.name: printable, no leading/trailing whitespace.
NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^(?![\s])[^\x00-\x1f\x7f]*(?<![\s])$"}
NON_NEGATIVE_INT = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0,
                    "maximum": 0x7FFFFFFF}
POSITIVE_INT = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                "maximum": 0x7FFFFFFF}
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No",
                    "no"]}
_TRUE = {"true", "1", "on", "yes", "t", "y"}
_FALSE = {"false", "0", "off", "no", "f", "n"}


def validate(body: Any, schema: dict) -> dict:
    """Check a request body against a JSON schema; 400 worded as nova's
    ("Invalid input for field/attribute X. Value: V. <reason>")."""
    validator = jsonschema.Draft4Validator(schema)
    err = next(iter(sorted(validator.iter_errors(body), key=lambda e: (len(e.path), str(e.path)))),
               None)
    if err is None:
        return body
    if err.path:
        field = err.path[-1]
        raise errors.ValidationError(f"Invalid input for field/attribute {field}. "
                                     f"Value: {err.instance}. {err.message}")
    raise errors.ValidationError(f"Invalid input for field/attribute. {err.message}")


def to_bool(value, name: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise errors.BadRequest(f"Invalid value {value!r} for {name}: expected a boolean.")


def to_int(value, name: str, minimum: int | None = None) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(f"Invalid {name} {value!r}: must be an integer.") from None
    if minimum is not None and v < minimum:
        raise errors.BadRequest(f"Invalid {name} {value!r}: must be >= {minimum}.")
    return v


def links(req, collection: str, id_: str) -> list[dict]:
    """nova's self (versioned) and bookmark (unversioned) links."""
    base = req.url_for("")
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{id_}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{id_}"}]


def isotime(t: dt.datetime | None) -> str | None:
    """Nova's timestamps in bodies: ISO 8601 without zone, microseconds kept."""
    return t.isoformat() if t is not None else None


def require_admin_or_self(req, project_id: str | None) -> None:
    if not req.ctx.is_admin and project_id != req.ctx.project_id:
        raise errors.Forbidden("Policy doesn't allow this operation on another project.")
