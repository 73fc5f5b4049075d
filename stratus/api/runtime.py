"""Process-wide objects every API handler needs: configuration, the database,
the token service and the policy engines.  One per worker process."""
from __future__ import annotations

import logging

from stratus.api.context import RequestContext
from stratus.common import errors
from stratus.common.config import Config
from stratus.common.policy import PolicyEngine
from stratus.db.base import Database
from stratus.identity import access_rules
from stratus.identity.fernet import KeyRepository
from stratus.identity.tokens import TokenNotFound, TokenService

LOG = logging.getLogger(__name__)


class Runtime:
    def __init__(self, conf: Config, db: Database | None = None):
        self.conf = conf
        self.db = db or Database(conf.database_url, conf.database.max_pool_size)
        self.keys = KeyRepository(conf.key_repository, conf.fernet_tokens.max_active_keys)
        self.tokens = TokenService(self.db, self.keys, conf.token.expiration,
                                   conf.token.cache_time, conf.token.allow_expired_window)
        self.policies: dict[str, PolicyEngine] = {}
        # API workers schedule servers: a typo in [filter_scheduler] stops the
        # start with a ConfigError naming it, not every later server create.
        from stratus.scheduler.pipeline import Pipeline
        Pipeline.from_conf(conf)

    def register_policy(self, service: str, defaults: dict[str, str]) -> None:
        self.policies[service] = PolicyEngine(defaults, self.conf.policy_file)

    def public_url(self, request=None) -> str:
        """Base URL for links: the configured public endpoint, else the Host the
        client used (so links work through whatever address it reached us at)."""
        if self.conf.api.public_endpoint or request is None:
            return self.conf.public_endpoint
        host = request.headers.get("host")
        scheme = request.url.scheme
        return f"{scheme}://{host}" if host else self.conf.public_endpoint

    def authenticate(self, ctx: RequestContext, headers, service: str | None = None,
                     method: str = "GET", path: str = "/") -> None:
        """Fill ``ctx`` from the X-Auth-Token header or raise 401.  A token from
        an application credential with access rules is accepted only for the
        (service, method, path) its rules allow, as keystonemiddleware does."""
        if ctx.authenticated:
            return
        token = headers.get("x-auth-token")
        if not token:
            raise errors.Unauthorized("The request you have made requires authentication.")
        try:
            vt = self.tokens.validate(token, rev=self.identity_revision(ctx))
        except TokenNotFound:
            raise errors.Unauthorized("The request you have made requires authentication.") from None
        rules = (vt.app_cred or {}).get("access_rules")
        if rules and not access_rules.allowed(rules, service or "", method, path):
            raise errors.Unauthorized(f"The application credential's access rules do not "
                                      f"allow {method} {path} on {service}.")
        fill_context(ctx, token, vt)

    def identity_revision(self, ctx: RequestContext) -> int:
        """The identity revision, read once per request (see identity/revision.py)."""
        if ctx.identity_revision is None:
            ctx.identity_revision = self.tokens.revision()
        return ctx.identity_revision

    def authorize(self, service: str, rule: str, target: dict, ctx: RequestContext) -> None:
        engine = self.policies[service]
        if not engine.enforce(rule, target, ctx.creds()):
            raise errors.Forbidden(f"You are not authorized to perform the requested action: "
                                   f"{rule}.")


def fill_context(ctx: RequestContext, token: str, vt) -> None:
    ctx.auth_token = token
    ctx.token = vt
    ctx.user_id = vt.user["id"]
    ctx.user_name = vt.user["name"]
    ctx.user_domain_id = vt.user["domain"]["id"]
    if vt.project:
        ctx.project_id = vt.project["id"]
        ctx.project_name = vt.project["name"]
        ctx.project_domain_id = vt.project["domain"]["id"]
    if vt.domain:
        ctx.domain_id = vt.domain["id"]
    if vt.payload.system:
        ctx.system_scope = "all"
    ctx.roles = [r["name"] for r in vt.roles]
    ctx.role_ids = [r["id"] for r in vt.roles]
    ctx.audit_ids = list(vt.payload.audit_ids)
