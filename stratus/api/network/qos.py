"""/v2.0/qos: policies, bandwidth-limit rules and rule types (Neutron ``qos``,
``qos-bw-limit-direction``, ``qos-default``, ``qos-rule-type-details``).
Domain: stratus/network/qos.py.  As upstream, only admins create, change or
delete policies and rules; everyone reads their project's and shared ones."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.network import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import qos as qm
from stratus.network import qos

routes = RouteTable()
A = c.Attr
ATTRS = {
    "id": A("id", post=False, put=False), "name": A("name"), "description": A("description"),
    "project_id": A("project_id", put=False), "tenant_id": A("project_id", put=False),
    "shared": A("shared", "bool"), "is_default": A("is_default", "bool"),
    "rules": A(None, post=False, put=False), "tags": A(None, post=False, put=False),
    "revision_number": A("revision_number", "int", post=False, put=False),
}
RULE_ATTRS = {
    "id": A("id", post=False, put=False), "max_kbps": A("max_kbps", "any"),
    "max_burst_kbps": A("max_burst_kbps", "any"), "direction": A("direction", "any"),
    "qos_policy_id": A("qos_policy_id", post=False, put=False),
    "type": A(None, post=False, put=False),
}
QOS_POLICY_DEFAULTS = {r: "rule:admin_only" for r in (
    "create_policy", "update_policy", "delete_policy",
    "create_policy_bandwidth_limit_rule", "update_policy_bandwidth_limit_rule",
    "delete_policy_bandwidth_limit_rule")}
DRIVER = {"name": "linuxbridge", "supported_parameters": [
    {"parameter_name": "max_kbps", "parameter_type": "range",
     "parameter_values": {"start": 0, "end": qos.MAX_INT}},
    {"parameter_name": "max_burst_kbps", "parameter_type": "range",
     "parameter_values": {"start": 0, "end": qos.MAX_INT}},
    {"parameter_name": "direction", "parameter_type": "choices",
     "parameter_values": list(qos.DIRECTIONS)}]}


def render(s, pols) -> list[dict]:
    rules = qos.rules_of(s, [p.id for p in pols])
    return [qos.policy_dict(p, rules[p.id]) for p in pols]


def policy(req, s) -> qm.QosPolicy:
    return qos.get_visible(s, req.path_params["policy_id"], req.ctx.project_id,
                           req.ctx.is_admin)


@routes.post("/v2.0/qos/policies")
def create_policy(req):
    ref = c.body(req, "policy", ATTRS, "post")
    project = c.owner(req, ref)
    req.authorize("create_policy", {"project_id": project})
    with req.db.session() as s:
        return 201, {"policy": render(s, [qos.create_policy(s, project, ref)])[0]}


@routes.get("/v2.0/qos/policies")
def list_policies(req):
    with req.db.session() as s:
        stmt = select(qm.QosPolicy).where(qos.visible_clause(req.ctx.project_id,
                                                             req.ctx.is_admin))
        return c.listing(req, s, stmt, qm.QosPolicy, "policies", ATTRS,
                         lambda rows: render(s, rows))


@routes.get("/v2.0/qos/policies/{policy_id}")
def show_policy(req):
    with req.db.session() as s:
        return {"policy": c.only_fields(req, render(s, [policy(req, s)])[0])}


@routes.put("/v2.0/qos/policies/{policy_id}")
def update_policy(req):
    ref = c.body(req, "policy", ATTRS, "put")
    with req.db.session() as s:
        pol = policy(req, s)
        req.authorize("update_policy", {"project_id": pol.project_id})
        qos.update_policy(s, pol, ref)
        return {"policy": render(s, [pol])[0]}


@routes.delete("/v2.0/qos/policies/{policy_id}")
def delete_policy(req):
    with req.db.session() as s:
        pol = policy(req, s)
        req.authorize("delete_policy", {"project_id": pol.project_id})
        qos.delete_policy(s, pol)
    return 204, None


# -- bandwidth_limit_rules -------------------------------------------------------------
BASE = "/v2.0/qos/policies/{policy_id}/bandwidth_limit_rules"


@routes.post(BASE)
def create_rule(req):
    ref = c.body(req, "bandwidth_limit_rule", RULE_ATTRS, "post")
    with req.db.session() as s:
        pol = policy(req, s)
        req.authorize("create_policy_bandwidth_limit_rule", {"project_id": pol.project_id})
        return 201, {"bandwidth_limit_rule": qos.rule_dict(qos.create_rule(s, pol, ref))}


@routes.get(BASE)
def list_rules(req):
    with req.db.session() as s:
        pol = policy(req, s)
        stmt = select(qm.QosBandwidthLimitRule).where(
            qm.QosBandwidthLimitRule.qos_policy_id == pol.id)
        return c.listing(req, s, stmt, qm.QosBandwidthLimitRule, "bandwidth_limit_rules",
                         RULE_ATTRS, lambda rows: [qos.rule_dict(r) for r in rows])


@routes.get(BASE + "/{rule_id}")
def show_rule(req):
    with req.db.session() as s:
        rule = qos.get_rule(s, policy(req, s), req.path_params["rule_id"])
        return {"bandwidth_limit_rule": c.only_fields(req, qos.rule_dict(rule))}


@routes.put(BASE + "/{rule_id}")
def update_rule(req):
    ref = c.body(req, "bandwidth_limit_rule", RULE_ATTRS, "put")
    with req.db.session() as s:
        pol = policy(req, s)
        rule = qos.get_rule(s, pol, req.path_params["rule_id"])
        req.authorize("update_policy_bandwidth_limit_rule", {"project_id": pol.project_id})
        qos.update_rule(s, pol, rule, ref)
        return {"bandwidth_limit_rule": qos.rule_dict(rule)}


@routes.delete(BASE + "/{rule_id}")
def delete_rule(req):
    with req.db.session() as s:
        pol = policy(req, s)
        rule = qos.get_rule(s, pol, req.path_params["rule_id"])
        req.authorize("delete_policy_bandwidth_limit_rule", {"project_id": pol.project_id})
        qos.delete_rule(s, pol, rule)
    return 204, None


# -- rule types --------------------------------------------------------------------------
@routes.get("/v2.0/qos/rule-types")
def list_rule_types(req):
    return {"rule_types": [{"type": qos.RULE_TYPE}]}


@routes.get("/v2.0/qos/rule-types/{rule_type}")
def show_rule_type(req):
    if req.path_params["rule_type"] != qos.RULE_TYPE:
        raise errors.NotFound(f"QoS rule type {req.path_params['rule_type']} could not be "
                              "found.")
    return {"rule_type": {"type": qos.RULE_TYPE, "drivers": [DRIVER]}}
