"""/v3/projects (with hierarchy and tags).  Top-level projects have their
domain as ``parent_id``, as in Keystone."""
from __future__ import annotations

from sqlalchemy import delete, select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import cleanup, tokens as tok

routes = RouteTable()
TAG = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^,/]*$"}
TAGS = {"type": "array", "items": TAG, "maxItems": 80, "uniqueItems": True}
OPTIONS = {"type": "object", "properties": {"immutable": {"type": ["boolean", "null"]}},
           "additionalProperties": False}
CREATE = c.entity_schema({"name": c.NAME_64, "domain_id": c.NULLABLE_ID,
                          "parent_id": c.NULLABLE_ID, "description": c.DESCRIPTION,
                          "enabled": c.BOOL, "is_domain": c.BOOL, "tags": TAGS,
                          "options": OPTIONS}, required=["name"])
UPDATE = c.entity_schema({"name": c.NAME_64, "description": c.DESCRIPTION, "enabled": c.BOOL,
                          "tags": TAGS, "options": OPTIONS, "domain_id": c.NULLABLE_ID,
                          "parent_id": c.NULLABLE_ID, "is_domain": c.BOOL}, min_properties=1)
FIELDS = ("name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags",
          "options", "id", "links")


def tags_of(s, project_id: str) -> list[str]:
    return sorted(s.scalars(select(m.ProjectTag.name)
                            .where(m.ProjectTag.project_id == project_id)))


def to_dict(req, s, p: m.Project) -> dict:
    extra = dict(p.extra or {})
    options = extra.pop("options", {}) or {}
    d = {**extra, "id": p.id, "name": p.name, "description": p.description or "",
         "enabled": p.enabled, "is_domain": p.is_domain,
         "domain_id": None if p.is_domain else p.domain_id, "parent_id": p.parent_id,
         "tags": tags_of(s, p.id), "options": options,
         "links": c.link(req, f"/v3/projects/{p.id}")}
    return d


def default_domain(req) -> str:
    return req.ctx.domain_id or req.conf.identity.default_domain_id


def create(req, s, ref: dict) -> m.Project:
    if ref.get("is_domain"):
        from stratus.api.identity.domains import create_domain
        return create_domain(req, s, ref)
    parent = None
    if ref.get("parent_id"):
        parent = s.get(m.Project, ref["parent_id"])
        if parent is None:
            raise errors.ValidationError(f"Invalid input for field 'project.parent_id': "
                                         f"could not find project {ref['parent_id']}.")
    domain_id = ref.get("domain_id") or (parent.domain_id if parent and not parent.is_domain
                                         else parent.id if parent else default_domain(req))
    dom = s.get(m.Project, domain_id)
    if dom is None or not dom.is_domain:
        raise errors.ValidationError(f"Invalid input for field 'project.domain_id': could not "
                                     f"find domain {domain_id}.")
    if parent is not None and (parent.id if parent.is_domain else parent.domain_id) != domain_id:
        raise errors.ValidationError("Cannot create project: its parent is in another domain.")
    if parent is not None and not parent.enabled and not parent.is_domain:
        raise errors.ValidationError(f"Cannot create project in disabled parent {parent.id}.")
    req.authorize("identity:create_project", {"target": {"project": {"domain_id": domain_id}}})
    p = m.Project(id=c.new_id(), name=ref["name"], domain_id=domain_id,
                  parent_id=parent.id if parent else domain_id, is_domain=False,
                  enabled=ref.get("enabled", True), description=ref.get("description"),
                  extra={**c.extra_of(ref, FIELDS), "options": ref.get("options") or {}})
    s.add(p)
    for t in ref.get("tags") or []:
        s.add(m.ProjectTag(project_id=p.id, name=t))
    c.flush_unique(s, "project", ref["name"], domain_id)
    return p


@routes.post("/v3/projects")
def create_project(req):
    ref = c.validate(req.json(), "project", CREATE)
    with req.db.session() as s:
        p = create(req, s, ref)
        return 201, {"project": to_dict(req, s, p)}


def _tag_filter(q, req):
    def tags(name):
        v = req.query.get(name)
        return [t for t in v.split(",") if t] if v else None
    if tags("tags"):
        for t in tags("tags"):
            q = q.where(m.Project.id.in_(select(m.ProjectTag.project_id)
                                         .where(m.ProjectTag.name == t)))
    if tags("tags-any"):
        q = q.where(m.Project.id.in_(select(m.ProjectTag.project_id)
                                     .where(m.ProjectTag.name.in_(tags("tags-any")))))
    if tags("not-tags"):
        need = tags("not-tags")
        having_all = select(m.ProjectTag.project_id).where(m.ProjectTag.name.in_(need)) \
            .group_by(m.ProjectTag.project_id)
        from sqlalchemy import func
        having_all = having_all.having(func.count() == len(set(need)))
        q = q.where(m.Project.id.not_in(having_all))
    if tags("not-tags-any"):
        q = q.where(m.Project.id.not_in(select(m.ProjectTag.project_id)
                                        .where(m.ProjectTag.name.in_(tags("not-tags-any")))))
    return q


@routes.get("/v3/projects")
def list_projects(req):
    req.authorize("identity:list_projects", {"target": {"domain_id": req.ctx.domain_id}})
    with req.db.session() as s:
        is_domain = c.bool_query(req, "is_domain") or False
        q = select(m.Project).where(m.Project.is_domain.is_(is_domain))
        q = c.apply_filters(q, m.Project, req, ["name", "enabled", "parent_id", "domain_id"])
        q = _tag_filter(q, req).order_by(m.Project.name)
        return c.listing(req, "projects", list(s.scalars(q)), lambda p: to_dict(req, s, p))


def _subtree(s, root_id: str) -> list[m.Project]:
    out, frontier = [], [root_id]
    while frontier:
        children = list(s.scalars(select(m.Project).where(m.Project.parent_id.in_(frontier),
                                                          m.Project.is_domain.is_(False))))
        out.extend(children)
        frontier = [ch.id for ch in children]
    return out


@routes.get("/v3/projects/{project_id}")
def get_project(req):
    with req.db.session() as s:
        p = c.get_or_404(s, m.Project, req.path_params["project_id"], "project")
        req.authorize("identity:get_project", {"target": {"project": {
            "id": p.id, "domain_id": p.domain_id}}})
        body = to_dict(req, s, p)
        from stratus.identity.assignments import project_lineage
        if c.bool_query(req, "parents_as_list"):
            body["parents"] = [{"project": to_dict(req, s, a)} for a in project_lineage(s, p)]
        if c.bool_query(req, "subtree_as_list"):
            body["subtree"] = [{"project": to_dict(req, s, d)} for d in _subtree(s, p.id)]
        if c.bool_query(req, "parents_as_ids"):
            ids: dict | None = None
            for a in reversed(project_lineage(s, p)):
                ids = {a.id: ids}
            body["parents"] = ids
        if c.bool_query(req, "subtree_as_ids"):
            def tree(pid):
                kids = s.scalars(select(m.Project.id).where(m.Project.parent_id == pid,
                                                            m.Project.is_domain.is_(False)))
                return {k: tree(k) for k in kids} or None
            body["subtree"] = tree(p.id)
        return {"project": body}


def update(req, s, p: m.Project, ref: dict) -> None:
    if "domain_id" in ref and ref["domain_id"] != (None if p.is_domain else p.domain_id):
        raise errors.ValidationError("Update of `domain_id` is not allowed.")
    if "parent_id" in ref and ref["parent_id"] != p.parent_id:
        raise errors.ValidationError("Update of `parent_id` is not allowed.")
    if "is_domain" in ref and ref["is_domain"] != p.is_domain:
        raise errors.ValidationError("Update of `is_domain` is not allowed.")
    extra = dict(p.extra or {})
    if (extra.get("options") or {}).get("immutable") and \
            not (set(ref) == {"options"} or ref.get("options", {}).get("immutable") is False):
        raise errors.Forbidden(f"Project {p.id} is immutable; unset the immutable option "
                               "first.")
    for k in ("name", "description"):
        if k in ref:
            setattr(p, k, ref[k])
    if "enabled" in ref:
        if ref["enabled"] is False and p.enabled and not p.is_domain and any(
                ch.enabled for ch in _subtree(s, p.id)):
            raise errors.Forbidden(f"Cannot disable project {p.id}: it has enabled children.")
        if ref["enabled"] is False and p.enabled:
            tok.revoke(s, project_id=p.id) if not p.is_domain else tok.revoke(s, domain_id=p.id)
        p.enabled = ref["enabled"]
    if "options" in ref:
        opts = {k: v for k, v in {**(extra.get("options") or {}), **ref["options"]}.items()
                if v is not None}
        extra["options"] = opts
    extra.update(c.extra_of(ref, FIELDS))
    p.extra = extra
    if "tags" in ref:
        s.execute(delete(m.ProjectTag).where(m.ProjectTag.project_id == p.id))
        for t in ref["tags"]:
            s.add(m.ProjectTag(project_id=p.id, name=t))
    c.flush_unique(s, "project", ref.get("name"))


def _ref(p: m.Project) -> dict:
    return {"id": p.id, "domain_id": None if p.is_domain else p.domain_id}


@routes.patch("/v3/projects/{project_id}")
def update_project(req):
    ref = c.validate(req.json(), "project", UPDATE)
    with req.db.session() as s:
        p = c.get_or_404(s, m.Project, req.path_params["project_id"], "project")
        req.authorize("identity:update_project", {"target": {"project": _ref(p)}})
        update(req, s, p, ref)
        return {"project": to_dict(req, s, p)}


@routes.delete("/v3/projects/{project_id}")
def delete_project(req):
    with req.db.session() as s:
        p = c.get_or_404(s, m.Project, req.path_params["project_id"], "project")
        req.authorize("identity:delete_project", {"target": {"project": _ref(p)}})
        if (p.extra or {}).get("options", {}).get("immutable"):
            raise errors.Forbidden(f"Project {p.id} is immutable.")
        if p.is_domain:  # a project acting as a domain is deleted as a domain
            if p.enabled:
                raise errors.Forbidden("Cannot delete a domain that is enabled, please disable "
                                       "it first.")
            cleanup.domain_deleted(s, p.id)
            s.delete(p)
            return 204, None
        if _subtree(s, p.id):
            raise errors.Forbidden(f"Cannot delete the project {p.id} since it is not a leaf "
                                   "in the hierarchy.")
        cleanup.project_deleted(s, p.id)
        s.delete(p)
    return 204, None
