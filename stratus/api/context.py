"""The authenticated caller of one request, as policy and handlers see it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestContext:
    request_id: str
    auth_token: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None  # domain-scoped tokens only
    system_scope: str | None = None  # 'all' for system-scoped tokens
    roles: list[str] = field(default_factory=list)
    role_ids: list[str] = field(default_factory=list)
    audit_ids: list[str] = field(default_factory=list)
    token: Any = None  # stratus.identity.tokens.ValidatedToken
    identity_revision: int | None = None  # read once per request

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def creds(self) -> dict:
        """Credentials as the policy engine reads them."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": list(self.roles),
            "is_admin": self.is_admin,
            "token": {"user": {"domain": {"id": self.user_domain_id}},
                      "project": {"domain": {"id": self.project_domain_id}}},
        }
