"""PUT /agent/v1/hosts/{host} (register + heartbeat) and
GET /agent/v1/hosts/{host}/state?since=N (the host's desired state)."""
from __future__ import annotations

import ipaddress
import uuid as uuidlib

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from stratus.api.agent import views
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import compute as m
from stratus.db.models.identity import utcnow

routes = RouteTable()
HOST_INFO_INT = ("vcpus", "memory_mb", "local_gb", "hypervisor_version")
CONFIG_FLOAT = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")
CONFIG_INT = ("reserved_host_memory_mb", "reserved_host_disk_mb", "reserved_host_cpus")
ADVERTISED = ("ecu", "bandwidth_mbps")     # what EcuFilter / BandwidthFilter schedule on


def get_node(s, host: str) -> m.ComputeNode:
    node = s.scalars(select(m.ComputeNode).where(m.ComputeNode.host == host)).first()
    if node is None:
        raise errors.NotFound(f"Compute host {host} could not be found.")
    return node


def _count(body: dict, key: str) -> int | None:
    """A non-negative integer (not a bool, not a float) or None when absent."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise errors.ValidationError(f"{key} must be a non-negative integer.")
    return value


def _number(body: dict, key: str, kind):
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise errors.ValidationError(f"{key} must be a non-negative number.")
    return kind(value)


def _tunnel_ip(value) -> str | None:
    """A host's VXLAN endpoint: an IPv4 address, or empty/None for none."""
    if value in (None, ""):
        return None
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        raise errors.ValidationError(f"tunnel_ip {value!r} is not an IPv4 address.") from None


def _cell(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64:
        raise errors.ValidationError("cell must be a non-empty name of at most 64 characters.")
    return value.strip()


def _endpoint_moved(session, host: str) -> None:
    """The hosts sharing a network with ``host`` re-point their tunnels."""
    from stratus.db.models import network as netm
    from stratus.network import notify
    nets = session.scalars(select(netm.Port.network_id).distinct()
                           .where(netm.Port.host_id == host))
    notify.bump_hosts_of_networks(session, list(nets))


@routes.put("/v1/hosts/{host}")
def register(req):
    req.authorize("agent:host")
    host = req.path_params["host"]
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("host_info", {}), dict) \
            or not isinstance(body.get("config", {}), dict):
        raise errors.ValidationError("Expected {\"host_info\": {...}, \"config\": {...}}.")
    if not host or len(host) > 255:
        raise errors.ValidationError("Invalid host name.")
    info, config = body.get("host_info") or {}, body.get("config") or {}
    advertised = {k: _count(config, k) for k in ADVERTISED}
    # Hosts registering for the first time at the same moment race for the next
    # service_id (and a host for its own row): the loser's transaction fails on
    # the unique constraint, is rolled back whole, and runs again.
    for attempt in range(20):
        try:
            return _register(req, host, body, info, config, advertised)
        except IntegrityError:
            if attempt == 19:
                raise errors.Conflict(f"Could not register host {host}: too many "
                                      f"concurrent registrations; retry.") from None
    raise AssertionError("unreachable")


def _register(req, host: str, body: dict, info: dict, config: dict, advertised: dict) -> dict:
    with req.db.session() as s:
        node = s.scalars(select(m.ComputeNode).where(m.ComputeNode.host == host)).first()
        if node is None:
            next_id = (s.scalar(select(func.max(m.ComputeNode.service_id))) or 0) + 1
            node = m.ComputeNode(uuid=str(uuidlib.uuid4()), host=host, service_id=next_id)
            s.add(node)
        for key in HOST_INFO_INT:
            value = _number(info, key, int)
            if value is not None:
                setattr(node, key, value)
        for key, kind in [(k, float) for k in CONFIG_FLOAT] + [(k, int) for k in CONFIG_INT]:
            value = _number(config, key, kind)
            if value is not None:
                setattr(node, key, value)
        if config.get("cell") is not None:        # two-level placement (scheduler/cells.py)
            node.cell = _cell(config["cell"])
        for key, value in advertised.items():
            if value is not None:
                setattr(node, key, value)
        if info.get("hypervisor_type"):
            node.hypervisor_type = str(info["hypervisor_type"])[:32]
        if isinstance(info.get("cpu_info"), dict):
            node.cpu_info = info["cpu_info"]
        if isinstance(body.get("stats"), dict):
            node.stats = body["stats"]
        if body.get("host_ip"):
            node.host_ip = str(body["host_ip"])[:64]
        tunnel = _tunnel_ip(body["tunnel_ip"]) if "tunnel_ip" in body else node.tunnel_ip
        if tunnel != node.tunnel_ip:
            node.tunnel_ip = tunnel
            _endpoint_moved(s, host)
        node.last_seen_up = node.updated_at = utcnow()
        s.flush()
        from stratus.network.routers import place_unplaced
        place_unplaced(s, req.conf)   # routers made before any host was up
        return {"host": host, "revision": node.revision, "service_id": node.service_id}


@routes.get("/v1/hosts/{host}/state")
def state(req):
    req.authorize("agent:host")
    host = req.path_params["host"]
    since = req.query.get("since")
    try:
        since_n = int(since) if since not in (None, "") else None
    except ValueError:
        raise errors.ValidationError("since must be an integer.") from None
    with req.db.session() as s:
        node = get_node(s, host)
        revision = node.revision
        if since_n is not None and since_n == revision:
            return {"revision": revision, "changed": False, "instances": [], "networks": [],
                    "ports": []}
        from stratus.network.ports import host_network_state
        net = host_network_state(s, host)
        return {**net, "revision": revision, "changed": True,
                "instances": views.host_instances(s, host)}
