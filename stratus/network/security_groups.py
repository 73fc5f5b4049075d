"""Security groups and their rules (Neutron ``security-group``).

Every project has one ``default`` group, made on first use (listing groups,
creating a group or a port) with upstream's four rules: ingress from members
of the group itself and egress anywhere, for IPv4 and IPv6.  It cannot be
deleted nor renamed, and no other group may be called ``default``.  Any new
group starts with the two egress rules.  A group bound to a port, or named
as the remote group of another group's rule, is in use (409 on delete)."""
from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, true
from sqlalchemy.exc import IntegrityError

from stratus.db.models import security_group as sg
from stratus.network import sg_exceptions as sgx
from stratus.network import sg_rules

DEFAULT = "default"


def visible_clause(project_id: str | None, is_admin: bool):
    return true() if is_admin else sg.SecurityGroup.project_id == project_id


def get_visible(session, sg_id: str, project_id: str | None,
                is_admin: bool) -> sg.SecurityGroup:
    row = session.scalar(select(sg.SecurityGroup).where(
        sg.SecurityGroup.id == sg_id, visible_clause(project_id, is_admin)))
    if row is None:
        raise sgx.SecurityGroupNotFound(sg_id)
    return row


def _egress_rules(group: sg.SecurityGroup) -> list[sg.SecurityGroupRule]:
    return [sg.SecurityGroupRule(id=str(uuid.uuid4()), project_id=group.project_id,
                                 security_group_id=group.id, direction="egress",
                                 ethertype=eth) for eth in ("IPv4", "IPv6")]


def ensure_default(session, project_id: str) -> sg.SecurityGroup:
    """The project's default group, created with its 4 rules if missing
    (race-safe: the loser of a concurrent creation reads the winner's)."""
    have = session.get(sg.DefaultSecurityGroup, project_id)
    if have is not None:
        return session.get(sg.SecurityGroup, have.security_group_id)
    group = sg.SecurityGroup(id=str(uuid.uuid4()), project_id=project_id, name=DEFAULT,
                             description="Default security group", stateful=True)
    try:
        with session.begin_nested():
            session.add(group)
            session.flush()
            session.add(sg.DefaultSecurityGroup(project_id=project_id,
                                                security_group_id=group.id))
            session.add_all(_egress_rules(group) + [
                sg.SecurityGroupRule(id=str(uuid.uuid4()), project_id=project_id,
                                     security_group_id=group.id, direction="ingress",
                                     ethertype=eth, remote_group_id=group.id)
                for eth in ("IPv4", "IPv6")])
            session.flush()
    except IntegrityError:
        have = session.get(sg.DefaultSecurityGroup, project_id)
        return session.get(sg.SecurityGroup, have.security_group_id)
    return group


def is_default(session, group: sg.SecurityGroup) -> bool:
    row = session.get(sg.DefaultSecurityGroup, group.project_id)
    return row is not None and row.security_group_id == group.id


def create_group(session, *, project_id: str, name: str = "", description: str = "",
                 stateful: bool = True) -> sg.SecurityGroup:
    ensure_default(session, project_id)
    if name == DEFAULT:
        raise sgx.SecurityGroupDefaultAlreadyExists()
    group = sg.SecurityGroup(id=str(uuid.uuid4()), project_id=project_id, name=name,
                             description=description, stateful=stateful)
    session.add(group)
    session.flush()
    session.add_all(_egress_rules(group))
    session.flush()
    return group


def in_use(session, group_id: str) -> bool:
    return session.scalar(select(sg.PortSecurityGroupBinding.port_id).where(
        sg.PortSecurityGroupBinding.security_group_id == group_id).limit(1)) is not None


def update_group(session, group: sg.SecurityGroup, changes: dict) -> sg.SecurityGroup:
    if "name" in changes and changes["name"] != group.name:
        if is_default(session, group):
            raise sgx.SecurityGroupCannotUpdateDefault()
        if changes["name"] == DEFAULT:
            raise sgx.SecurityGroupDefaultAlreadyExists()
    if "stateful" in changes and changes["stateful"] != group.stateful and \
            in_use(session, group.id):
        raise sgx.SecurityGroupInUse(group.id, "in use: its stateful attribute cannot change")
    for key in ("name", "description", "stateful"):
        if key in changes:
            setattr(group, key, changes[key])
    group.revision_number += 1
    session.flush()
    return group


def delete_group(session, group: sg.SecurityGroup, is_admin: bool = False) -> None:
    """409 for the default group (unless an admin removes it with nothing
    bound) and for a group some port uses."""
    if is_default(session, group) and not is_admin:
        raise sgx.SecurityGroupCannotRemoveDefault()
    if in_use(session, group.id):
        raise sgx.SecurityGroupInUse(group.id)
    session.execute(sg.SecurityGroupRule.__table__.delete().where(or_(
        sg.SecurityGroupRule.security_group_id == group.id,
        sg.SecurityGroupRule.remote_group_id == group.id)))
    session.execute(sg.DefaultSecurityGroup.__table__.delete().where(
        sg.DefaultSecurityGroup.security_group_id == group.id))
    session.delete(group)
    session.flush()


def rules_of(session, group_ids) -> dict[str, list[sg.SecurityGroupRule]]:
    out: dict[str, list] = {g: [] for g in group_ids}
    if out:
        for r in session.scalars(select(sg.SecurityGroupRule).where(
                sg.SecurityGroupRule.security_group_id.in_(list(out)))
                .order_by(sg.SecurityGroupRule.created_at, sg.SecurityGroupRule.id)):
            out[r.security_group_id].append(r)
    return out


def rule_count(session, project_id: str) -> int:
    return session.scalar(select(func.count()).select_from(sg.SecurityGroupRule)
                          .where(sg.SecurityGroupRule.project_id == project_id))


def create_rule(session, group: sg.SecurityGroup, request: dict, *, project_id: str,
                caller_project: str | None, is_admin: bool) -> sg.SecurityGroupRule:
    """Validate (stratus/network/sg_rules.py), check the remote group is
    visible to the caller and that no equal rule exists, then insert."""
    cols = sg_rules.normalise(request)
    if cols["remote_group_id"] is not None:
        get_visible(session, cols["remote_group_id"], caller_project, is_admin)
    for existing in rules_of(session, [group.id])[group.id]:
        if sg_rules.same_rule(cols, {c: getattr(existing, c) for c in cols}):
            raise sgx.SecurityGroupRuleExists(existing.id)
    rule = sg.SecurityGroupRule(id=str(uuid.uuid4()), project_id=project_id,
                                security_group_id=group.id, **cols)
    session.add(rule)
    group.revision_number += 1
    session.flush()
    return rule
