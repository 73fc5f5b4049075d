"""POST /v3/auth/tokens: checks the methods (password, token,
application_credential) and the requested scope, and returns the payload of
the token to issue.  Every failure to authenticate is a 401 that does not
reveal whether the user, the password or the scope was wrong."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import assignments, compliance
from stratus.identity.passwords import verify_password
from stratus.identity.tokens import Payload, TokenNotFound, TokenService, trust_usable

AUTH_FAILED = "The request you have made requires authentication."


class PasswordFailed(errors.Unauthorized):
    """A wrong password for an existing user: the caller records it for lockout
    in its own transaction (this one is rolled back)."""

    def __init__(self, user_id: str):
        super().__init__(AUTH_FAILED)
        self.user_id = user_id


def _obj(d, key, where) -> dict:
    v = d.get(key) if isinstance(d, dict) else None
    if not isinstance(v, dict):
        raise errors.ValidationError(f"Invalid input for field '{where}': expected an object.")
    return v


def _domain_ref(s, ref: dict, where: str) -> m.Project:
    if not isinstance(ref, dict) or not (ref.get("id") or ref.get("name")):
        raise errors.ValidationError(f"Invalid input for field '{where}': id or name required.")
    if ref.get("id"):
        dom = s.get(m.Project, ref["id"])
    else:
        dom = s.scalars(select(m.Project).where(m.Project.is_domain.is_(True),
                                                m.Project.name == ref["name"])).first()
    if dom is None or not dom.is_domain:
        raise errors.Unauthorized(AUTH_FAILED)
    return dom


def _password_user(s, conf, pw: dict) -> m.User:
    user_ref = _obj(pw, "user", "auth.identity.password.user")
    password = user_ref.get("password")
    if not isinstance(password, str):
        raise errors.ValidationError(
            "Invalid input for field 'auth.identity.password.user.password': a string is required.")
    if user_ref.get("id"):
        user = s.get(m.User, str(user_ref["id"]))
    elif user_ref.get("name"):
        if "domain" not in user_ref:
            raise errors.ValidationError(
                "Invalid input for field 'auth.identity.password.user.domain': required with name.")
        dom = _domain_ref(s, user_ref["domain"], "auth.identity.password.user.domain")
        user = s.scalars(select(m.User).where(m.User.domain_id == dom.id,
                                              m.User.name == user_ref["name"])).first()
    else:
        raise errors.ValidationError(
            "Invalid input for field 'auth.identity.password.user': id or name required.")
    if user is None:
        raise errors.Unauthorized(AUTH_FAILED)
    if compliance.locked_out(conf, user):
        raise errors.Unauthorized(f"The account is locked for user: {user.id}.")
    if not verify_password(password, user.password_hash):
        raise PasswordFailed(user.id)
    if not user.enabled:
        raise errors.Unauthorized(AUTH_FAILED)
    if compliance.inactive(conf, user):
        raise errors.Unauthorized(f"The account is disabled for user: {user.id}.")
    compliance.record_success(conf, user)
    if user.password_expires_at and user.password_expires_at < dt.datetime.utcnow():
        raise errors.Unauthorized("The password is expired and needs to be changed for user: "
                                  f"{user.id}.")
    dom = s.get(m.Project, user.domain_id)
    if dom is None or not dom.enabled:
        raise errors.Unauthorized(AUTH_FAILED)
    return user


def _app_cred(s, ac_ref: dict) -> m.ApplicationCredential:
    secret = ac_ref.get("secret")
    if not isinstance(secret, str):
        raise errors.ValidationError("Invalid input for field "
                                     "'auth.identity.application_credential.secret'.")
    if ac_ref.get("id"):
        ac = s.get(m.ApplicationCredential, str(ac_ref["id"]))
    elif ac_ref.get("name") and isinstance(ac_ref.get("user"), dict):
        uref = ac_ref["user"]
        uid = uref.get("id")
        if not uid and uref.get("name"):
            dom = _domain_ref(s, uref.get("domain"), "auth.identity.application_credential.user")
            u = s.scalars(select(m.User).where(m.User.domain_id == dom.id,
                                               m.User.name == uref["name"])).first()
            uid = u.id if u else None
        ac = s.scalars(select(m.ApplicationCredential).where(
            m.ApplicationCredential.user_id == uid,
            m.ApplicationCredential.name == ac_ref["name"])).first() if uid else None
    else:
        raise errors.ValidationError("Invalid input for field "
                                     "'auth.identity.application_credential': id, or name and user.")
    if ac is None or not verify_password(secret, ac.secret_hash):
        raise errors.Unauthorized(AUTH_FAILED)
    if ac.expires_at and ac.expires_at < dt.datetime.utcnow():
        raise errors.Unauthorized(AUTH_FAILED)
    return ac


def _scope(s, scope) -> dict:
    """Resolve the requested scope to {'project': P} | {'domain': D} | {'system': True} | {}."""
    if scope is None or scope == "unscoped":
        return {}
    if not isinstance(scope, dict):
        raise errors.ValidationError("Invalid input for field 'auth.scope'.")
    if len([k for k in ("project", "domain", "system", "OS-TRUST:trust") if k in scope]) > 1:
        raise errors.ValidationError("Invalid input for field 'auth.scope': only one scope may "
                                     "be requested.")
    if "project" in scope:
        ref = scope["project"]
        if not isinstance(ref, dict):
            raise errors.ValidationError("Invalid input for field 'auth.scope.project'.")
        if ref.get("id"):
            proj = s.get(m.Project, str(ref["id"]))
        elif ref.get("name") and "domain" in ref:
            dom = _domain_ref(s, ref["domain"], "auth.scope.project.domain")
            proj = s.scalars(select(m.Project).where(m.Project.domain_id == dom.id,
                                                     m.Project.name == ref["name"])).first()
        else:
            raise errors.ValidationError("Invalid input for field 'auth.scope.project': id, or "
                                         "name and domain, required.")
        if proj is None or proj.is_domain:
            raise errors.Unauthorized(AUTH_FAILED)
        return {"project": proj}
    if "domain" in scope:
        return {"domain": _domain_ref(s, scope["domain"], "auth.scope.domain")}
    if "system" in scope:
        if scope["system"] != {"all": True}:
            raise errors.ValidationError("Invalid input for field 'auth.scope.system': only "
                                         "{\"all\": true} is supported.")
        return {"system": True}
    if "OS-TRUST:trust" in scope:
        ref = scope["OS-TRUST:trust"]
        if not isinstance(ref, dict) or not ref.get("id"):
            raise errors.ValidationError("Invalid input for field 'auth.scope.OS-TRUST:trust': "
                                         "id required.")
        trust = s.get(m.Trust, str(ref["id"]))
        if not trust_usable(trust):
            raise errors.Unauthorized(AUTH_FAILED)
        return {"trust": trust}
    raise errors.ValidationError("Invalid input for field 'auth.scope'.")


def authenticate(s, conf, tokens: TokenService, body) -> Payload:
    if not isinstance(body, dict):
        raise errors.ValidationError("The request body must be a JSON object.")
    auth = _obj(body, "auth", "auth")
    identity = _obj(auth, "identity", "auth.identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or \
            not all(isinstance(x, str) for x in methods):
        raise errors.ValidationError("Invalid input for field 'auth.identity.methods': a "
                                     "non-empty list of method names is required.")
    supported = {"password", "token", "application_credential"}
    bad = [x for x in methods if x not in supported]
    if bad:
        raise errors.Unauthorized(f"Attempted to authenticate with an unsupported method: "
                                  f"{bad[0]}.")
    parent = None
    app_cred = None
    if "token" in methods:
        ref = _obj(identity, "token", "auth.identity.token")
        try:
            vt = tokens.validate(str(ref.get("id") or ""))
        except TokenNotFound:
            # Keystone answers an unknown, expired or revoked token here with 404.
            raise errors.NotFound("Could not find token: the token in "
                                  "auth.identity.token.id is invalid, expired or revoked.") \
                from None
        parent = vt.payload
        if parent.trust_id:
            raise errors.Forbidden("A token created from a trust cannot be rescoped.")
        if parent.app_cred_id:
            raise errors.Forbidden("A token created with an application credential cannot be "
                                   "rescoped.")
        user = s.get(m.User, parent.user_id)
    elif "application_credential" in methods:
        app_cred = _app_cred(s, _obj(identity, "application_credential",
                                     "auth.identity.application_credential"))
        user = s.get(m.User, app_cred.user_id)
        if user is None or not user.enabled:
            raise errors.Unauthorized(AUTH_FAILED)
    else:
        user = _password_user(s, conf, _obj(identity, "password", "auth.identity.password"))

    if app_cred is not None:
        if auth.get("scope") not in (None, "unscoped") and \
                _scope(s, auth["scope"]).get("project", None) is not None and \
                _scope(s, auth["scope"])["project"].id != app_cred.project_id:
            raise errors.Unauthorized(AUTH_FAILED)
        scope = {"project": s.get(m.Project, app_cred.project_id)}
    elif "scope" in auth:
        scope = _scope(s, auth["scope"])
    elif user.default_project_id:
        proj = s.get(m.Project, user.default_project_id)
        # Keystone falls back to an unscoped token when the default project is unusable.
        ok = proj is not None and proj.enabled and assignments.effective_role_ids(
            s, user.id, project=proj)
        scope = {"project": proj} if ok else {}
    else:
        scope = {}

    proj, dom = scope.get("project"), scope.get("domain")
    if proj is not None:
        if not proj.enabled:
            raise errors.Unauthorized(AUTH_FAILED)
        pdom = s.get(m.Project, proj.domain_id)
        if pdom is None or not pdom.enabled:
            raise errors.Unauthorized(AUTH_FAILED)
        if not assignments.effective_role_ids(s, user.id, project=proj):
            raise errors.Unauthorized(f"User {user.id} has no access to project {proj.id}.")
    if dom is not None:
        if not dom.enabled:
            raise errors.Unauthorized(AUTH_FAILED)
        if not assignments.effective_role_ids(s, user.id, domain_id=dom.id):
            raise errors.Unauthorized(f"User {user.id} has no access to domain {dom.id}.")
    if scope.get("system") and not assignments.effective_role_ids(s, user.id, system=True):
        raise errors.Unauthorized(f"User {user.id} has no access to the system.")

    if scope.get("trust") is not None:
        return _trust_payload(s, tokens, user, scope["trust"], methods, parent)
    used = sorted(set(methods) | (set(parent.methods) if parent else set()))
    expires = None
    if app_cred is not None and app_cred.expires_at:
        expires = app_cred.expires_at.replace(tzinfo=dt.timezone.utc).timestamp()
    return tokens.new_payload(
        user.id, used, project_id=proj.id if proj is not None else None,
        domain_id=dom.id if dom is not None else None, system=bool(scope.get("system")),
        app_cred_id=app_cred.id if app_cred else None, parent=parent, expires_at=expires)


def _trust_payload(s, tokens: TokenService, user: m.User, trust: m.Trust, methods, parent):
    if user.id != trust.trustee_user_id:
        raise errors.Forbidden(f"User {user.id} is not the trustee of trust {trust.id}.")
    if trust.remaining_uses is not None:
        if trust.remaining_uses <= 0:
            raise errors.Unauthorized(AUTH_FAILED)
        trust.remaining_uses -= 1
    proj = s.get(m.Project, trust.project_id) if trust.project_id else None
    if proj is None or not proj.enabled:
        raise errors.Unauthorized(AUTH_FAILED)
    held = assignments.effective_role_ids(s, trust.trustor_user_id, project=proj)
    if not set(trust.roles) & held:
        raise errors.Forbidden("The trustor no longer holds any role delegated by the trust.")
    expires = trust.expires_at.replace(tzinfo=dt.timezone.utc).timestamp() \
        if trust.expires_at else None
    used = sorted(set(methods) | (set(parent.methods) if parent else set()))
    return tokens.new_payload(trust.trustor_user_id if trust.impersonation else user.id, used,
                              project_id=proj.id, trust_id=trust.id, parent=parent,
                              expires_at=expires)
