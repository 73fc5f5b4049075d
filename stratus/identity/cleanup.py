"""What else goes when an identity entity is deleted, so nothing dangles:
assignments, memberships, tags, application credentials, and revocation
events for tokens that were scoped to it."""
from __future__ import annotations

from sqlalchemy import delete, select, update

from stratus.db.models import identity as m
from stratus.identity import tokens as tok


def project_deleted(s, project_id: str) -> None:
    s.execute(delete(m.Assignment).where(m.Assignment.target_id == project_id))
    s.execute(delete(m.ProjectTag).where(m.ProjectTag.project_id == project_id))
    s.execute(delete(m.ApplicationCredential)
              .where(m.ApplicationCredential.project_id == project_id))
    s.execute(delete(m.Credential).where(m.Credential.project_id == project_id))
    s.execute(delete(m.Trust).where(m.Trust.project_id == project_id))
    s.execute(update(m.User).where(m.User.default_project_id == project_id)
              .values(default_project_id=None))
    tok.revoke(s, project_id=project_id)


def user_deleted(s, user_id: str) -> None:
    s.execute(delete(m.Assignment).where(m.Assignment.actor_id == user_id))
    s.execute(delete(m.GroupMembership).where(m.GroupMembership.user_id == user_id))
    s.execute(delete(m.ApplicationCredential).where(m.ApplicationCredential.user_id == user_id))
    s.execute(delete(m.Credential).where(m.Credential.user_id == user_id))
    s.execute(delete(m.AccessRule).where(m.AccessRule.user_id == user_id))
    s.execute(delete(m.Trust).where((m.Trust.trustor_user_id == user_id) |
                                    (m.Trust.trustee_user_id == user_id)))
    tok.revoke(s, user_id=user_id)


def group_deleted(s, group_id: str) -> None:
    s.execute(delete(m.Assignment).where(m.Assignment.actor_id == group_id))
    s.execute(delete(m.GroupMembership).where(m.GroupMembership.group_id == group_id))


def role_deleted(s, role_id: str) -> None:
    s.execute(delete(m.Assignment).where(m.Assignment.role_id == role_id))
    s.execute(delete(m.ImpliedRole).where((m.ImpliedRole.prior_role_id == role_id) |
                                          (m.ImpliedRole.implied_role_id == role_id)))


def domain_deleted(s, domain_id: str) -> None:
    """Cascade over everything owned by the domain (it is already disabled)."""
    projects = list(s.scalars(select(m.Project).where(m.Project.domain_id == domain_id,
                                                      m.Project.is_domain.is_(False))))
    # Children before parents so the parent_id foreign key never dangles.
    depth = {p.id: 0 for p in projects}
    by_id = {p.id: p for p in projects}
    for p in projects:
        cur, d = p, 0
        while cur.parent_id in by_id:
            cur, d = by_id[cur.parent_id], d + 1
        depth[p.id] = d
    for p in sorted(projects, key=lambda p: -depth[p.id]):
        project_deleted(s, p.id)
        s.delete(p)
        s.flush()
    for u in s.scalars(select(m.User).where(m.User.domain_id == domain_id)):
        user_deleted(s, u.id)
        s.delete(u)
    for g in s.scalars(select(m.Group).where(m.Group.domain_id == domain_id)):
        group_deleted(s, g.id)
        s.delete(g)
    for r in s.scalars(select(m.Role).where(m.Role.domain_id == domain_id)):
        role_deleted(s, r.id)
        s.delete(r)
    s.execute(delete(m.Assignment).where(m.Assignment.target_id == domain_id))
    tok.revoke(s, domain_id=domain_id)
