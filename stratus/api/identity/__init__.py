"""The Identity service (Keystone v3 API), mounted at /identity."""
from __future__ import annotations

from starlette.applications import Starlette

from stratus.api import errors as api_errors
from stratus.api.identity import (app_creds, assignments, auth, catalog, credentials,
                                  domain_config, domains, ec2_credentials, extensions, groups, project_tags,
                                  projects, roles, trusts, users, versions)
from stratus.api.identity.policies import IDENTITY_POLICY_DEFAULTS
from stratus.api.routing import http_exception_handler

SERVICE = api_errors.IDENTITY
MODULES = [versions, auth, domains, projects, project_tags, users, groups, roles,
           assignments, catalog, credentials, ec2_credentials, app_creds, domain_config, extensions,
           trusts]


def build(runtime) -> Starlette:
    runtime.register_policy(SERVICE, IDENTITY_POLICY_DEFAULTS)
    routes = [r for mod in MODULES for r in mod.routes.routes(SERVICE)]
    handler = http_exception_handler(SERVICE)
    return Starlette(routes=routes, exception_handlers={404: handler, 405: handler})
