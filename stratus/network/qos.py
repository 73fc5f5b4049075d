"""QoS policies, bandwidth-limit rules and their bindings to ports and
networks (Neutron ``qos``).  Errors carry upstream's type names.

Visibility: admins see every policy, others their project's and shared ones;
an invisible policy is a 404 (also when a port or network names it).  The
effective policy of a port is its own, else its network's when the port is a
compute port (upstream: network policies apply to ports of VMs only).
Changing a policy, its rules or a binding bumps the hosts that carry the
affected ports, so their agents re-sync (stratus/dataplane/qos.py)."""
from __future__ import annotations

import uuid

from sqlalchemy import or_, select, true

from stratus.common import errors
from stratus.db.models import network as nm
from stratus.db.models import qos as q
from stratus.network import notify
from stratus.network.exceptions import InvalidInput

DIRECTIONS = ("egress", "ingress")
MAX_INT = 2 ** 31 - 1
RULE_TYPE = "bandwidth_limit"
COMPUTE_PREFIX = "compute:"


class QosPolicyNotFound(errors.NotFound):
    def __init__(self, policy_id):
        super().__init__(f"QoS policy {policy_id} could not be found.")


class QosRuleNotFound(errors.NotFound):
    def __init__(self, rule_id, policy_id):
        super().__init__(f"QoS rule {rule_id} for policy {policy_id} could not be found.")


class QosPolicyInUse(errors.Conflict):
    def __init__(self, policy_id, object_type, object_id):
        super().__init__(f"QoS Policy {policy_id} is used by {object_type} {object_id}.")


class QoSRulesConflict(errors.Conflict):
    def __init__(self, rule_id, policy_id):
        super().__init__(f"Rule {RULE_TYPE} conflicts with rule {rule_id} which already "
                         f"exists in QoS Policy {policy_id}.")


class QoSPolicyDefaultAlreadyExists(errors.Conflict):
    def __init__(self, project_id):
        super().__init__(f"A default QoS policy exists for project {project_id}.")


def visible_clause(project_id: str | None, is_admin: bool):
    if is_admin:
        return true()
    return or_(q.QosPolicy.project_id == project_id, q.QosPolicy.shared.is_(True))


def get_visible(s, policy_id, project_id, is_admin) -> q.QosPolicy:
    pol = s.scalar(select(q.QosPolicy).where(q.QosPolicy.id == policy_id,
                                             visible_clause(project_id, is_admin)))
    if pol is None:
        raise QosPolicyNotFound(policy_id)
    return pol


def _check_default(s, project_id: str, except_id: str | None = None) -> None:
    other = s.scalar(select(q.QosPolicy.id).where(q.QosPolicy.project_id == project_id,
                                                  q.QosPolicy.is_default.is_(True),
                                                  q.QosPolicy.id != (except_id or "")))
    if other is not None:
        raise QoSPolicyDefaultAlreadyExists(project_id)


def create_policy(s, project_id: str, ref: dict) -> q.QosPolicy:
    if ref.get("is_default"):
        _check_default(s, project_id)
    pol = q.QosPolicy(id=str(uuid.uuid4()), project_id=project_id, name=ref.get("name", ""),
                      description=ref.get("description", ""), shared=ref.get("shared", False),
                      is_default=ref.get("is_default", False))
    s.add(pol)
    s.flush()
    return pol


def update_policy(s, pol: q.QosPolicy, ref: dict) -> None:
    if ref.get("is_default") and not pol.is_default:
        _check_default(s, pol.project_id, pol.id)
    for k in ("name", "description", "shared", "is_default"):
        if k in ref:
            setattr(pol, k, ref[k])
    pol.revision_number += 1
    s.flush()


def delete_policy(s, pol: q.QosPolicy) -> None:
    """409 while a port or network uses it (bindings of deleted ones are dropped)."""
    for model, key, table, kind in (
            (q.QosPortPolicyBinding, "port_id", nm.Port, "port"),
            (q.QosNetworkPolicyBinding, "network_id", nm.Network, "network")):
        for row in list(s.scalars(select(model).where(model.policy_id == pol.id))):
            if s.get(table, getattr(row, key)) is not None:
                raise QosPolicyInUse(pol.id, kind, getattr(row, key))
            s.delete(row)                  # its port or network is gone
    s.query(q.QosBandwidthLimitRule).filter_by(qos_policy_id=pol.id).delete()
    s.delete(pol)
    s.flush()


# -- rules -----------------------------------------------------------------------------
def rules_of(s, policy_ids) -> dict[str, list[q.QosBandwidthLimitRule]]:
    out: dict[str, list] = {p: [] for p in policy_ids}
    if out:
        for r in s.scalars(select(q.QosBandwidthLimitRule)
                           .where(q.QosBandwidthLimitRule.qos_policy_id.in_(list(out)))
                           .order_by(q.QosBandwidthLimitRule.id)):
            out[r.qos_policy_id].append(r)
    return out


def check_rule(ref: dict, creating: bool) -> dict:
    out = {}
    if creating and "max_kbps" not in ref:
        raise InvalidInput("Invalid input for max_kbps. Reason: 'None' is not an integer.")
    for k in ("max_kbps", "max_burst_kbps"):
        if k in ref:
            v = ref[k]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_INT:
                raise InvalidInput(f"Invalid input for {k}. Reason: '{v}' is not in range "
                                   f"0 through {MAX_INT}.")
            out[k] = v
    if "direction" in ref:
        if ref["direction"] not in DIRECTIONS:
            raise InvalidInput(f"Invalid input for direction. Reason: '{ref['direction']}' "
                               f"is not in {list(DIRECTIONS)}.")
        out["direction"] = ref["direction"]
    return out


def get_rule(s, pol: q.QosPolicy, rule_id: str) -> q.QosBandwidthLimitRule:
    rule = s.get(q.QosBandwidthLimitRule, rule_id)
    if rule is None or rule.qos_policy_id != pol.id:
        raise QosRuleNotFound(rule_id, pol.id)
    return rule


def _conflict(s, pol, direction, except_id=""):
    other = s.scalar(select(q.QosBandwidthLimitRule.id).where(
        q.QosBandwidthLimitRule.qos_policy_id == pol.id,
        q.QosBandwidthLimitRule.direction == direction,
        q.QosBandwidthLimitRule.id != except_id))
    if other is not None:
        raise QoSRulesConflict(other, pol.id)


def create_rule(s, pol: q.QosPolicy, ref: dict) -> q.QosBandwidthLimitRule:
    v = check_rule(ref, creating=True)
    direction = v.get("direction", "egress")
    _conflict(s, pol, direction)
    rule = q.QosBandwidthLimitRule(id=str(uuid.uuid4()), qos_policy_id=pol.id,
                                   max_kbps=v["max_kbps"],
                                   max_burst_kbps=v.get("max_burst_kbps", 0),
                                   direction=direction)
    s.add(rule)
    pol.revision_number += 1
    s.flush()
    bump_policy(s, pol.id)
    return rule


def update_rule(s, pol, rule, ref: dict) -> None:
    v = check_rule(ref, creating=False)
    if v.get("direction", rule.direction) != rule.direction:
        _conflict(s, pol, v["direction"], rule.id)
    for k, val in v.items():
        setattr(rule, k, val)
    pol.revision_number += 1
    s.flush()
    bump_policy(s, pol.id)


def delete_rule(s, pol, rule) -> None:
    s.delete(rule)
    pol.revision_number += 1
    s.flush()
    bump_policy(s, pol.id)


def rule_dict(r: q.QosBandwidthLimitRule, with_type: bool = False) -> dict:
    d = {"id": r.id, "qos_policy_id": r.qos_policy_id, "max_kbps": r.max_kbps,
         "max_burst_kbps": r.max_burst_kbps, "direction": r.direction}
    if with_type:
        d["type"] = RULE_TYPE
    return d


def policy_dict(p: q.QosPolicy, rules: list) -> dict:
    ts = (lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None)
    return {"id": p.id, "name": p.name, "description": p.description or "",
            "project_id": p.project_id, "tenant_id": p.project_id, "shared": p.shared,
            "is_default": p.is_default, "rules": [rule_dict(r, True) for r in rules],
            "revision_number": p.revision_number, "tags": [],
            "created_at": ts(p.created_at), "updated_at": ts(p.updated_at)}


# -- bindings (ports and networks) -----------------------------------------------------
def bind(s, kind: str, object_id: str, policy_id: str | None, project_id, is_admin) -> None:
    """Set (or with None clear) the policy of a port or network (kind "port"/"network")."""
    model, key = ((q.QosPortPolicyBinding, "port_id") if kind == "port"
                  else (q.QosNetworkPolicyBinding, "network_id"))
    if policy_id is not None:
        get_visible(s, policy_id, project_id, is_admin)
    row = s.get(model, object_id)
    if row is not None and policy_id is None:
        s.delete(row)
    elif row is not None:
        row.policy_id = policy_id
    elif policy_id is not None:
        s.add(model(**{key: object_id, "policy_id": policy_id}))
    s.flush()
    nets = [object_id] if kind == "network" else \
        list(s.scalars(select(nm.Port.network_id).where(nm.Port.id == object_id)))
    notify.bump_hosts_of_networks(s, set(nets))


def default_policy(s, project_id: str) -> str | None:
    """The project's default policy (``qos-default``), for new networks."""
    return s.scalar(select(q.QosPolicy.id).where(q.QosPolicy.project_id == project_id,
                                                 q.QosPolicy.is_default.is_(True)))


def policy_ids(s, kind: str, object_ids) -> dict[str, str | None]:
    model, key = ((q.QosPortPolicyBinding, q.QosPortPolicyBinding.port_id) if kind == "port"
                  else (q.QosNetworkPolicyBinding, q.QosNetworkPolicyBinding.network_id))
    ids = list(object_ids)
    out: dict[str, str | None] = {i: None for i in ids}
    if ids:
        for row in s.scalars(select(model).where(key.in_(ids))):
            out[row.port_id if kind == "port" else row.network_id] = row.policy_id
    return out


def bump_policy(s, policy_id: str) -> None:
    """The hosts of every port the policy reaches (directly or by its network)."""
    nets = set(s.scalars(select(q.QosNetworkPolicyBinding.network_id)
                         .where(q.QosNetworkPolicyBinding.policy_id == policy_id)))
    nets |= set(s.scalars(select(nm.Port.network_id).join(
        q.QosPortPolicyBinding, q.QosPortPolicyBinding.port_id == nm.Port.id)
        .where(q.QosPortPolicyBinding.policy_id == policy_id)))
    if nets:
        notify.bump_hosts_of_networks(s, nets)


def effective_rules(s, ports) -> dict[str, list[dict]]:
    """{port id: [bandwidth_limit rule dicts of its effective policy]} (host state)."""
    ports = list(ports)
    own = policy_ids(s, "port", [p.id for p in ports])
    by_net = policy_ids(s, "network", {p.network_id for p in ports})
    chosen = {p.id: own[p.id] or (by_net[p.network_id]
                                  if p.device_owner.startswith(COMPUTE_PREFIX) else None)
              for p in ports}
    rules = rules_of(s, {pid for pid in chosen.values() if pid})
    return {port_id: [rule_dict(r, True) for r in rules[pid]] if pid else []
            for port_id, pid in chosen.items()}


def decorate(s, kind: str, items: list[dict]) -> list[dict]:
    """Add ``qos_policy_id`` to port or network dicts (one query)."""
    ids = policy_ids(s, kind, [d["id"] for d in items])
    for d in items:
        d["qos_policy_id"] = ids[d["id"]]
    return items


def vif_quotas(s, ports) -> dict[str, dict]:
    """{device id: the flavor's ``quota:vif_*`` extra specs} of the ports' instances."""
    from stratus.db.models import compute as cm
    ids = {p.device_id for p in ports if p.device_owner.startswith(COMPUTE_PREFIX)
           and p.device_id}
    out = {}
    if ids:
        for uuid_, flavor in s.execute(select(cm.Instance.uuid, cm.Instance.flavor)
                                       .where(cm.Instance.uuid.in_(ids),
                                              cm.Instance.deleted == 0)):
            specs = (flavor or {}).get("extra_specs") or {}
            quota = {k: v for k, v in specs.items() if k.startswith("quota:vif_")}
            if quota:
                out[uuid_] = quota
    return out
