"""API errors shared by every service.

Handlers raise these; each service's error formatter renders them in that
service's wire format (Keystone ``{"error": {...}}``, Nova ``{"itemNotFound": {...}}``,
Neutron ``{"NeutronError": {...}}``).  Anything else that escapes a handler is a
bug and becomes a 500 with no traceback in the body.
"""
from __future__ import annotations


class APIError(Exception):
    status = 500
    title = "Internal Server Error"
    # Nova-style body key for this status.
    nova_key = "computeFault"

    def __init__(self, message: str | None = None, headers: dict[str, str] | None = None):
        self.message = message or self.title
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(APIError):
    status, title, nova_key = 400, "Bad Request", "badRequest"


class ValidationError(BadRequest):
    pass


class Unauthorized(APIError):
    status, title, nova_key = 401, "Unauthorized", "unauthorized"

    def __init__(self, message: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message or "The request you have made requires authentication.", headers)


class Forbidden(APIError):
    status, title, nova_key = 403, "Forbidden", "forbidden"


class NotFound(APIError):
    status, title, nova_key = 404, "Not Found", "itemNotFound"


class MethodNotAllowed(APIError):
    status, title, nova_key = 405, "Method Not Allowed", "badMethod"


class NotAcceptable(APIError):
    status, title, nova_key = 406, "Not Acceptable", "notAcceptable"


class Conflict(APIError):
    status, title, nova_key = 409, "Conflict", "conflictingRequest"


class PayloadTooLarge(APIError):
    status, title, nova_key = 413, "Request Entity Too Large", "overLimit"


class UnsupportedMediaType(APIError):
    status, title, nova_key = 415, "Unsupported Media Type", "mediaTypeNotSupported"


class TooManyRequests(APIError):
    status, title, nova_key = 429, "Too Many Requests", "overLimit"


class NotImplementedYet(APIError):
    status, title, nova_key = 501, "Not Implemented", "notImplemented"


class ServiceUnavailable(APIError):
    status, title, nova_key = 503, "Service Unavailable", "serviceUnavailable"
