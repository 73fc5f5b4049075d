"""/v3/users/{user_id}/application_credentials.

An application credential lets software act as its creator on one project
with a subset of the creator's roles; the secret is shown once, at creation,
and stored only as a bcrypt hash."""
from __future__ import annotations

import base64
import datetime as dt
import os

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity.passwords import hash_password

routes = RouteTable()
ROLE_REF = {"type": "object", "properties": {"id": c.ID, "name": c.NAME_255,
                                             "domain_id": c.NULLABLE_ID},
            "minProperties": 1}
CREATE = c.entity_schema({"name": c.NAME_255, "description": c.DESCRIPTION,
                          "secret": {"type": ["string", "null"], "minLength": 1,
                                     "maxLength": 4096},
                          "expires_at": {"type": ["string", "null"]},
                          "roles": {"type": "array", "items": ROLE_REF},
                          "unrestricted": {"type": ["boolean", "null"]},
                          "access_rules": {"type": "array", "items": {
                              "type": "object",
                              "properties": {"id": c.ID, "path": {"type": "string",
                                                                  "minLength": 1,
                                                                  "maxLength": 255},
                                             "method": {"enum": ["GET", "HEAD", "POST",
                                                                 "PUT", "PATCH", "DELETE"]},
                                             "service": {"type": "string", "minLength": 1,
                                                         "maxLength": 64}},
                              "additionalProperties": False}}},
                         required=["name"], extra=False)


def rule_dict(r: m.AccessRule) -> dict:
    return {"id": r.id, "service": r.service, "path": r.path, "method": r.method}


def _access_rule_ids(s, user_id: str, refs: list[dict]) -> list[str]:
    """Reuse the user's identical rules (Keystone shares them), create the rest."""
    ids = []
    for ref in refs:
        if "id" in ref:
            rule = s.get(m.AccessRule, ref["id"])
            if rule is None or rule.user_id != user_id:
                raise errors.NotFound(f"Could not find access rule: {ref['id']}.")
        else:
            missing = {"path", "method", "service"} - set(ref)
            if missing:
                raise errors.ValidationError("Invalid input for field 'access_rules': "
                                             f"missing {', '.join(sorted(missing))}.")
            rule = s.scalars(select(m.AccessRule).where(
                m.AccessRule.user_id == user_id, m.AccessRule.service == ref["service"],
                m.AccessRule.path == ref["path"], m.AccessRule.method == ref["method"])).first()
            if rule is None:
                rule = m.AccessRule(id=c.new_id(), user_id=user_id, service=ref["service"],
                                    path=ref["path"], method=ref["method"])
                s.add(rule)
                s.flush()
        ids.append(rule.id)
    return ids


def to_dict(req, s, ac: m.ApplicationCredential) -> dict:
    roles = [s.get(m.Role, rid) for rid in ac.roles]
    return {"id": ac.id, "name": ac.name, "description": ac.description,
            "user_id": ac.user_id, "project_id": ac.project_id,
            # Keystone renders this one without a zone suffix.
            "expires_at": ac.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%f") if ac.expires_at
            else None, "unrestricted": ac.unrestricted,
            "access_rules": [rule_dict(r) for r in (s.get(m.AccessRule, i)
                                                    for i in ac.access_rules or []) if r],
            "roles": [{"id": r.id, "name": r.name,
                       "domain_id": None if r.domain_id == m.NULL_DOMAIN else r.domain_id}
                      for r in roles if r is not None],
            "links": c.link(req, f"/v3/users/{ac.user_id}/application_credentials/{ac.id}")}


@routes.post("/v3/users/{user_id}/application_credentials")
def create_app_cred(req):
    ref = c.validate(req.json(), "application_credential", CREATE)
    user_id = req.path_params["user_id"]
    req.authorize("identity:create_application_credential", {"user_id": user_id})
    if req.ctx.user_id != user_id:
        raise errors.Forbidden("Application credentials can only be created for yourself.")
    if not req.ctx.project_id:
        raise errors.Forbidden("A project-scoped token is required to create an application "
                               "credential.")
    app_cred = req.ctx.token.app_cred if req.ctx.token is not None else None
    if app_cred and app_cred.get("restricted"):
        raise errors.Forbidden("A restricted application credential cannot create another.")
    held = dict(zip(req.ctx.role_ids, req.ctx.roles))
    wanted = []
    for r in ref.get("roles") or [{"id": rid} for rid in held]:
        match = [rid for rid, name in held.items()
                 if r.get("id") == rid or (not r.get("id") and r.get("name") == name)]
        if not match:
            raise errors.Forbidden(f"You do not hold the role {r.get('id') or r.get('name')} "
                                   "on this project.")
        wanted.append(match[0])
    expires = c.parse_time("application_credential.expires_at", ref.get("expires_at"))
    if expires is not None and expires < dt.datetime.utcnow():
        raise errors.ValidationError("Invalid input for field 'expires_at': it is in the past.")
    secret = ref.get("secret") or base64.urlsafe_b64encode(os.urandom(48)).rstrip(b"=").decode()
    with req.db.session() as s:
        ac = m.ApplicationCredential(
            id=c.new_id(), name=ref["name"], user_id=user_id, project_id=req.ctx.project_id,
            secret_hash=hash_password(secret, req.conf.identity.password_hash_rounds),
            description=ref.get("description"), expires_at=expires,
            unrestricted=bool(ref.get("unrestricted")), roles=sorted(set(wanted)),
            access_rules=_access_rule_ids(s, user_id, ref.get("access_rules") or []))
        s.add(ac)
        try:
            s.flush()
        except IntegrityError:
            raise errors.Conflict(f"Conflict occurred attempting to store "
                                  f"application_credential - Duplicate name, {ref['name']}.") \
                from None
        body = to_dict(req, s, ac)
    body["secret"] = secret
    return 201, {"application_credential": body}


@routes.get("/v3/users/{user_id}/application_credentials")
def list_app_creds(req):
    user_id = req.path_params["user_id"]
    req.authorize("identity:list_application_credentials", {"user_id": user_id})
    with req.db.session() as s:
        c.get_or_404(s, m.User, user_id, "user")
        q = select(m.ApplicationCredential).where(m.ApplicationCredential.user_id == user_id)
        if req.query.get("name"):
            q = q.where(m.ApplicationCredential.name == req.query["name"])
        return {"application_credentials": [to_dict(req, s, ac) for ac in s.scalars(q)],
                "links": c.collection_links(req)}


def _get(req, s, rule) -> m.ApplicationCredential:
    ac = s.get(m.ApplicationCredential, req.path_params["app_cred_id"])
    if ac is None or ac.user_id != req.path_params["user_id"]:
        raise errors.NotFound("Could not find Application Credential: "
                              f"{req.path_params['app_cred_id']}.")
    req.authorize(rule, {"user_id": ac.user_id})
    return ac


@routes.get("/v3/users/{user_id}/application_credentials/{app_cred_id}")
def get_app_cred(req):
    with req.db.session() as s:
        return {"application_credential": to_dict(req, s, _get(
            req, s, "identity:get_application_credential"))}


@routes.delete("/v3/users/{user_id}/application_credentials/{app_cred_id}")
def delete_app_cred(req):
    with req.db.session() as s:
        s.delete(_get(req, s, "identity:delete_application_credential"))
    return 204, None


# -- /v3/users/{user_id}/access_rules ---------------------------------------------
def _rule(req, s, rule_name: str) -> m.AccessRule:
    r = s.get(m.AccessRule, req.path_params["rule_id"])
    if r is None or r.user_id != req.path_params["user_id"]:
        raise errors.NotFound(f"Could not find access rule: {req.path_params['rule_id']}.")
    req.authorize(rule_name, {"target": {"user": {"id": r.user_id}}, "user_id": r.user_id})
    return r


@routes.get("/v3/users/{user_id}/access_rules")
def list_access_rules(req):
    user_id = req.path_params["user_id"]
    req.authorize("identity:list_access_rules", {"target": {"user": {"id": user_id}},
                                                 "user_id": user_id})
    with req.db.session() as s:
        q = select(m.AccessRule).where(m.AccessRule.user_id == user_id)
        for k in ("service", "path", "method"):
            if req.query.get(k):
                q = q.where(getattr(m.AccessRule, k) == req.query[k])
        return {"access_rules": [rule_dict(r) for r in s.scalars(q)],
                "links": c.collection_links(req)}


@routes.get("/v3/users/{user_id}/access_rules/{rule_id}")
def get_access_rule(req):
    with req.db.session() as s:
        return {"access_rule": rule_dict(_rule(req, s, "identity:get_access_rule"))}


@routes.delete("/v3/users/{user_id}/access_rules/{rule_id}")
def delete_access_rule(req):
    with req.db.session() as s:
        r = _rule(req, s, "identity:delete_access_rule")
        users = s.scalars(select(m.ApplicationCredential).where(
            m.ApplicationCredential.user_id == r.user_id))
        if any(r.id in (ac.access_rules or []) for ac in users):
            raise errors.Forbidden(f"Access rule {r.id} is still used by an application "
                                   "credential.")
        s.delete(r)
    return 204, None
