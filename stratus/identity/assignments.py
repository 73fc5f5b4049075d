"""Role assignments: who holds which role where, directly or effectively.

Effective roles on a target are the union of
- the user's own assignments on it (non-inherited),
- assignments of the user's groups on it,
- for a project: assignments marked inherited on its domain and on every
  ancestor project (Keystone's OS-INHERIT),
then closed under implied roles.  Domain-specific roles are never put in a
token themselves (only what they imply is), as in Keystone.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models import identity as m

SYSTEM = "system"
USER_PROJECT, GROUP_PROJECT = "UserProject", "GroupProject"
USER_DOMAIN, GROUP_DOMAIN = "UserDomain", "GroupDomain"
USER_SYSTEM, GROUP_SYSTEM = "UserSystem", "GroupSystem"


def assignment_type(actor: str, target: str) -> str:
    """actor 'user'|'group', target 'project'|'domain'|'system'."""
    return f"{actor.capitalize()}{target.capitalize()}"


def group_ids_of(session: Session, user_id: str) -> list[str]:
    return list(session.scalars(select(m.GroupMembership.group_id)
                                .where(m.GroupMembership.user_id == user_id)))


def project_lineage(session: Session, project: m.Project) -> list[m.Project]:
    """Ancestors of a project, nearest first (excluding the project and its domain)."""
    out, seen = [], {project.id}
    parent_id = project.parent_id
    while parent_id and parent_id not in seen:
        parent = session.get(m.Project, parent_id)
        if parent is None or parent.is_domain:
            break
        out.append(parent)
        seen.add(parent.id)
        parent_id = parent.parent_id
    return out


def implied_closure(session: Session, role_ids: set[str]) -> set[str]:
    rules: dict[str, set[str]] = {}
    for prior, implied in session.execute(select(m.ImpliedRole.prior_role_id,
                                                 m.ImpliedRole.implied_role_id)):
        rules.setdefault(prior, set()).add(implied)
    result, todo = set(role_ids), list(role_ids)
    while todo:
        for nxt in rules.get(todo.pop(), ()):
            if nxt not in result:
                result.add(nxt)
                todo.append(nxt)
    return result


def _direct(session: Session, actor_ids: list[str], target_ids: list[str],
            inherited: bool | None) -> set[str]:
    if not actor_ids or not target_ids:
        return set()
    q = select(m.Assignment.role_id).where(m.Assignment.actor_id.in_(actor_ids),
                                           m.Assignment.target_id.in_(target_ids))
    if inherited is not None:
        q = q.where(m.Assignment.inherited == inherited)
    return set(session.scalars(q))


def effective_role_ids(session: Session, user_id: str, *, project: m.Project | None = None,
                       domain_id: str | None = None, system: bool = False) -> set[str]:
    actors = [user_id, *group_ids_of(session, user_id)]
    if project is not None:
        ids = _direct(session, actors, [project.id], inherited=False)
        inherit_from = [project.domain_id] + [p.id for p in project_lineage(session, project)]
        ids |= _direct(session, actors, inherit_from, inherited=True)
    elif domain_id is not None:
        ids = _direct(session, actors, [domain_id], inherited=False)
    elif system:
        ids = _direct(session, actors, [SYSTEM], inherited=False)
    else:
        return set()
    return implied_closure(session, ids)


@dataclass(frozen=True)
class RoleRef:
    id: str
    name: str
    domain_id: str | None


def token_roles(session: Session, role_ids: set[str]) -> list[RoleRef]:
    if not role_ids:
        return []
    rows = session.scalars(select(m.Role).where(m.Role.id.in_(role_ids)))
    return sorted((RoleRef(r.id, r.name, None) for r in rows if r.domain_id == m.NULL_DOMAIN),
                  key=lambda r: r.name)


def projects_with_roles(session: Session, user_id: str) -> list[m.Project]:
    """Enabled projects (not domains) on which the user has any effective role."""
    actors = [user_id, *group_ids_of(session, user_id)]
    rows = session.execute(select(m.Assignment.target_id, m.Assignment.inherited)
                           .where(m.Assignment.actor_id.in_(actors))).all()
    direct = {t for t, inh in rows if not inh and t != SYSTEM}
    inherited_roots = {t for t, inh in rows if inh}
    out = {}
    for p in session.scalars(select(m.Project).where(m.Project.is_domain.is_(False))):
        if p.id in direct or p.domain_id in inherited_roots or (
                inherited_roots and any(a.id in inherited_roots
                                        for a in project_lineage(session, p))):
            out[p.id] = p
    return sorted(out.values(), key=lambda p: p.name)


def domains_with_roles(session: Session, user_id: str) -> list[m.Project]:
    actors = [user_id, *group_ids_of(session, user_id)]
    target_ids = set(session.scalars(select(m.Assignment.target_id)
                                     .where(m.Assignment.actor_id.in_(actors),
                                            m.Assignment.inherited.is_(False))))
    if not target_ids:
        return []
    return list(session.scalars(select(m.Project).where(m.Project.id.in_(target_ids),
                                                        m.Project.is_domain.is_(True))
                                .order_by(m.Project.name)))
