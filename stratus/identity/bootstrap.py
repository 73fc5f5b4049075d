"""First-start bootstrap of the identity service, as ``keystone-manage
bootstrap`` does: default domain, roles admin/member/reader (admin implies
member implies reader), the admin project and user (admin on the project and
on the system), a demo project and user (member), the region and the catalog.

Idempotent: re-running creates only what is missing and never changes
passwords of existing users.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from stratus.db.models import identity as m
from stratus.identity.assignments import SYSTEM
from stratus.identity.passwords import hash_password


@dataclass
class BootstrapResult:
    admin_password: str | None   # set only when the user was created now
    demo_password: str | None


def _id() -> str:
    import uuid
    return uuid.uuid4().hex


def _role(s, name: str) -> m.Role:
    r = s.scalars(select(m.Role).where(m.Role.name == name,
                                       m.Role.domain_id == m.NULL_DOMAIN)).first()
    if r is None:
        r = m.Role(id=_id(), name=name, domain_id=m.NULL_DOMAIN, options={"immutable": True})
        s.add(r)
        s.flush()
    return r


def _project(s, name: str, domain_id: str, description: str) -> m.Project:
    p = s.scalars(select(m.Project).where(m.Project.domain_id == domain_id,
                                          m.Project.name == name)).first()
    if p is None:
        p = m.Project(id=_id(), name=name, domain_id=domain_id, parent_id=domain_id,
                      description=description, extra={"options": {}})
        s.add(p)
        s.flush()
    return p


def _user(s, name: str, domain_id: str, password: str, rounds: int,
          project_id: str) -> tuple[m.User, bool]:
    u = s.scalars(select(m.User).where(m.User.domain_id == domain_id,
                                       m.User.name == name)).first()
    if u is not None:
        return u, False
    u = m.User(id=_id(), name=name, domain_id=domain_id, enabled=True,
               password_hash=hash_password(password, rounds), default_project_id=project_id)
    s.add(u)
    s.flush()
    return u, True


def _grant(s, type_: str, actor: str, target: str, role: str) -> None:
    if s.get(m.Assignment, (type_, actor, target, role, False)) is None:
        s.add(m.Assignment(type=type_, actor_id=actor, target_id=target, role_id=role,
                           inherited=False))


def bootstrap(s, conf, services: list[tuple[str, str, str]],
              admin_password: str | None = None, demo_password: str | None = None
              ) -> BootstrapResult:
    """services: (catalog type, name, url) to register in conf's region."""
    dom_id = conf.identity.default_domain_id
    if s.get(m.Project, dom_id) is None:
        s.add(m.Project(id=dom_id, name="Default", domain_id=m.ROOT_DOMAIN, is_domain=True,
                        description="The default domain", extra={"options": {}}))
        s.flush()
    admin, member, reader = _role(s, "admin"), _role(s, "member"), _role(s, "reader")
    for prior, implied in ((admin, member), (member, reader)):
        if s.get(m.ImpliedRole, (prior.id, implied.id)) is None:
            s.add(m.ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    rounds = conf.identity.password_hash_rounds
    admin_pw = admin_password or conf.bootstrap.admin_password or secrets.token_urlsafe(16)
    demo_pw = demo_password or conf.bootstrap.demo_password or secrets.token_urlsafe(16)
    admin_project = _project(s, "admin", dom_id, "Bootstrap project for the cloud administrator")
    admin_user, admin_new = _user(s, "admin", dom_id, admin_pw, rounds, admin_project.id)
    _grant(s, "UserProject", admin_user.id, admin_project.id, admin.id)
    _grant(s, "UserSystem", admin_user.id, SYSTEM, admin.id)
    demo_project = _project(s, "demo", dom_id, "Demo project")
    demo_user, demo_new = _user(s, "demo", dom_id, demo_pw, rounds, demo_project.id)
    _grant(s, "UserProject", demo_user.id, demo_project.id, member.id)

    region = conf.DEFAULT.region_name
    if s.get(m.Region, region) is None:
        s.add(m.Region(id=region, description=""))
        s.flush()
    for type_, name, url in services:
        sv = next((x for x in s.scalars(select(m.Service).where(m.Service.type == type_))
                   if (x.extra or {}).get("name") == name), None)
        if sv is None:
            sv = m.Service(id=_id(), type=type_, enabled=True, extra={"name": name})
            s.add(sv)
            s.flush()
        have = {(e.interface, e.region_id): e for e in
                s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == sv.id))}
        for interface in ("public", "internal", "admin"):
            ep = have.get((interface, region))
            if ep is None:
                s.add(m.Endpoint(id=_id(), service_id=sv.id, interface=interface, url=url,
                                 region_id=region, enabled=True))
            elif ep.url != url:  # the operator moved the API (new port or address)
                ep.url = url
    return BootstrapResult(admin_pw if admin_new else None, demo_pw if demo_new else None)
