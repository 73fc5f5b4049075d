"""Errors of the object store: each has ``.status`` and ``.message`` (they are
:class:`stratus.common.errors.APIError`, so API handlers may let them escape)."""
from __future__ import annotations

from stratus.common import errors

APIError = errors.APIError
Forbidden = errors.Forbidden
NotFound = errors.NotFound
Conflict = errors.Conflict
BadRequest = errors.BadRequest


class Unauthorized(errors.Unauthorized):
    pass


class LengthRequired(errors.APIError):
    status, title = 411, "Length Required"


class PreconditionFailed(errors.APIError):
    status, title = 412, "Precondition Failed"


class EntityTooLarge(errors.APIError):
    status, title = 413, "Request Entity Too Large"


class RangeNotSatisfiable(errors.APIError):
    status, title = 416, "Requested Range Not Satisfiable"


class Unprocessable(errors.APIError):
    status, title = 422, "Unprocessable Entity"


class Accepted(errors.APIError):
    """Not an error: a write that lost to a newer one (Swift answers 202)."""
    status, title = 202, "Accepted"
NotAcceptable = errors.NotAcceptable
MethodNotAllowed = errors.MethodNotAllowed


class ClientDisconnect(errors.APIError):
    status, title = 499, "Client Disconnect"
