"""Error bodies in each service's wire format."""
from __future__ import annotations

import json

from starlette.responses import Response

from stratus.common import errors

IDENTITY, COMPUTE, NETWORK, IMAGE = "identity", "compute", "network", "image"


def body_for(service: str, exc: errors.APIError) -> dict:
    if service == COMPUTE:
        return {exc.nova_key: {"code": exc.status, "message": exc.message}}
    if service == NETWORK:
        return {"NeutronError": {"type": type(exc).__name__, "message": exc.message, "detail": ""}}
    # Keystone's format, also used by default.
    return {"error": {"code": exc.status, "message": exc.message, "title": exc.title}}


def render(service: str, exc: errors.APIError) -> Response:
    headers = dict(exc.headers)
    if exc.status == 401 and service == IDENTITY:
        headers.setdefault("WWW-Authenticate", 'Keystone uri="/identity"')
    return Response(json.dumps(body_for(service, exc)), status_code=exc.status,
                    media_type="application/json", headers=headers)


def service_of(path: str) -> str:
    """The service a request path belongs to, from its mount prefix."""
    first = path.lstrip("/").split("/", 1)[0]
    return first or IDENTITY
