"""Fernet tokens: what they carry, how they are issued and validated.

A token carries only who, how, what scope, when and audit ids; roles, names
and the catalog are looked up at validation time so a removed role or a
disabled project takes effect at once.  Validated tokens are cached per
worker and the cache is keyed to the identity revision (see revision.py), so
a revocation anywhere is honoured on the very next request.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select

from stratus.db.models import identity as m
from stratus.identity import assignments, revision
from stratus.identity.fernet import InvalidToken, KeyRepository

PAYLOAD_VERSION = 1


class TokenNotFound(Exception):
    """The token is malformed, not ours, expired, revoked or no longer valid."""


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def isotime(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Payload:
    user_id: str
    methods: list[str]
    expires_at: float
    issued_at: float
    audit_ids: list[str]
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    app_cred_id: str | None = None
    trust_id: str | None = None

    def pack(self) -> bytes:
        scope = ("p", self.project_id) if self.project_id else ("d", self.domain_id) \
            if self.domain_id else ("s", "all") if self.system else ("u", None)
        return json.dumps([PAYLOAD_VERSION, self.user_id, self.methods, scope[0], scope[1],
                           round(self.expires_at, 6), round(self.issued_at, 6), self.audit_ids,
                           self.app_cred_id, self.trust_id], separators=(",", ":")).encode()

    @classmethod
    def unpack(cls, raw: bytes) -> "Payload":
        try:
            v, user_id, methods, kind, scope_id, exp, iat, audit, app, trust = json.loads(raw)
        except (ValueError, TypeError):
            raise TokenNotFound("unreadable token payload") from None
        if v != PAYLOAD_VERSION:
            raise TokenNotFound("unknown token payload version")
        return cls(user_id=user_id, methods=methods, expires_at=exp, issued_at=iat,
                   audit_ids=audit, project_id=scope_id if kind == "p" else None,
                   domain_id=scope_id if kind == "d" else None, system=kind == "s",
                   app_cred_id=app, trust_id=trust)


@dataclass
class ValidatedToken:
    payload: Payload
    user: dict
    project: dict | None = None       # {'id','name','domain': {'id','name'}}
    domain: dict | None = None        # {'id','name'}
    roles: list[dict] = field(default_factory=list)  # [{'id','name'}]
    app_cred: dict | None = None
    trust: dict | None = None
    is_domain: bool = False

    @property
    def expired(self) -> bool:
        return time.time() >= self.payload.expires_at


class _Event(NamedTuple):
    issued_before: dt.datetime
    audit_id: str | None
    audit_chain_id: str | None
    user_id: str | None
    project_id: str | None
    domain_id: str | None


class TokenService:
    def __init__(self, db, keys: KeyRepository, expiration: int, cache_time: int = 300,
                 allow_expired_window: int = 172800):
        self.db = db
        self.keys = keys
        self.expiration = expiration
        self.cache_time = cache_time
        self.allow_expired_window = allow_expired_window
        self._cache: dict[str, tuple[int, float, ValidatedToken]] = {}
        self._events: tuple[int, list[_Event]] = (-1, [])
        self._lock = threading.Lock()

    # -- issuing ------------------------------------------------------------
    def issue(self, payload: Payload) -> tuple[str, ValidatedToken]:
        """Encrypt a new token and describe it (without decrypting it again);
        the description is cached like a validated token."""
        token = self.keys.encrypt(payload.pack())
        with self.db.session() as s:
            rev = revision.current(s)
            vt = self._build(s, payload)
        self._remember(token, rev, time.time(), vt)
        return token, vt

    def new_payload(self, user_id: str, methods: list[str], *, project_id=None, domain_id=None,
                    system=False, app_cred_id=None, trust_id=None,
                    parent: Payload | None = None,
                    expires_at: float | None = None) -> Payload:
        now = time.time()
        exp = now + self.expiration
        if parent is not None:  # a rescoped token never outlives its parent
            exp = min(exp, parent.expires_at)
        if expires_at is not None:
            exp = min(exp, expires_at)
        audit = [new_audit_id()]
        if parent is not None:
            audit.append(parent.audit_ids[-1] if len(parent.audit_ids) > 1 else parent.audit_ids[0])
        return Payload(user_id=user_id, methods=methods, expires_at=exp, issued_at=now,
                       audit_ids=audit, project_id=project_id, domain_id=domain_id,
                       system=system, app_cred_id=app_cred_id, trust_id=trust_id)

    # -- validation ---------------------------------------------------------
    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def revision(self) -> int:
        """The identity revision now, in one autocommit round trip."""
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            return revision.current(c)

    def validate(self, token: str, allow_expired: bool = False,
                 rev: int | None = None) -> ValidatedToken:
        """Raises TokenNotFound if the token is not (or no longer) valid.
        ``rev``: the identity revision already read for this request, if any;
        a cached answer is used only if it was made at that revision."""
        if not token or len(token) > 8192:
            raise TokenNotFound("empty or oversized token")
        if rev is None:
            rev = self.revision()
        hit = self._cache.get(token)
        now = time.time()
        if hit and hit[0] == rev and hit[1] > now and (allow_expired or not hit[2].expired):
            return hit[2]
        with self.db.session() as s:
            try:
                payload = Payload.unpack(self.keys.decrypt(token))
            except InvalidToken:
                raise TokenNotFound("not a token issued by this cloud") from None
            limit = payload.expires_at + (self.allow_expired_window if allow_expired else 0)
            if now >= limit:
                raise TokenNotFound("token expired")
            self._check_revoked(s, rev, payload)
            vt = self._build(s, payload)
        self._remember(token, rev, now, vt)
        return vt

    def _remember(self, token: str, rev: int, now: float, vt: ValidatedToken) -> None:
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[token] = (rev, now + self.cache_time, vt)

    def _check_revoked(self, s, rev: int, p: Payload) -> None:
        cached_rev, events = self._events
        if cached_rev != rev:
            horizon = dt.datetime.utcnow() - dt.timedelta(
                seconds=self.expiration + self.allow_expired_window + 60)
            # Plain tuples, not ORM rows: the rows would be expired by the
            # rollback that follows a rejected token, and unusable afterwards.
            events = [_Event(e.issued_before, e.audit_id, e.audit_chain_id, e.user_id,
                             e.project_id, e.domain_id)
                      for e in s.scalars(select(m.RevocationEvent)
                                         .where(m.RevocationEvent.revoked_at >= horizon))]
            self._events = (rev, events)
        issued = dt.datetime.utcfromtimestamp(p.issued_at)
        for e in events:
            if issued > e.issued_before:
                continue
            if e.audit_id and e.audit_id not in p.audit_ids:
                continue
            if e.audit_chain_id and e.audit_chain_id != p.audit_ids[-1]:
                continue
            if e.user_id and e.user_id != p.user_id:
                continue
            if e.project_id and e.project_id != p.project_id:
                continue
            if e.domain_id and e.domain_id != p.domain_id:
                continue
            raise TokenNotFound("token revoked")

    def _build(self, s, p: Payload) -> ValidatedToken:
        user = s.get(m.User, p.user_id)
        if user is None or not user.enabled:
            raise TokenNotFound("user missing or disabled")
        udom = s.get(m.Project, user.domain_id)
        if udom is None or not udom.enabled:
            raise TokenNotFound("user's domain disabled")
        vt = ValidatedToken(payload=p, user={
            "id": user.id, "name": user.name, "domain": {"id": udom.id, "name": udom.name},
            "password_expires_at": isotime(user.password_expires_at.replace(
                tzinfo=dt.timezone.utc).timestamp()) if user.password_expires_at else None})
        role_ids: set[str] = set()
        if p.project_id:
            proj = s.get(m.Project, p.project_id)
            if proj is None or not proj.enabled:
                raise TokenNotFound("project missing or disabled")
            pdom = s.get(m.Project, proj.domain_id) if not proj.is_domain else proj
            if pdom is None or not pdom.enabled:
                raise TokenNotFound("project's domain disabled")
            vt.project = {"id": proj.id, "name": proj.name,
                          "domain": {"id": pdom.id, "name": pdom.name}}
            vt.is_domain = proj.is_domain
            role_ids = assignments.effective_role_ids(s, user.id, project=proj)
        elif p.domain_id:
            dom = s.get(m.Project, p.domain_id)
            if dom is None or not dom.enabled or not dom.is_domain:
                raise TokenNotFound("domain missing or disabled")
            vt.domain = {"id": dom.id, "name": dom.name}
            role_ids = assignments.effective_role_ids(s, user.id, domain_id=dom.id)
        elif p.system:
            role_ids = assignments.effective_role_ids(s, user.id, system=True)
        if p.app_cred_id:
            ac = s.get(m.ApplicationCredential, p.app_cred_id)
            if ac is None or ac.user_id != user.id:
                raise TokenNotFound("application credential deleted")
            role_ids &= set(ac.roles)
            vt.app_cred = {"id": ac.id, "name": ac.name, "restricted": not ac.unrestricted}
            if ac.access_rules:
                rules = [s.get(m.AccessRule, i) for i in ac.access_rules]
                vt.app_cred["access_rules"] = [
                    {"id": r.id, "service": r.service, "path": r.path, "method": r.method}
                    for r in rules if r is not None]
        if p.trust_id:
            role_ids = trust_roles(s, p, vt)
        vt.roles = [{"id": r.id, "name": r.name}
                    for r in assignments.token_roles(s, role_ids)]
        if (p.project_id or p.domain_id or p.system) and not vt.roles:
            raise TokenNotFound("user has no role on the token's scope")
        return vt


def trust_usable(trust, now: dt.datetime | None = None) -> bool:
    now = now or dt.datetime.utcnow()
    return trust is not None and (trust.expires_at is None or trust.expires_at > now)


def trust_roles(s, p: Payload, vt: ValidatedToken) -> set[str]:
    """A trust token carries the trust's roles that the trustor still holds."""
    trust = s.get(m.Trust, p.trust_id)
    if not trust_usable(trust) or trust.project_id != p.project_id:
        raise TokenNotFound("trust deleted or expired")
    if p.user_id not in (trust.trustor_user_id, trust.trustee_user_id):
        raise TokenNotFound("token user is not part of the trust")
    trustor = s.get(m.User, trust.trustor_user_id)
    if trustor is None or not trustor.enabled:
        raise TokenNotFound("trustor missing or disabled")
    proj = s.get(m.Project, trust.project_id)
    held = assignments.effective_role_ids(s, trustor.id, project=proj)
    vt.trust = {"id": trust.id, "impersonation": trust.impersonation,
                "trustee_user": {"id": trust.trustee_user_id},
                "trustor_user": {"id": trust.trustor_user_id}}
    return assignments.implied_closure(s, set(trust.roles)) & held



def revoke(session, *, issued_before: dt.datetime | None = None, **match) -> None:
    """Record a revocation event; tokens matching every given field and issued
    at or before ``issued_before`` (default: now) stop validating."""
    session.add(m.RevocationEvent(issued_before=issued_before or dt.datetime.utcnow(), **match))

