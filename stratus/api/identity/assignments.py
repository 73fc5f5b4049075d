"""Role grants on projects, domains and the system (including OS-INHERIT),
and the /v3/role_assignments listing."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.identity.roles import to_dict as role_dict
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import role_assignments as ra
from stratus.identity.assignments import SYSTEM, assignment_type

routes = RouteTable()
ACTOR_MODEL = {"user": m.User, "group": m.Group}


def _resolve(req, s, target: str, actor: str, role: bool = True):
    """Look up the target, actor and role of a grant URL; 404 naming what is missing."""
    if target == "system":
        target_id = SYSTEM
    else:
        target_id = req.path_params[f"{target}_id"]
        c.get_or_404(s, m.Project, target_id, target, is_domain=(target == "domain"))
    actor_id = req.path_params[f"{actor}_id"]
    actor_obj = c.get_or_404(s, ACTOR_MODEL[actor], actor_id, actor)
    r = None
    if role:
        r = c.get_or_404(s, m.Role, req.path_params["role_id"], "role")
    return target_id, actor_obj, r


def _grant_target(target, target_id, actor, actor_obj, r, project_domain=None) -> dict:
    t = {actor: {"id": actor_obj.id, "domain_id": actor_obj.domain_id}}
    if target == "domain":
        t[target] = {"id": target_id}
    elif target == "project":
        t[target] = {"id": target_id, "domain_id": project_domain}
    if r is not None:
        t["role"] = {"id": r.id, "domain_id": None if r.domain_id == m.NULL_DOMAIN
                     else r.domain_id}
    return {"target": t, f"{target}_id": target_id, f"{actor}_id": actor_obj.id,
            "role_id": r.id if r else None}


def _pdom(s, target: str, target_id: str) -> str | None:
    if target != "project":
        return None
    p = s.get(m.Project, target_id)
    return p.domain_id if p else None


def _rule(action: str, target: str, actor: str) -> str:
    if target == "system":
        names = {"check": "check", "create": "create", "revoke": "revoke", "list": "list"}
        plural = "grants" if action == "list" else "grant"
        return f"identity:{names[action]}_system_{plural}_for_{actor}"
    return f"identity:{action}_grant" if action != "list" else "identity:list_grants"


def _make(target: str, actor: str, inherited: bool):
    def key(target_id, actor_obj, r):
        return (assignment_type(actor, target), actor_obj.id, target_id, r.id, inherited)

    def check_role_domain(s, target_id, r):
        # A domain-specific role may only be granted within its own domain.
        if r.domain_id == m.NULL_DOMAIN or target == "system":
            return
        tdom = target_id if target == "domain" else s.get(m.Project, target_id).domain_id
        if tdom != r.domain_id:
            raise errors.Forbidden(f"Role {r.id} belongs to domain {r.domain_id} and cannot be "
                                   f"granted on {target} {target_id}.")

    def put(req):
        with req.db.session() as s:
            target_id, actor_obj, r = _resolve(req, s, target, actor)
            req.authorize(_rule("create", target, actor),
                          _grant_target(target, target_id, actor, actor_obj, r, _pdom(s, target, target_id)))
            check_role_domain(s, target_id, r)
            if s.get(m.Assignment, key(target_id, actor_obj, r)) is None:
                s.add(m.Assignment(type=assignment_type(actor, target), actor_id=actor_obj.id,
                                   target_id=target_id, role_id=r.id, inherited=inherited))
        return 204, None

    def check(req):
        with req.db.session() as s:
            target_id, actor_obj, r = _resolve(req, s, target, actor)
            req.authorize(_rule("check", target, actor),
                          _grant_target(target, target_id, actor, actor_obj, r, _pdom(s, target, target_id)))
            if s.get(m.Assignment, key(target_id, actor_obj, r)) is None:
                raise errors.NotFound(f"Could not find role assignment with role: {r.id}, "
                                      f"{actor}: {actor_obj.id}, {target}: {target_id}.")
        return 204, None

    def revoke(req):
        with req.db.session() as s:
            target_id, actor_obj, r = _resolve(req, s, target, actor)
            req.authorize(_rule("revoke", target, actor),
                          _grant_target(target, target_id, actor, actor_obj, r, _pdom(s, target, target_id)))
            a = s.get(m.Assignment, key(target_id, actor_obj, r))
            if a is None:
                raise errors.NotFound(f"Could not find role assignment with role: {r.id}, "
                                      f"{actor}: {actor_obj.id}, {target}: {target_id}.")
            s.delete(a)
        return 204, None

    def list_(req):
        with req.db.session() as s:
            target_id, actor_obj, _ = _resolve(req, s, target, actor, role=False)
            req.authorize(_rule("list", target, actor),
                          _grant_target(target, target_id, actor, actor_obj, None,
                                        _pdom(s, target, target_id)))
            roles = s.scalars(select(m.Role).join(m.Assignment, m.Assignment.role_id == m.Role.id)
                              .where(m.Assignment.actor_id == actor_obj.id,
                                     m.Assignment.target_id == target_id,
                                     m.Assignment.inherited == inherited).order_by(m.Role.name))
            return {"roles": [role_dict(req, r) for r in roles],
                    "links": c.collection_links(req)}
    return put, check, revoke, list_


def _register():
    for actor in ("user", "group"):
        for target in ("project", "domain"):
            base = f"/v3/{target}s/{{{target}_id}}/{actor}s/{{{actor}_id}}/roles"
            put, check, revoke, list_ = _make(target, actor, False)
            routes.put(base + "/{role_id}")(put)
            routes.add(base + "/{role_id}", ["GET", "HEAD"])(check)
            routes.delete(base + "/{role_id}")(revoke)
            routes.get(base)(list_)
            inh = f"/v3/OS-INHERIT/{target}s/{{{target}_id}}/{actor}s/{{{actor}_id}}/roles"
            put, check, revoke, list_ = _make(target, actor, True)
            routes.put(inh + "/{role_id}/inherited_to_projects")(put)
            routes.add(inh + "/{role_id}/inherited_to_projects", ["GET", "HEAD"])(check)
            routes.delete(inh + "/{role_id}/inherited_to_projects")(revoke)
            routes.get(inh + "/inherited_to_projects")(list_)
        base = f"/v3/system/{actor}s/{{{actor}_id}}/roles"
        put, check, revoke, list_ = _make("system", actor, False)
        routes.put(base + "/{role_id}")(put)
        routes.add(base + "/{role_id}", ["GET", "HEAD"])(check)
        routes.delete(base + "/{role_id}")(revoke)
        routes.get(base)(list_)


_register()


# -- /v3/role_assignments -------------------------------------------------------
def _world(s) -> ra.World:
    w = ra.World()
    for uid, gid in s.execute(select(m.GroupMembership.user_id, m.GroupMembership.group_id)):
        w.members.setdefault(gid, []).append(uid)
    for pid, dom, parent in s.execute(select(m.Project.id, m.Project.domain_id,
                                             m.Project.parent_id)
                                      .where(m.Project.is_domain.is_(False))):
        w.projects[pid] = (dom, parent)
    for prior, implied in s.execute(select(m.ImpliedRole.prior_role_id,
                                           m.ImpliedRole.implied_role_id)):
        w.implies.setdefault(prior, []).append(implied)
    return w


def _entry(a: m.Assignment, projects: set[str]) -> ra.Entry:
    actor = "user" if a.type.startswith("User") else "group"
    if a.target_id == SYSTEM:
        target = "system"
    else:
        target = "project" if a.type.endswith("Project") else "domain"
    return ra.Entry(role_id=a.role_id, actor=actor, actor_id=a.actor_id, target=target,
                    target_id=a.target_id, inherited=a.inherited)


def _render(req, s, e: ra.Entry, names: bool) -> dict:
    def named(model, id_, extra=None):
        d = {"id": id_}
        if names:
            obj = s.get(model, id_)
            if obj is not None:
                d["name"] = obj.name
                dom_id = getattr(obj, "domain_id", None)
                if extra and dom_id and dom_id not in (m.NULL_DOMAIN, m.ROOT_DOMAIN):
                    dom = s.get(m.Project, dom_id)
                    d["domain"] = {"id": dom_id, "name": dom.name if dom else None}
        return d
    out = {"role": named(m.Role, e.role_id, True),
           e.actor: named(m.User if e.actor == "user" else m.Group, e.actor_id, True)}
    if e.target == "system":
        out["scope"] = {"system": {"all": True}}
    else:
        out["scope"] = {e.target: named(m.Project, e.target_id, e.target == "project")}
    if e.inherited:
        out["scope"]["OS-INHERIT:inherited_to"] = "projects"
    tgt, tgt_id = e.via_target or (e.target, e.target_id)
    actor, actor_id = ("group", e.via_group) if e.via_group else (e.actor, e.actor_id)
    if tgt == "system":
        path = f"/v3/system/{actor}s/{actor_id}/roles/{e.prior_role or e.role_id}"
    else:
        path = f"/v3/{tgt}s/{tgt_id}/{actor}s/{actor_id}/roles/{e.prior_role or e.role_id}"
    if e.inherited or e.via_target:
        path = "/v3/OS-INHERIT" + path[3:] + "/inherited_to_projects"
    links = {"assignment": req.url_for(path)}
    if e.via_group:
        links["membership"] = req.url_for(f"/v3/groups/{e.via_group}/users/{e.actor_id}")
    if e.prior_role:
        links["prior_role"] = req.url_for(f"/v3/roles/{e.prior_role}")
    out["links"] = links
    return out


@routes.get("/v3/role_assignments")
def list_role_assignments(req):
    q = req.query
    effective = c.bool_query(req, "effective") or False
    if effective and q.get("group.id"):
        raise errors.ValidationError("Combining effective and group filter will always result "
                                     "in an empty list.")
    scopes = [k for k in ("scope.project.id", "scope.domain.id", "scope.system") if q.get(k)]
    if len(scopes) > 1:
        raise errors.ValidationError("Specify at most one of scope.project.id, scope.domain.id "
                                     "and scope.system.")
    inherited = None
    if q.get("scope.OS-INHERIT:inherited_to"):
        inherited = True
    f = ra.Filters(user_id=q.get("user.id"), group_id=q.get("group.id"),
                   role_id=q.get("role.id"), project_id=q.get("scope.project.id"),
                   domain_id=q.get("scope.domain.id"), system=bool(q.get("scope.system")),
                   inherited=inherited)
    subtree = c.bool_query(req, "include_subtree")
    if subtree and not f.project_id:
        raise errors.ValidationError("include_subtree requires scope.project.id.")
    rule = "identity:list_role_assignments_for_tree" if subtree else \
        "identity:list_role_assignments"
    with req.db.session() as s:
        target: dict = {"domain_id": req.ctx.domain_id}
        if subtree:
            p = c.get_or_404(s, m.Project, f.project_id, "project")
            target = {"project": {"id": p.id, "domain_id": p.domain_id}, "domain_id": p.domain_id}
        req.authorize(rule, {"target": target})
        world = _world(s)
        if subtree:
            f.subtree_projects = world.descendants("project", f.project_id)
        rows = list(s.scalars(select(m.Assignment)))
        entries = [_entry(a, set(world.projects)) for a in rows]
        selected = ra.select_entries(entries, world, f, effective)
        if effective:  # domain-specific roles only ever stand for what they imply
            domain_roles = set(s.scalars(select(m.Role.id).where(m.Role.domain_id !=
                                                                 m.NULL_DOMAIN)))
            selected = [e for e in selected if e.role_id not in domain_roles]
        names = c.bool_query(req, "include_names") or False
        return {"role_assignments": [_render(req, s, e, names) for e in selected],
                "links": c.collection_links(req)}
