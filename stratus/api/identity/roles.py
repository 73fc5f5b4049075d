"""/v3/roles (global and domain-specific) and implied roles."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import cleanup

routes = RouteTable()
OPTIONS = {"type": "object", "properties": {"immutable": {"type": ["boolean", "null"]}},
           "additionalProperties": False}
CREATE = c.entity_schema({"name": c.NAME_255, "domain_id": c.NULLABLE_ID,
                          "description": c.DESCRIPTION, "options": OPTIONS}, required=["name"])
UPDATE = c.entity_schema({"name": c.NAME_255, "domain_id": c.NULLABLE_ID,
                          "description": c.DESCRIPTION, "options": OPTIONS}, min_properties=1)
FIELDS = ("id", "name", "domain_id", "description", "options", "links")
PROHIBITED_IMPLIED = ("admin",)


def to_dict(req, r: m.Role) -> dict:
    return {**(r.extra or {}), "id": r.id, "name": r.name,
            "domain_id": None if r.domain_id == m.NULL_DOMAIN else r.domain_id,
            "description": r.description, "options": r.options or {},
            "links": c.link(req, f"/v3/roles/{r.id}")}


def _rule(r: m.Role | None, action: str) -> str:
    domain_role = r is not None and r.domain_id != m.NULL_DOMAIN
    return f"identity:{action}_{'domain_role' if domain_role else 'role'}"


def _target(r: m.Role) -> dict:
    return {"target": {"role": {"id": r.id, "domain_id": None if r.domain_id == m.NULL_DOMAIN
                                else r.domain_id}}}


def _get(s, role_id: str) -> m.Role:
    return c.get_or_404(s, m.Role, role_id, "role")


def _immutable(r: m.Role) -> bool:
    return bool((r.options or {}).get("immutable"))


@routes.post("/v3/roles")
def create_role(req):
    ref = c.validate(req.json(), "role", CREATE)
    domain_id = ref.get("domain_id")
    action = "identity:create_domain_role" if domain_id else "identity:create_role"
    req.authorize(action, {"target": {"role": {"domain_id": domain_id}}})
    with req.db.session() as s:
        if domain_id:
            dom = s.get(m.Project, domain_id)
            if dom is None or not dom.is_domain:
                raise errors.NotFound(f"Could not find domain: {domain_id}.")
        r = m.Role(id=c.new_id(), name=ref["name"], domain_id=domain_id or m.NULL_DOMAIN,
                   description=ref.get("description"),
                   options={k: v for k, v in (ref.get("options") or {}).items() if v is not None},
                   extra=c.extra_of(ref, FIELDS))
        s.add(r)
        c.flush_unique(s, "role", ref["name"])
        return 201, {"role": to_dict(req, r)}


@routes.get("/v3/roles")
def list_roles(req):
    domain_id = req.query.get("domain_id")
    req.authorize("identity:list_domain_roles" if domain_id else "identity:list_roles",
                  {"target": {"domain_id": domain_id}})
    with req.db.session() as s:
        q = select(m.Role).where(m.Role.domain_id == (domain_id or m.NULL_DOMAIN))
        q = c.apply_filters(q, m.Role, req, ["name"]).order_by(m.Role.name)
        return c.listing(req, "roles", list(s.scalars(q)), lambda r: to_dict(req, r))


@routes.get("/v3/roles/{role_id}")
def get_role(req):
    with req.db.session() as s:
        r = _get(s, req.path_params["role_id"])
        req.authorize(_rule(r, "get"), _target(r))
        return {"role": to_dict(req, r)}


@routes.patch("/v3/roles/{role_id}")
def update_role(req):
    ref = c.validate(req.json(), "role", UPDATE)
    with req.db.session() as s:
        r = _get(s, req.path_params["role_id"])
        req.authorize(_rule(r, "update"), _target(r))
        current_domain = None if r.domain_id == m.NULL_DOMAIN else r.domain_id
        if "domain_id" in ref and ref["domain_id"] != current_domain:
            raise errors.ValidationError("Update of `domain_id` is not allowed.")
        if _immutable(r) and not (set(ref) == {"options"}
                                  and ref["options"].get("immutable") in (False, None)):
            raise errors.Forbidden(f"Role {r.id} is immutable; unset the immutable option first.")
        for k in ("name", "description"):
            if k in ref:
                setattr(r, k, ref[k])
        if "options" in ref:
            r.options = {k: v for k, v in {**(r.options or {}), **ref["options"]}.items()
                         if v is not None}
        r.extra = {**(r.extra or {}), **c.extra_of(ref, FIELDS)}
        c.flush_unique(s, "role", ref.get("name"))
        return {"role": to_dict(req, r)}


@routes.delete("/v3/roles/{role_id}")
def delete_role(req):
    with req.db.session() as s:
        r = _get(s, req.path_params["role_id"])
        req.authorize(_rule(r, "delete"), _target(r))
        if _immutable(r):
            raise errors.Forbidden(f"Role {r.id} is immutable.")
        cleanup.role_deleted(s, r.id)
        s.delete(r)
    return 204, None


# -- implied roles ------------------------------------------------------------
def _brief(req, r: m.Role) -> dict:
    return {"id": r.id, "name": r.name, "links": c.link(req, f"/v3/roles/{r.id}")}


def _pair(req, s, rule: str):
    prior = _get(s, req.path_params["prior_role_id"])
    implied = _get(s, req.path_params["implied_role_id"])
    req.authorize(rule, {})
    return prior, implied


def _inference(req, prior, implied) -> dict:
    return {"role_inference": {"prior_role": _brief(req, prior), "implies": _brief(req, implied)},
            "links": c.link(req, f"/v3/roles/{prior.id}/implies/{implied.id}")}


@routes.put("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
def create_implied(req):
    with req.db.session() as s:
        prior, implied = _pair(req, s, "identity:create_implied_role")
        if implied.name in PROHIBITED_IMPLIED:
            raise errors.Forbidden(f"{implied.name} may not be an implied role.")
        if prior.domain_id == m.NULL_DOMAIN and implied.domain_id != m.NULL_DOMAIN:
            raise errors.Forbidden("A global role cannot imply a domain-specific role.")
        if prior.id == implied.id:
            raise errors.ValidationError("A role cannot imply itself.")
        from stratus.identity.assignments import implied_closure
        if prior.id in implied_closure(s, {implied.id}):
            raise errors.Conflict("The implied role would create a cycle.")
        if s.get(m.ImpliedRole, (prior.id, implied.id)) is None:
            s.add(m.ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
        return 201, _inference(req, prior, implied)


def _existing(s, prior, implied):
    if s.get(m.ImpliedRole, (prior.id, implied.id)) is None:
        raise errors.NotFound(f"{prior.id} does not imply {implied.id}.")


@routes.get("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
def get_implied(req):
    with req.db.session() as s:
        prior, implied = _pair(req, s, "identity:get_implied_role")
        _existing(s, prior, implied)
        return _inference(req, prior, implied)


@routes.head("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
def check_implied(req):
    with req.db.session() as s:
        prior, implied = _pair(req, s, "identity:check_implied_role")
        _existing(s, prior, implied)
    return 204, None


@routes.delete("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
def delete_implied(req):
    with req.db.session() as s:
        prior, implied = _pair(req, s, "identity:delete_implied_role")
        _existing(s, prior, implied)
        s.delete(s.get(m.ImpliedRole, (prior.id, implied.id)))
    return 204, None


def _implied_of(s, prior_id: str) -> list[m.Role]:
    return list(s.scalars(select(m.Role).join(m.ImpliedRole, m.ImpliedRole.implied_role_id ==
                                              m.Role.id)
                          .where(m.ImpliedRole.prior_role_id == prior_id).order_by(m.Role.name)))


@routes.get("/v3/roles/{prior_role_id}/implies")
def list_implied(req):
    with req.db.session() as s:
        prior = _get(s, req.path_params["prior_role_id"])
        req.authorize("identity:list_implied_roles", {})
        return {"role_inference": {"prior_role": _brief(req, prior),
                                   "implies": [_brief(req, r) for r in _implied_of(s, prior.id)]},
                "links": c.link(req, f"/v3/roles/{prior.id}/implies")}


@routes.get("/v3/role_inferences")
def list_inferences(req):
    req.authorize("identity:list_role_inference_rules", {})
    with req.db.session() as s:
        priors = s.scalars(select(m.Role).where(m.Role.id.in_(
            select(m.ImpliedRole.prior_role_id))).order_by(m.Role.name))
        return {"role_inferences": [{"prior_role": _brief(req, p),
                                     "implies": [_brief(req, r) for r in _implied_of(s, p.id)]}
                                    for p in priors],
                "links": c.link(req, "/v3/role_inferences")}
