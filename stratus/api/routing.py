"""Turns plain handler functions into Starlette routes.

A handler is a synchronous function ``handler(req: ApiRequest) -> result`` run
in the thread pool (database work is synchronous).  ``result`` is a dict
(JSON, status 200), ``(status, body)`` or ``(status, body, headers)`` with
``body`` None for an empty response, or a Starlette ``Response``.  Raising
:class:`stratus.common.errors.APIError` renders the service's error format; any
other exception is logged and becomes a 500 without a traceback in the body.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stratus.api import errors as api_errors
from stratus.common import errors

LOG = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # bytes; larger JSON bodies are rejected with 413


class ApiRequest:
    """What a handler sees: the caller, the parsed request, and the runtime."""

    def __init__(self, request: Request, body: bytes, service: str):
        self.raw = request
        self.body_bytes = body
        self.service = service
        self.runtime = request.scope["stratus.runtime"]
        self.ctx = request.scope["stratus.context"]
        self.path_params = request.path_params
        self.query = request.query_params
        self.headers = request.headers
        self.method = request.method
        self._json: Any = None

    def json(self, required: bool = True) -> Any:
        if self._json is not None:
            return self._json
        if not self.body_bytes.strip():
            if required:
                raise errors.ValidationError("The request body is empty; a JSON object is required.")
            return None
        try:
            self._json = json.loads(self.body_bytes)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.ValidationError(f"Malformed request body: {exc}") from None
        except RecursionError:
            raise errors.ValidationError("Malformed request body: nested too deeply.") from None
        return self._json

    @property
    def db(self):
        return self.runtime.db

    @property
    def conf(self):
        return self.runtime.conf

    def authorize(self, rule: str, target: dict | None = None) -> None:
        """Raise Forbidden unless the caller's roles satisfy ``rule``."""
        self.runtime.authorize(self.service, rule, target or {}, self.ctx)

    def url_for(self, path: str) -> str:
        """Absolute URL of a path under this service's prefix (for links)."""
        return f"{self.runtime.public_url(self.raw)}/{self.service}{path}"


@dataclass
class _Entry:
    path: str
    methods: list[str]
    handler: Callable[[ApiRequest], Any]
    auth: bool
    stream: bool = False  # async handler reading req.raw.stream() itself (no 1 MiB cap)


class RouteTable:
    """Collects handlers with a decorator: ``@routes.get("/v3/projects")``."""

    def __init__(self):
        self.entries: list[_Entry] = []

    def add(self, path: str, methods: list[str], auth: bool = True, stream: bool = False):
        """``stream=True``: ``fn`` is an ``async def`` given an ApiRequest whose
        body is not read (``req.raw`` is the Starlette request to stream from);
        it runs after authentication, on the event loop."""
        def deco(fn):
            self.entries.append(_Entry(path, methods, fn, auth, stream))
            return fn
        return deco

    def get(self, path, auth=True):
        return self.add(path, ["GET"], auth)

    def post(self, path, auth=True):
        return self.add(path, ["POST"], auth)

    def put(self, path, auth=True):
        return self.add(path, ["PUT"], auth)

    def patch(self, path, auth=True):
        return self.add(path, ["PATCH"], auth)

    def delete(self, path, auth=True):
        return self.add(path, ["DELETE"], auth)

    def head(self, path, auth=True):
        return self.add(path, ["HEAD"], auth)

    def routes(self, service: str) -> list[Route]:
        # Starlette lets a GET route answer HEAD too, so explicit HEAD handlers go first.
        ordered = sorted(self.entries, key=lambda e: 0 if e.methods == ["HEAD"] else 1)
        return [Route(e.path, _endpoint(e, service), methods=e.methods) for e in ordered]


def to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status, body, headers = 200, result, None
    if isinstance(result, tuple):
        status, body = result[0], result[1]
        headers = result[2] if len(result) > 2 else None
    if body is None:
        return Response(status_code=status, headers=headers)
    return Response(json.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


def _endpoint(entry: _Entry, service: str):
    async def endpoint(request: Request) -> Response:
        try:
            if entry.stream:
                return await _call_streaming(entry, service, request)
            length = int(request.headers.get("content-length") or 0)
            if length > MAX_BODY:
                raise errors.PayloadTooLarge("Request body is larger than "
                                             f"{MAX_BODY} bytes.")
            body = await request.body()
            if len(body) > MAX_BODY:
                raise errors.PayloadTooLarge(f"Request body is larger than {MAX_BODY} bytes.")
            runtime = request.scope["stratus.runtime"]
            ctx = request.scope["stratus.context"]
            if entry.auth:
                path = request.url.path[len(service) + 1:] or "/"
                await run_in_threadpool(runtime.authenticate, ctx, request.headers, service,
                                        request.method, path)
            result = await run_in_threadpool(entry.handler, ApiRequest(request, body, service))
            response = to_response(result)
        except errors.APIError as exc:
            response = api_errors.render(service, exc)
        except Exception:  # a bug: log it, never leak a traceback to the client
            LOG.exception("unhandled error in %s %s", request.method, request.url.path)
            response = api_errors.render(service, errors.APIError(
                "An unexpected error prevented the server from fulfilling your request."))
        if request.method == "HEAD":
            response.body = b""
        return response
    endpoint.__name__ = entry.handler.__name__
    return endpoint


async def _call_streaming(entry: _Entry, service: str, request: Request) -> Response:
    """Authenticate, then hand the unread request to an async handler."""
    runtime = request.scope["stratus.runtime"]
    ctx = request.scope["stratus.context"]
    if entry.auth:
        path = request.url.path[len(service) + 1:] or "/"
        await run_in_threadpool(runtime.authenticate, ctx, request.headers, service,
                                request.method, path)
    return to_response(await entry.handler(ApiRequest(request, b"", service)))


def http_exception_handler(service: str):
    """Renders Starlette's own 404/405 (unknown path or method) in the service format."""
    async def handler(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            err: errors.APIError = errors.MethodNotAllowed(
                f"The method {request.method} is not allowed for {request.url.path}.")
        elif exc.status_code == 404:
            err = errors.NotFound(f"The resource could not be found: {request.url.path}")
        else:
            err = errors.APIError(exc.detail)
            err.status = exc.status_code
        return api_errors.render(service, err)
    return handler
