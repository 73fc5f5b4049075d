"""Compute API microversions: which range we serve, and an ASGI middleware that
negotiates the version of every /compute request.

The client asks with ``OpenStack-API-Version: compute X.Y`` (or the legacy
``X-OpenStack-Nova-API-Version: X.Y``; ``latest`` means our maximum); no
header means the minimum.  An unparsable version is a 400, one outside
[MIN_VERSION, MAX_VERSION] a 406.  Every response (errors included) echoes the
version in both headers with ``Vary``, as nova does.  Handlers read the
negotiated version with :func:`version_of`.
"""
from __future__ import annotations

from stratus.api import errors as api_errors
from stratus.api.middleware import microversion as mv
from stratus.common import errors

SERVICE = "compute"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
# The range both halves of the compute API truly implement (every body and
# delta of 2.2-2.11).  Raise MAX_VERSION only with the deltas implemented.
MIN_VERSION = mv.Version(2, 1)
MAX_VERSION = mv.Version(2, 11)
SCOPE_KEY = "stratus.compute_version"


def negotiate(headers) -> mv.Version:
    """The version to serve for request headers (a mapping with
    case-insensitive ``get``); raises BadRequest/NotAcceptable."""
    asked = mv.requested(headers, SERVICE, LEGACY_HEADER.lower())
    return mv.negotiate(asked, MIN_VERSION, MAX_VERSION)


def response_headers(version: mv.Version) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in mv.response_headers(SERVICE, version, LEGACY_HEADER).items()]


def version_of(req) -> mv.Version:
    """The negotiated version of an ApiRequest (or a Starlette request)."""
    raw = getattr(req, "raw", req)
    return raw.scope.get(SCOPE_KEY, MIN_VERSION)


def at_least(req, major: int, minor: int) -> bool:
    return version_of(req) >= mv.Version(major, minor)


class _Headers:
    """Case-insensitive view of ASGI headers (what mv.requested expects)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]):
        self._h = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}

    def get(self, name: str, default=None):
        return self._h.get(name.lower(), default)


class MicroversionMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            version = negotiate(_Headers(scope.get("headers") or []))
        except errors.APIError as exc:
            # The error itself is served at the minimum version.
            response = api_errors.render(SERVICE, exc)
            for k, v in response_headers(MIN_VERSION):
                response.headers[k.decode()] = v.decode()
            await response(scope, receive, send)
            return
        scope = dict(scope)
        scope[SCOPE_KEY] = version
        extra = response_headers(version)

        async def send_with_version(message):
            if message["type"] == "http.response.start":
                names = {k for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = dict(message, headers=headers + extra)
            await send(message)

        await self.app(scope, receive, send_with_version)
