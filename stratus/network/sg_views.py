"""Security group rows → Neutron v2.0 wire dicts."""
from __future__ import annotations

from stratus.db.models import security_group as sg
from stratus.network.views import ts


def rule_dict(r: sg.SecurityGroupRule) -> dict:
    return {"id": r.id, "project_id": r.project_id, "tenant_id": r.project_id,
            "security_group_id": r.security_group_id, "direction": r.direction,
            "ethertype": r.ethertype, "protocol": r.protocol,
            "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
            "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id,
            "description": r.description or "", "revision_number": r.revision_number,
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def group_dict(g: sg.SecurityGroup, rules: list[sg.SecurityGroupRule]) -> dict:
    return {"id": g.id, "name": g.name, "description": g.description or "",
            "project_id": g.project_id, "tenant_id": g.project_id, "stateful": g.stateful,
            "security_group_rules": [rule_dict(r) for r in rules],
            "revision_number": g.revision_number, "created_at": ts(g.created_at),
            "updated_at": ts(g.updated_at)}
