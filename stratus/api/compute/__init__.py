"""The Compute service (Nova v2.1 API), mounted at /compute.

Two halves with separate owners while issue 3 is built: ``part_servers``
(servers, actions, metadata, instance actions, console) and ``part_resources``
(versions, flavors, keypairs, availability zones, aggregates, hypervisors,
services, quotas, limits, server groups).
"""
from __future__ import annotations

from starlette.applications import Starlette

from stratus.api.compute import part_resources, part_servers
from stratus.api.compute.microversion import MicroversionMiddleware
from stratus.api.routing import http_exception_handler

SERVICE = "compute"
MODULES: list = part_resources.MODULES + part_servers.MODULES
POLICY_DEFAULTS: dict = {**part_resources.POLICY_DEFAULTS, **part_servers.POLICY_DEFAULTS}


def build(runtime):
    runtime.register_policy(SERVICE, POLICY_DEFAULTS)
    routes = [r for mod in MODULES for r in mod.routes.routes(SERVICE)]
    handler = http_exception_handler(SERVICE)
    app = Starlette(routes=routes, exception_handlers={404: handler, 405: handler})
    # Negotiates the microversion and echoes it on every compute response.
    return MicroversionMiddleware(app)
