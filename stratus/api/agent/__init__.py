"""The agent API, mounted at /agent: what host agents use to register,
heartbeat, read their desired state and report what they did.  Not in the
service catalog; admin (service) tokens only.  See
docs/design/compute-contracts.md, "Agent API"."""
from __future__ import annotations

from starlette.applications import Starlette

from stratus.api.agent import hosts, instances
from stratus.api.routing import http_exception_handler

SERVICE = "agent"
MODULES: list = [hosts, instances]
POLICY_DEFAULTS: dict = {"agent:host": "role:admin"}


def build(runtime) -> Starlette:
    runtime.register_policy(SERVICE, POLICY_DEFAULTS)
    routes = [r for mod in MODULES for r in mod.routes.routes(SERVICE)]
    handler = http_exception_handler(SERVICE)
    return Starlette(routes=routes, exception_handlers={404: handler, 405: handler})
