"""The image API, mounted at /image."""
from __future__ import annotations

from starlette.applications import Starlette

from stratus.api.routing import http_exception_handler

SERVICE = "image"
MODULES: list = []          # one module per resource, each with a RouteTable routes
POLICY_DEFAULTS: dict = {}  # rule name -> check string


def build(runtime) -> Starlette:
    runtime.register_policy(SERVICE, POLICY_DEFAULTS)
    routes = [r for mod in MODULES for r in mod.routes.routes(SERVICE)]
    handler = http_exception_handler(SERVICE)
    return Starlette(routes=routes, exception_handlers={404: handler, 405: handler})
