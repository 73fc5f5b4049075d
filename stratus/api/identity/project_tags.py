"""/v3/projects/{id}/tags: Keystone's project tag subresource."""
from __future__ import annotations



from sqlalchemy import delete, func, select

from stratus.api.identity import common as c
from stratus.api.identity.projects import tags_of
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m

routes = RouteTable()
MAX_TAGS = 80


def _project(req, s, rule: str) -> m.Project:
    p = c.get_or_404(s, m.Project, req.path_params["project_id"], "project")
    req.authorize(rule, {"target": {"project": {"id": p.id, "domain_id": p.domain_id}}})
    return p


def _check_tag(tag: str) -> None:
    if not tag or len(tag) > 255 or "," in tag or "/" in tag:
        raise errors.ValidationError(f"Invalid tag {tag!r}: 1-255 characters, no ',' or '/'.")


@routes.get("/v3/projects/{project_id}/tags")
def list_tags(req):
    with req.db.session() as s:
        p = _project(req, s, "identity:list_project_tags")
        return {"tags": tags_of(s, p.id)}


@routes.put("/v3/projects/{project_id}/tags")
def replace_tags(req):
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise errors.ValidationError("Invalid input for field 'tags': a list is required.")
    tags = body["tags"]
    for t in tags:
        if not isinstance(t, str):
            raise errors.ValidationError("Invalid input for field 'tags': strings required.")
        _check_tag(t)
    if len(set(tags)) > MAX_TAGS:
        raise errors.ValidationError(f"A project may have at most {MAX_TAGS} tags.")
    with req.db.session() as s:
        p = _project(req, s, "identity:update_project_tags")
        s.execute(delete(m.ProjectTag).where(m.ProjectTag.project_id == p.id))
        for t in sorted(set(tags)):
            s.add(m.ProjectTag(project_id=p.id, name=t))
        s.flush()
        return {"tags": tags_of(s, p.id), "links": c.link(req, f"/v3/projects/{p.id}/tags")}


@routes.get("/v3/projects/{project_id}/tags/{tag}")
def check_tag(req):
    with req.db.session() as s:
        p = _project(req, s, "identity:get_project_tag")
        if s.get(m.ProjectTag, (p.id, req.path_params["tag"])) is None:
            raise errors.NotFound(f"Could not find project tag: {req.path_params['tag']}.")
    return 204, None


@routes.put("/v3/projects/{project_id}/tags/{tag}")
def add_tag(req):
    tag = req.path_params["tag"]
    _check_tag(tag)
    with req.db.session() as s:
        p = _project(req, s, "identity:create_project_tag")
        if s.get(m.ProjectTag, (p.id, tag)) is None:
            n = s.execute(select(func.count()).select_from(m.ProjectTag)
                          .where(m.ProjectTag.project_id == p.id)).scalar()
            if n >= MAX_TAGS:
                raise errors.ValidationError(f"A project may have at most {MAX_TAGS} tags.")
            s.add(m.ProjectTag(project_id=p.id, name=tag))
    return 201, None, {"Location": req.url_for(f"/v3/projects/{p.id}/tags/{tag}")}


@routes.delete("/v3/projects/{project_id}/tags/{tag}")
def delete_tag(req):
    with req.db.session() as s:
        p = _project(req, s, "identity:delete_project_tag")
        tag = s.get(m.ProjectTag, (p.id, req.path_params["tag"]))
        if tag is None:
            raise errors.NotFound(f"Could not find project tag: {req.path_params['tag']}.")
        s.delete(tag)
    return 204, None


@routes.delete("/v3/projects/{project_id}/tags")
def delete_tags(req):
    with req.db.session() as s:
        p = _project(req, s, "identity:delete_project_tags")
        s.execute(delete(m.ProjectTag).where(m.ProjectTag.project_id == p.id))
    return 204, None



