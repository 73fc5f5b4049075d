"""/v2.1/os-hypervisors (list, detail, show, statistics, search, servers,
uptime) from the compute_node rows the host agents register.  As nova's
resource tracker reports them, ``memory_mb_used``/``local_gb_used`` include
the host's reserved memory/disk; the rest comes from the atomic claims."""
from __future__ import annotations

import json

from sqlalchemy import select

from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import zones
from stratus.db.models import compute as m

routes = RouteTable()
UNKNOWN_IP = "0.0.0.0"  # a host that never reported its address


def usage(node: m.ComputeNode) -> dict:
    """The resource numbers of one hypervisor (pure)."""
    ram_used = node.memory_mb_used + node.reserved_host_memory_mb
    disk_used = node.local_gb_used + node.reserved_host_disk_mb // 1024
    return {"vcpus": node.vcpus, "vcpus_used": node.vcpus_used,
            "memory_mb": node.memory_mb, "memory_mb_used": ram_used,
            "free_ram_mb": node.memory_mb - ram_used,
            "local_gb": node.local_gb, "local_gb_used": disk_used,
            "free_disk_gb": node.local_gb - disk_used,
            "disk_available_least": node.local_gb - disk_used,
            "running_vms": node.running_vms, "current_workload": 0}


def statistics(nodes) -> dict:
    """Sums over hypervisors, as os-hypervisors/statistics (pure)."""
    out = {"count": 0, "current_workload": 0, "disk_available_least": 0, "free_disk_gb": 0,
           "free_ram_mb": 0, "local_gb": 0, "local_gb_used": 0, "memory_mb": 0,
           "memory_mb_used": 0, "running_vms": 0, "vcpus": 0, "vcpus_used": 0}
    for node in nodes:
        out["count"] += 1
        for key, value in usage(node).items():
            out[key] += value
    return out


def _brief(req, node: m.ComputeNode) -> dict:
    up = zones.is_up(node, req.conf.compute.service_down_time)
    return {"id": node.id, "hypervisor_hostname": node.host,
            "state": "up" if up else "down",
            "status": "disabled" if node.disabled else "enabled"}


def _detail(req, node: m.ComputeNode) -> dict:
    return {**_brief(req, node), **usage(node),
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version,
            "host_ip": node.host_ip or UNKNOWN_IP,
            "cpu_info": json.dumps(node.cpu_info or {}),
            "service": {"host": node.host, "id": node.service_id,
                        "disabled_reason": node.disabled_reason}}


def _nodes(s):
    return list(s.scalars(select(m.ComputeNode).order_by(m.ComputeNode.id)))


def _get(s, hypervisor_id: str) -> m.ComputeNode:
    node = s.get(m.ComputeNode, int(hypervisor_id)) if hypervisor_id.isdigit() else None
    if node is None:
        raise errors.NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return node


def _matching(s, pattern: str) -> list[m.ComputeNode]:
    found = [n for n in _nodes(s) if pattern.lower() in n.host.lower()]
    if not found:
        raise errors.NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


@routes.get("/v2.1/os-hypervisors")
def list_hypervisors(req):
    req.authorize("os_compute_api:os-hypervisors:list")
    with req.db.session() as s:
        return {"hypervisors": [_brief(req, n) for n in _nodes(s)]}


@routes.get("/v2.1/os-hypervisors/detail")
def list_hypervisors_detail(req):
    req.authorize("os_compute_api:os-hypervisors:list-detail")
    with req.db.session() as s:
        return {"hypervisors": [_detail(req, n) for n in _nodes(s)]}


@routes.get("/v2.1/os-hypervisors/statistics")
def hypervisor_statistics(req):
    req.authorize("os_compute_api:os-hypervisors:statistics")
    with req.db.session() as s:
        return {"hypervisor_statistics": statistics(_nodes(s))}


@routes.get("/v2.1/os-hypervisors/{hypervisor_id}")
def show_hypervisor(req):
    req.authorize("os_compute_api:os-hypervisors:show")
    with req.db.session() as s:
        return {"hypervisor": _detail(req, _get(s, req.path_params["hypervisor_id"]))}


@routes.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(req):
    req.authorize("os_compute_api:os-hypervisors:show")
    with req.db.session() as s:
        node = _get(s, req.path_params["hypervisor_id"])
        uptime = (node.stats or {}).get("uptime")
        if not uptime:
            raise errors.NotImplementedYet("The host agent of this hypervisor does not "
                                           "report its uptime.")
        return {"hypervisor": {**_brief(req, node), "uptime": str(uptime)}}


@routes.get("/v2.1/os-hypervisors/{pattern}/search")
def search_hypervisors(req):
    req.authorize("os_compute_api:os-hypervisors:search")
    with req.db.session() as s:
        return {"hypervisors": [_brief(req, n)
                                for n in _matching(s, req.path_params["pattern"])]}


@routes.get("/v2.1/os-hypervisors/{pattern}/servers")
def hypervisor_servers(req):
    req.authorize("os_compute_api:os-hypervisors:servers")
    with req.db.session() as s:
        out = []
        for node in _matching(s, req.path_params["pattern"]):
            rows = s.execute(select(m.Instance.uuid, m.Instance.display_name).where(
                m.Instance.host == node.host, m.Instance.deleted == 0)
                .order_by(m.Instance.id)).all()
            entry = _brief(req, node)
            if rows:  # nova omits "servers" for a hypervisor without any
                entry["servers"] = [{"uuid": u, "name": n} for u, n in rows]
            out.append(entry)
        return {"hypervisors": out}
