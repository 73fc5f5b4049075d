"""The Network service (Neutron v2.0 API), mounted at /network."""
from __future__ import annotations

from starlette.applications import Starlette

from stratus.api import errors as api_errors
from stratus.api.network import extensions, networks, ports, quotas, subnets, versions
from stratus.api.network import floating_ips, routers
from stratus.api.network import qos
from stratus.api.network import availability_zones
from stratus.api.network import security_group_rules, security_groups
from stratus.api.network.policies import NETWORK_POLICY_DEFAULTS
from stratus.api.routing import http_exception_handler

SERVICE = api_errors.NETWORK
MODULES = [versions, extensions, networks, subnets, ports, quotas]
MODULES += [routers, floating_ips]
MODULES += [security_groups, security_group_rules]
MODULES += [qos]
MODULES += [availability_zones]
POLICY_DEFAULTS = {**NETWORK_POLICY_DEFAULTS, **routers.L3_POLICY_DEFAULTS}
POLICY_DEFAULTS.update(qos.QOS_POLICY_DEFAULTS)
POLICY_DEFAULTS.update(availability_zones.AZ_POLICY_DEFAULTS)


def build(runtime) -> Starlette:
    runtime.register_policy(SERVICE, POLICY_DEFAULTS)
    routes = [r for mod in MODULES for r in mod.routes.routes(SERVICE)]
    handler = http_exception_handler(SERVICE)
    return Starlette(routes=routes, exception_handlers={404: handler, 405: handler})
