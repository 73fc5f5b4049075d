"""The Object Storage service (Swift v1 API), mounted at /object-store.

``/v1/AUTH_<project_id>[/<container>[/<object>]]`` with GET, HEAD, PUT, POST,
DELETE and COPY as Swift answers them, and ``/info`` (unauthenticated).
Authentication is optional here (anonymous callers may read through
``.r:*`` ACLs); authorization follows keystoneauth (stratus/objectstore/acl.py).
"""
from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from stratus.api.object_store import accounts, containers, copying, info, objects
from stratus.api.object_store.common import SwiftRequest, blocking, error_response
from stratus.common import errors

LOG = logging.getLogger(__name__)
SERVICE = "object-store"
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "COPY", "OPTIONS"]

# (level, method) -> (handler, is_async)
HANDLERS = {
    ("account", "GET"): (accounts.head_or_get, False),
    ("account", "HEAD"): (accounts.head_or_get, False),
    ("account", "POST"): (accounts.post, False),
    ("account", "PUT"): (accounts.not_allowed, False),
    ("account", "DELETE"): (accounts.not_allowed, False),
    ("container", "GET"): (containers.head_or_get, False),
    ("container", "HEAD"): (containers.head_or_get, False),
    ("container", "PUT"): (containers.put, False),
    ("container", "POST"): (containers.post, False),
    ("container", "DELETE"): (containers.delete, False),
    ("object", "GET"): (objects.get, True),
    ("object", "HEAD"): (objects.get, True),
    ("object", "PUT"): (objects.put, True),
    ("object", "POST"): (objects.post, False),
    ("object", "DELETE"): (objects.delete, False),
    ("object", "COPY"): (copying.copy_method, True),
}


def _endpoint(level: str):
    async def endpoint(request: Request):
        req = None
        try:
            req = SwiftRequest(request)
            entry = HANDLERS.get((level, request.method))
            if entry is None:
                raise errors.MethodNotAllowed(f"{request.method} is not allowed here.")
            await blocking(req.authenticate)
            fn, is_async = entry
            return await fn(req) if is_async else await blocking(fn, req)
        except errors.APIError as exc:
            return error_response(req, exc)
        except Exception:
            LOG.exception("unhandled error in %s %s", request.method, request.url.path)
            return error_response(req, errors.APIError(
                "An unexpected error prevented the server from fulfilling your request."))
    endpoint.__name__ = f"swift_{level}"
    return endpoint


def build(runtime) -> Starlette:
    routes = [Route("/info", info.info, methods=["GET", "HEAD"]),
              Route("/healthcheck", info.healthcheck, methods=["GET", "HEAD"]),
              Route("/v1/{account}", _endpoint("account"), methods=METHODS),
              Route("/v1/{account}/", _endpoint("account"), methods=METHODS),
              Route("/v1/{account}/{container}", _endpoint("container"), methods=METHODS),
              Route("/v1/{account}/{container}/", _endpoint("container"), methods=METHODS),
              Route("/v1/{account}/{container}/{obj:path}", _endpoint("object"),
                    methods=METHODS)]
    return Starlette(routes=routes)
