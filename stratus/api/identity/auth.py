"""/v3/auth: issue, validate, check and revoke tokens; what a token may reach."""
from __future__ import annotations

from stratus.api.identity.common import link
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import assignments, authentication, catalog, compliance, tokens as tok

routes = RouteTable()


def _revision(req) -> int:
    return req.runtime.identity_revision(req.ctx)


def token_body(req, vt: tok.ValidatedToken, with_catalog: bool) -> dict:
    p = vt.payload
    body = {"methods": p.methods, "user": vt.user, "audit_ids": p.audit_ids,
            "expires_at": tok.isotime(p.expires_at), "issued_at": tok.isotime(p.issued_at)}
    if vt.project is not None:
        body["project"] = vt.project
        body["is_domain"] = vt.is_domain
    elif vt.domain is not None:
        body["domain"] = vt.domain
    elif p.system:
        body["system"] = {"all": True}
    if vt.roles or vt.project or vt.domain or p.system:
        body["roles"] = vt.roles
    if vt.app_cred is not None:
        body["application_credential"] = vt.app_cred
    if vt.trust is not None:
        body["OS-TRUST:trust"] = vt.trust
    if with_catalog and (vt.project or vt.domain or p.system):
        body["catalog"] = catalog.for_scope(catalog.cached(req.db, _revision(req)),
                                            (vt.project or {}).get("id"))
    return {"token": body}


@routes.post("/v3/auth/tokens", auth=False)
def issue_token(req):
    body = req.json()
    try:
        with req.db.session() as s:
            payload = authentication.authenticate(s, req.conf, req.runtime.tokens, body)
    except authentication.PasswordFailed as exc:
        with req.db.session() as s:
            user = s.get(m.User, exc.user_id)
            if user is not None:
                compliance.record_failure(req.conf, user)
        raise
    try:
        token, vt = req.runtime.tokens.issue(payload)
    except tok.TokenNotFound:  # e.g. the last role vanished between the two reads
        raise errors.Unauthorized(authentication.AUTH_FAILED) from None
    return 201, token_body(req, vt, "nocatalog" not in req.query), {"X-Subject-Token": token}


def _subject(req) -> tok.ValidatedToken:
    subject = req.headers.get("x-subject-token")
    if not subject:
        raise errors.ValidationError("X-Subject-Token header is required.")
    allow_expired = req.query.get("allow_expired", "").lower() in ("1", "true", "yes")
    try:
        return req.runtime.tokens.validate(subject, allow_expired=allow_expired,
                                           rev=_revision(req))
    except tok.TokenNotFound:
        raise errors.NotFound(f"Could not find token: {subject[:16]}...") from None


def _may_see_subject(req, vt) -> None:
    # Anyone may look at their own token; others need the policy.
    target = {"target": {"token": {"user_id": vt.user["id"]}}}
    req.authorize("identity:validate_token", target)


@routes.head("/v3/auth/tokens")
def check_token(req):
    vt = _subject(req)
    req.authorize("identity:check_token", {"target": {"token": {"user_id": vt.user["id"]}}})
    return 200, None, {"X-Subject-Token": req.headers["x-subject-token"]}


@routes.get("/v3/auth/tokens")
def validate_token(req):
    vt = _subject(req)
    _may_see_subject(req, vt)
    subject = req.headers["x-subject-token"]
    return 200, token_body(req, vt, "nocatalog" not in req.query), {"X-Subject-Token": subject}


@routes.delete("/v3/auth/tokens")
def revoke_token(req):
    vt = _subject(req)
    req.authorize("identity:revoke_token", {"target": {"token": {"user_id": vt.user["id"]}}})
    with req.db.session() as s:
        tok.revoke(s, audit_id=vt.payload.audit_ids[0])
    req.runtime.tokens.forget()
    return 204, None


@routes.get("/v3/auth/catalog")
def auth_catalog(req):
    if not (req.ctx.project_id or req.ctx.domain_id or req.ctx.system_scope):
        raise errors.Forbidden("The service catalog requires a scoped token.")
    return {"catalog": catalog.for_scope(catalog.cached(req.db, _revision(req)),
                                         req.ctx.project_id),
            "links": link(req, "/v3/auth/catalog")}


def _project_ref(req, p: m.Project) -> dict:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "enabled": p.enabled,
            "description": p.description or "", "parent_id": p.parent_id,
            "is_domain": p.is_domain, "links": link(req, f"/v3/projects/{p.id}")}


@routes.get("/v3/auth/projects")
def auth_projects(req):
    with req.db.session() as s:
        projects = [p for p in assignments.projects_with_roles(s, req.ctx.user_id) if p.enabled]
        return {"projects": [_project_ref(req, p) for p in projects],
                "links": {"self": req.url_for("/v3/auth/projects"), "previous": None,
                          "next": None}}


@routes.get("/v3/auth/domains")
def auth_domains(req):
    with req.db.session() as s:
        doms = [d for d in assignments.domains_with_roles(s, req.ctx.user_id) if d.enabled]
        return {"domains": [{"id": d.id, "name": d.name, "enabled": d.enabled,
                             "description": d.description or "",
                             "links": link(req, f"/v3/domains/{d.id}")} for d in doms],
                "links": {"self": req.url_for("/v3/auth/domains"), "previous": None,
                          "next": None}}


@routes.get("/v3/auth/system")
def auth_system(req):
    with req.db.session() as s:
        has = bool(assignments.effective_role_ids(s, req.ctx.user_id, system=True))
    return {"system": [{"all": True}] if has else [],
            "links": {"self": req.url_for("/v3/auth/system"), "previous": None, "next": None}}

