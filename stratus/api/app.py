"""The single ASGI application: every service under its path prefix on one
port, behind the shared middleware (request id, access log, rate limit)."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from stratus.api import identity
from stratus.api.middleware.access_log import AccessLogMiddleware
from stratus.api.middleware.rate_limit import RateLimitMiddleware
from stratus.api.middleware.request_id import RequestIdMiddleware
from stratus.api.runtime import Runtime

# (path prefix, catalog type, catalog name, builder); later services append here.
SERVICES = [("identity", "identity", "keystone", identity.build)]


def build_app(runtime: Runtime):
    async def root(request):
        base = runtime.public_url(request)
        return JSONResponse({"services": [{"type": t, "name": n, "url": f"{base}/{p}"}
                                          for p, t, n, _ in SERVICES]})

    routes = [Route("/", root)] + [Mount(f"/{prefix}", app=build(runtime))
                                  for prefix, _, _, build in SERVICES]
    app = Starlette(routes=routes)
    wrapped = RateLimitMiddleware(app, runtime.conf.DEFAULT.api_rate_limit,
                                  runtime.conf.DEFAULT.api_rate_burst)
    if runtime.conf.api.access_log:
        wrapped = AccessLogMiddleware(wrapped)
    return RequestIdMiddleware(_PrefixSlash(wrapped), runtime)


class _PrefixSlash:
    """``/identity`` and ``/identity/`` are the same document (keystoneauth asks
    for the former); Starlette's Mount only matches the latter."""

    def __init__(self, app):
        self.app = app
        self.prefixes = {f"/{p}" for p, _, _, _ in SERVICES}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] in self.prefixes:
            scope = dict(scope, path=scope["path"] + "/",
                         raw_path=(scope.get("raw_path") or scope["path"].encode()) + b"/")
        await self.app(scope, receive, send)
