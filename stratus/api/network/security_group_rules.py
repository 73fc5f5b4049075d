"""/v2.0/security-group-rules (rules are created and deleted, never updated
except for their description, as upstream)."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.network import common as c
from stratus.api.network import quotas
from stratus.api.routing import RouteTable
from stratus.db.models import security_group as sg
from stratus.network import security_groups as groups
from stratus.network import sg_exceptions as sgx
from stratus.network import sg_state
from stratus.network import sg_views

routes = RouteTable()
A = c.Attr
R = sg.SecurityGroupRule
ATTRS = {
    "id": A("id", post=False, put=False), "description": A("description"),
    "project_id": A("project_id", put=False), "tenant_id": A("project_id", put=False),
    "security_group_id": A("security_group_id", put=False),
    "direction": A("direction", put=False), "ethertype": A("ethertype", put=False),
    "protocol": A("protocol", "any", put=False, nullable=True),
    "port_range_min": A("port_range_min", "any", put=False, nullable=True),
    "port_range_max": A("port_range_max", "any", put=False, nullable=True),
    "remote_ip_prefix": A("remote_ip_prefix", put=False, nullable=True),
    "remote_group_id": A("remote_group_id", put=False, nullable=True),
    "remote_address_group_id": A(None, put=False, nullable=True),
    "revision_number": A("revision_number", "int", post=False, put=False),
}


def visible_clause(req):
    """Rules of the caller's groups (admins: all)."""
    if req.ctx.is_admin:
        return groups.visible_clause(None, True)
    own = select(sg.SecurityGroup.id).where(sg.SecurityGroup.project_id == req.ctx.project_id)
    return R.security_group_id.in_(own)


def visible(req, s, rule_id) -> R:
    row = s.scalar(select(R).where(R.id == rule_id, visible_clause(req)))
    if row is None:
        raise sgx.SecurityGroupRuleNotFound(rule_id)
    return row


@routes.post("/v2.0/security-group-rules")
def create_security_group_rule(req):
    ref = c.body(req, "security_group_rule", ATTRS, "post")
    if ref.get("remote_address_group_id") is not None:
        raise sgx.errors.BadRequest("remote_address_group_id is not supported: address "
                                    "groups are not implemented.")
    if not ref.get("security_group_id"):
        raise sgx.errors.BadRequest("Failed to parse request. Required attribute "
                                    "'security_group_id' not specified")
    if "direction" not in ref:
        raise sgx.errors.BadRequest("Failed to parse request. Required attribute "
                                    "'direction' not specified")
    with req.db.session() as s:
        group = groups.get_visible(s, ref["security_group_id"], req.ctx.project_id,
                                   req.ctx.is_admin)
        project = ref.pop("project_id", None) or group.project_id
        if project != group.project_id and not req.ctx.is_admin:
            raise sgx.errors.Forbidden("Specifying 'project_id' or 'tenant_id' other than "
                                       "the security group's requires admin privileges")
        req.authorize("create_security_group_rule", {"project_id": group.project_id})
        quotas.check(s, req.conf, "security_group_rule", project)
        rule = groups.create_rule(s, group, ref, project_id=project,
                                  caller_project=req.ctx.project_id,
                                  is_admin=req.ctx.is_admin)
        sg_state.bump(s, [group.id])
        return 201, {"security_group_rule": sg_views.rule_dict(rule)}


@routes.get("/v2.0/security-group-rules")
def list_security_group_rules(req):
    with req.db.session() as s:
        stmt = select(R).where(visible_clause(req))
        return c.listing(req, s, stmt, R, "security_group_rules", ATTRS,
                         lambda rows: [sg_views.rule_dict(r) for r in rows])


@routes.get("/v2.0/security-group-rules/{rule_id}")
def show_security_group_rule(req):
    with req.db.session() as s:
        rule = visible(req, s, req.path_params["rule_id"])
        return {"security_group_rule": c.only_fields(req, sg_views.rule_dict(rule))}


@routes.put("/v2.0/security-group-rules/{rule_id}")
def update_security_group_rule(req):
    ref = c.body(req, "security_group_rule", ATTRS, "put")
    with req.db.session() as s:
        rule = visible(req, s, req.path_params["rule_id"])
        req.authorize("update_security_group_rule", {"project_id": rule.project_id})
        if "description" in ref:
            rule.description = ref["description"]
        rule.revision_number += 1
        s.flush()
        return {"security_group_rule": sg_views.rule_dict(rule)}


@routes.delete("/v2.0/security-group-rules/{rule_id}")
def delete_security_group_rule(req):
    with req.db.session() as s:
        rule = visible(req, s, req.path_params["rule_id"])
        req.authorize("delete_security_group_rule", {"project_id": rule.project_id})
        group = s.get(sg.SecurityGroup, rule.security_group_id)
        s.delete(rule)
        group.revision_number += 1
        s.flush()
        sg_state.bump(s, [group.id])
    return 204, None
