"""The single ASGI application: every service under its path prefix on one
port, behind the shared middleware (request id, access log, rate limit)."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from stratus.api import agent, compute, identity, image, network
from stratus.api import object_store
from stratus.api.object_store import info as object_store_info
from stratus.api.middleware.access_log import AccessLogMiddleware
from stratus.api.middleware.rate_limit import RateLimitMiddleware
from stratus.api.middleware.request_id import RequestIdMiddleware
from stratus.api.runtime import Runtime

# (path prefix, catalog type, catalog name, builder, catalog path); later services
# append here.  The catalog path is what the service catalog advertises (nova's
# endpoint carries its version, as DevStack registers it).
SERVICES = [("identity", "identity", "keystone", identity.build, "identity"),
            ("compute", "compute", "nova", compute.build, "compute/v2.1"),
            ("image", "image", "glance", image.build, "image"),
            ("network", "network", "neutron", network.build, "network"),
            # Swift's endpoint names the project's account; the catalog renders it per token.
            ("object-store", "object-store", "swift", object_store.build,
             "object-store/v1/AUTH_%(project_id)s")]
# Mounted but not in the catalog: the host agents' API (service credentials only).
INTERNAL = [("agent", agent.build)]


def build_app(runtime: Runtime):
    async def root(request):
        base = runtime.public_url(request)
        return JSONResponse({"services": [{"type": t, "name": n, "url": f"{base}/{p}"}
                                          for p, t, n, _, _ in SERVICES]})

    mounts = [(prefix, build) for prefix, _, _, build, _ in SERVICES] + INTERNAL
    # swiftclient asks the server root for /info (urljoin(storage_url, '/info')).
    routes = [Route("/", root), Route("/info", object_store_info.info, methods=["GET", "HEAD"])]
    routes += [Mount(f"/{prefix}", app=build(runtime)) for prefix, build in mounts]
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
        self.prefixes = {f"/{p}" for p, _, _, _, _ in SERVICES} | {f"/{p}" for p, _ in INTERNAL}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] in self.prefixes:
            scope = dict(scope, path=scope["path"] + "/",
                         raw_path=(scope.get("raw_path") or scope["path"].encode()) + b"/")
        await self.app(scope, receive, send)
