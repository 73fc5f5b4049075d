"""/v3/domains.  A domain is a project row with ``is_domain`` set."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.identity.projects import OPTIONS, TAGS, tags_of, update
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import cleanup

routes = RouteTable()
CREATE = c.entity_schema({"name": c.NAME_64, "description": c.DESCRIPTION, "enabled": c.BOOL,
                          "explicit_domain_id": c.ID, "tags": TAGS, "options": OPTIONS,
                          "is_domain": c.BOOL, "domain_id": c.NULLABLE_ID,
                          "parent_id": c.NULLABLE_ID}, required=["name"])
UPDATE = c.entity_schema({"name": c.NAME_64, "description": c.DESCRIPTION, "enabled": c.BOOL,
                          "tags": TAGS, "options": OPTIONS}, min_properties=1)
FIELDS = ("id", "name", "description", "enabled", "explicit_domain_id", "tags", "options",
          "links", "is_domain", "domain_id", "parent_id")


def to_dict(req, s, d: m.Project) -> dict:
    extra = dict(d.extra or {})
    options = extra.pop("options", {}) or {}
    return {**extra, "id": d.id, "name": d.name, "description": d.description or "",
            "enabled": d.enabled, "tags": tags_of(s, d.id), "options": options,
            "links": c.link(req, f"/v3/domains/{d.id}")}


def create_domain(req, s, ref: dict) -> m.Project:
    req.authorize("identity:create_domain", {})
    if ref.get("parent_id") or ref.get("domain_id"):
        raise errors.ValidationError("A domain cannot have a parent or a domain.")
    d = m.Project(id=ref.get("explicit_domain_id") or c.new_id(), name=ref["name"],
                  domain_id=m.ROOT_DOMAIN, parent_id=None, is_domain=True,
                  enabled=ref.get("enabled", True), description=ref.get("description"),
                  extra={**c.extra_of(ref, FIELDS), "options": ref.get("options") or {}})
    if s.get(m.Project, d.id) is not None:
        raise errors.Conflict(f"Conflict occurred attempting to store domain - Duplicate "
                              f"ID, {d.id}.")
    s.add(d)
    from stratus.db.models.identity import ProjectTag
    for t in ref.get("tags") or []:
        s.add(ProjectTag(project_id=d.id, name=t))
    c.flush_unique(s, "domain", ref["name"])
    return d


@routes.post("/v3/domains")
def create(req):
    ref = c.validate(req.json(), "domain", CREATE)
    with req.db.session() as s:
        d = create_domain(req, s, ref)
        return 201, {"domain": to_dict(req, s, d)}


@routes.get("/v3/domains")
def list_domains(req):
    req.authorize("identity:list_domains", {"target": {"domain": {"id": req.ctx.domain_id}}})
    with req.db.session() as s:
        q = select(m.Project).where(m.Project.is_domain.is_(True))
        q = c.apply_filters(q, m.Project, req, ["name", "enabled"]).order_by(m.Project.name)
        return c.listing(req, "domains", list(s.scalars(q)), lambda d: to_dict(req, s, d))


def _get(req, s) -> m.Project:
    return c.get_or_404(s, m.Project, req.path_params["domain_id"], "domain", is_domain=True)


@routes.get("/v3/domains/{domain_id}")
def get_domain(req):
    with req.db.session() as s:
        d = _get(req, s)
        req.authorize("identity:get_domain", {"target": {"domain": {"id": d.id}}})
        return {"domain": to_dict(req, s, d)}


@routes.patch("/v3/domains/{domain_id}")
def update_domain(req):
    ref = c.validate(req.json(), "domain", UPDATE)
    with req.db.session() as s:
        d = _get(req, s)
        req.authorize("identity:update_domain", {"target": {"domain": {"id": d.id}}})
        update(req, s, d, ref)
        return {"domain": to_dict(req, s, d)}


@routes.delete("/v3/domains/{domain_id}")
def delete_domain(req):
    with req.db.session() as s:
        d = _get(req, s)
        req.authorize("identity:delete_domain", {"target": {"domain": {"id": d.id}}})
        if d.enabled:
            raise errors.Forbidden("Cannot delete a domain that is enabled, please disable it "
                                   "first.")
        if (d.extra or {}).get("options", {}).get("immutable"):
            raise errors.Forbidden(f"Domain {d.id} is immutable.")
        cleanup.domain_deleted(s, d.id)
        s.delete(d)
    return 204, None
