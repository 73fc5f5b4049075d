"""/v3/OS-TRUST/trusts: delegation of a trustor's roles on a project to a
trustee (what orchestration uses to act for a user later).  A token is
obtained with ``"scope": {"OS-TRUST:trust": {"id": ...}}`` by the trustee."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.identity.roles import to_dict as role_dict
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import assignments
from stratus.identity.tokens import trust_usable

routes = RouteTable()
BASE = "/v3/OS-TRUST/trusts"
ROLE_REF = {"type": "object", "properties": {"id": c.ID, "name": c.NAME_255},
            "minProperties": 1}
CREATE = c.entity_schema({"trustor_user_id": c.ID, "trustee_user_id": c.ID,
                          "project_id": c.NULLABLE_ID, "impersonation": c.BOOL,
                          "expires_at": {"type": ["string", "null"]},
                          "remaining_uses": {"type": ["integer", "null"], "minimum": 1},
                          "roles": {"type": "array", "items": ROLE_REF},
                          "allow_redelegation": {"type": ["boolean", "null"]},
                          "redelegation_count": {"type": ["integer", "null"]}},
                         required=["trustor_user_id", "trustee_user_id", "impersonation"])


def to_dict(req, s, t: m.Trust, with_roles: bool = True) -> dict:
    d = {"id": t.id, "trustor_user_id": t.trustor_user_id, "trustee_user_id": t.trustee_user_id,
         "project_id": t.project_id, "impersonation": t.impersonation,
         "expires_at": t.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if t.expires_at else None,
         "remaining_uses": t.remaining_uses, "redelegation_count": 0,
         "links": c.link(req, f"{BASE}/{t.id}")}
    if with_roles:
        roles = [r for r in (s.get(m.Role, rid) for rid in t.roles) if r is not None]
        d["roles"] = [role_dict(req, r) for r in roles]
        d["roles_links"] = {"self": req.url_for(f"{BASE}/{t.id}/roles"), "previous": None,
                            "next": None}
    return d


def _target(t) -> dict:
    return {"target": {"trust": {"trustor_user_id": t.trustor_user_id,
                                 "trustee_user_id": t.trustee_user_id}}}


@routes.post(BASE)
def create_trust(req):
    ref = c.validate(req.json(), "trust", CREATE)
    req.authorize("identity:create_trust", {"target": {"trust": ref}})
    if ref.get("allow_redelegation"):
        raise errors.NotImplementedYet("Trust redelegation is not supported.")
    if req.ctx.token is not None and req.ctx.token.trust is not None:
        raise errors.Forbidden("A trust token cannot create another trust.")
    expires = c.parse_time("trust.expires_at", ref.get("expires_at"))
    if expires is not None and expires <= dt.datetime.utcnow():
        raise errors.ValidationError("Invalid input for field 'trust.expires_at': it is in the "
                                     "past.")
    with req.db.session() as s:
        trustee = s.get(m.User, ref["trustee_user_id"])
        if trustee is None:
            raise errors.NotFound(f"Could not find user: {ref['trustee_user_id']}.")
        role_ids: list[str] = []
        if ref.get("project_id"):
            proj = c.get_or_404(s, m.Project, ref["project_id"], "project")
            held = assignments.effective_role_ids(s, ref["trustor_user_id"], project=proj)
            for r in ref.get("roles") or []:
                role = s.get(m.Role, r["id"]) if r.get("id") else s.scalars(
                    select(m.Role).where(m.Role.name == r.get("name"),
                                         m.Role.domain_id == m.NULL_DOMAIN)).first()
                if role is None:
                    raise errors.NotFound(f"Could not find role: {r.get('id') or r.get('name')}.")
                if role.id not in held:
                    raise errors.Forbidden(f"The trustor does not hold role {role.name} on "
                                           f"project {proj.id}.")
                role_ids.append(role.id)
        elif ref.get("roles"):
            raise errors.Forbidden("A trust without a project cannot delegate roles.")
        t = m.Trust(id=c.new_id(), trustor_user_id=ref["trustor_user_id"],
                    trustee_user_id=trustee.id, project_id=ref.get("project_id"),
                    impersonation=ref["impersonation"], expires_at=expires,
                    remaining_uses=ref.get("remaining_uses"), roles=sorted(set(role_ids)))
        s.add(t)
        s.flush()
        return 201, {"trust": to_dict(req, s, t)}


def list_trusts(req):
    trustor, trustee = req.query.get("trustor_user_id"), req.query.get("trustee_user_id")
    if trustor:
        req.authorize("identity:list_trusts_for_trustor",
                      {"target": {"trust": {"trustor_user_id": trustor}}})
    if trustee:
        req.authorize("identity:list_trusts_for_trustee",
                      {"target": {"trust": {"trustee_user_id": trustee}}})
    engine = req.runtime.policies[req.service]
    see_all = engine.enforce("identity:list_trusts", {}, req.ctx.creds())
    with req.db.session() as s:
        q = select(m.Trust)
        if trustor:
            q = q.where(m.Trust.trustor_user_id == trustor)
        if trustee:
            q = q.where(m.Trust.trustee_user_id == trustee)
        if not (trustor or trustee or see_all):
            # Without a filter a user sees the trusts they are part of.
            me = req.ctx.user_id
            q = q.where((m.Trust.trustor_user_id == me) | (m.Trust.trustee_user_id == me))
        trusts = [t for t in s.scalars(q) if trust_usable(t)]
        return {"trusts": [to_dict(req, s, t, with_roles=False) for t in trusts],
                "links": c.collection_links(req)}


routes.get(BASE)(list_trusts)
routes.get(BASE + "/")(list_trusts)


def _get(req, s, rule: str) -> m.Trust:
    t = s.get(m.Trust, req.path_params["trust_id"])
    if not trust_usable(t):
        raise errors.NotFound(f"Could not find trust: {req.path_params['trust_id']}.")
    req.authorize(rule, _target(t))
    return t


@routes.get(BASE + "/{trust_id}")
def get_trust(req):
    with req.db.session() as s:
        return {"trust": to_dict(req, s, _get(req, s, "identity:get_trust"))}


@routes.delete(BASE + "/{trust_id}")
def delete_trust(req):
    with req.db.session() as s:
        s.delete(_get(req, s, "identity:delete_trust"))
    return 204, None


@routes.get(BASE + "/{trust_id}/roles")
def list_trust_roles(req):
    with req.db.session() as s:
        t = _get(req, s, "identity:list_roles_for_trust")
        roles = [r for r in (s.get(m.Role, rid) for rid in t.roles) if r is not None]
        return {"roles": [role_dict(req, r) for r in roles], "links": c.collection_links(req)}


@routes.add(BASE + "/{trust_id}/roles/{role_id}", ["GET", "HEAD"])
def get_trust_role(req):
    with req.db.session() as s:
        t = _get(req, s, "identity:get_role_for_trust")
        rid = req.path_params["role_id"]
        role = s.get(m.Role, rid) if rid in t.roles else None
        if role is None:
            raise errors.NotFound(f"Could not find role: {rid} in trust {t.id}.")
        return {"role": role_dict(req, role)}
