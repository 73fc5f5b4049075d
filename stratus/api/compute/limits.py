"""/v2.1/limits: the caller's (or, for an admin, ``tenant_id``'s) absolute
limits with usage counted live from the instance and server group rows; no
rate limits are reported (``rate`` is empty, as nova since Newton)."""
from __future__ import annotations

from stratus.api.routing import RouteTable
from stratus.compute import quotas

routes = RouteTable()
# absolute limit name -> quota resource
MAX = {"maxTotalInstances": "instances", "maxTotalCores": "cores", "maxTotalRAMSize": "ram",
       "maxServerMeta": "metadata_items", "maxPersonality": "injected_files",
       "maxPersonalitySize": "injected_file_content_bytes", "maxTotalKeypairs": "key_pairs",
       "maxServerGroups": "server_groups", "maxServerGroupMembers": "server_group_members",
       "maxTotalFloatingIps": "floating_ips", "maxSecurityGroups": "security_groups",
       "maxSecurityGroupRules": "security_group_rules", "maxImageMeta": "metadata_items"}
USED = {"totalInstancesUsed": "instances", "totalCoresUsed": "cores", "totalRAMUsed": "ram",
        "totalServerGroupsUsed": "server_groups", "totalFloatingIpsUsed": "floating_ips",
        "totalSecurityGroupsUsed": "security_groups"}


def absolute(limits: dict, used: dict) -> dict:
    """The ``absolute`` document from quota limits and usage (pure)."""
    out = {name: limits[res] for name, res in MAX.items()}
    out.update({name: used.get(res, 0) for name, res in USED.items()})
    return out


@routes.get("/v2.1/limits")
def show_limits(req):
    project_id = req.ctx.project_id
    other = req.query.get("tenant_id")
    if other and other != project_id:
        req.authorize("os_compute_api:limits:other_project", {"project_id": other})
        project_id = other
    req.authorize("os_compute_api:limits", {"project_id": project_id})
    with req.db.session() as s:
        limits = quotas.limits_for(s, req.conf, project_id)
        used = quotas.usage(s, project_id)
    return {"limits": {"rate": [], "absolute": absolute(limits, used)}}
