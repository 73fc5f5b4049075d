"""Networks: creation with segment allocation, visibility, deletion.

Tenant networks get ``[network] tenant_network_type`` (VXLAN by default) with
the lowest free VNI of ``vni_ranges``; the UNIQUE(network_type,
segmentation_id) constraint makes concurrent allocations safe (a VNI lost to a
concurrent create is re-picked, a requested one is a 409).  VLAN segments
(provider and tenant) are validated and allocated as ML2's type_vlan does
(stratus/network/vlan.py).  The data plane renders every network as a
per-host bridge; VXLAN tunnels and VLAN subinterfaces read the same columns."""
from __future__ import annotations

import uuid

from sqlalchemy import delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import vlan

NETWORK_TYPES = ("flat", "vlan", "vxlan")
VXLAN_OVERHEAD = 50
DHCP_OWNER = "network:dhcp"
VNI_RETRIES = 5   # attempts to allocate a VNI under concurrent creates


def vni_range(conf) -> tuple[int, int]:
    first, _, last = conf.network.vni_ranges.partition(":")
    return int(first), int(last or first)


def max_mtu(conf, network_type: str) -> int:
    base = conf.network.global_physnet_mtu
    return base - VXLAN_OVERHEAD if network_type == "vxlan" else base


def visible_clause(project_id: str | None, is_admin: bool):
    """WHERE clause of the networks a caller sees: admins all, others their
    own, the shared and the external ones."""
    if is_admin:
        return true()
    return or_(m.Network.project_id == project_id, m.Network.shared.is_(True),
               m.Network.external.is_(True))


def network_visible(session, network_id: str, project_id: str | None,
                    is_admin: bool = False) -> m.Network | None:
    """The network row if ``project_id`` may use it (own, shared, external or
    admin), else None."""
    return session.scalar(select(m.Network).where(m.Network.id == network_id,
                                                  visible_clause(project_id, is_admin)))


def _free_vni(session, conf) -> int:
    first, last = vni_range(conf)
    used = set(session.scalars(select(m.Network.segmentation_id).where(
        m.Network.network_type == "vxlan", m.Network.segmentation_id.between(first, last))))
    for vni in range(first, last + 1):
        if vni not in used:
            return vni
    raise exc.NoNetworkAvailable()


def _segment(session, conf, network_type, physical_network, segmentation_id):
    if network_type is None:
        network_type = conf.network.tenant_network_type
        physical_network = segmentation_id = None
    if network_type not in NETWORK_TYPES:
        raise exc.InvalidInput(f"network type '{network_type}' is not supported; "
                               f"supported: {', '.join(NETWORK_TYPES)}.")
    if network_type == "flat":
        if segmentation_id is not None:
            raise exc.InvalidInput("segmentation_id must not be set for a flat network.")
        physical_network = physical_network or "physnet1"
        allowed = conf.network.flat_networks
        if "*" not in allowed and physical_network not in allowed:
            raise exc.InvalidInput(f"physical_network '{physical_network}' unknown for flat "
                                   "provider network.")
        taken = session.scalar(select(func.count()).select_from(m.Network).where(
            m.Network.network_type == "flat", m.Network.physical_network == physical_network))
        if taken:
            raise exc.errors.Conflict(f"Unable to create the flat network. Physical network "
                                      f"{physical_network} is in use.")
        return network_type, physical_network, None
    if network_type == "vlan":
        physical_network, segmentation_id = vlan.segment(session, conf, physical_network,
                                                         segmentation_id)
        return network_type, physical_network, segmentation_id
    if physical_network is not None:
        raise exc.InvalidInput("physical_network must not be set for a vxlan network.")
    if segmentation_id is None:
        segmentation_id = _free_vni(session, conf)
    elif not isinstance(segmentation_id, int) or not 1 <= segmentation_id <= 2 ** 24 - 1:
        raise exc.InvalidInput(f"segmentation_id {segmentation_id} out of range (1 through "
                               "16777215).")
    return network_type, None, segmentation_id


def create_network(session, conf, *, project_id: str, name: str = "", description: str = "",
                   admin_state_up: bool = True, shared: bool = False, external: bool = False,
                   mtu: int | None = None, network_type: str | None = None,
                   physical_network: str | None = None,
                   segmentation_id: int | None = None) -> m.Network:
    ntype, physnet, seg = _segment(session, conf, network_type, physical_network,
                                   segmentation_id)
    limit = max_mtu(conf, ntype)
    if mtu is None:
        mtu = limit
    elif mtu < 68 or mtu > limit:
        raise exc.InvalidInput(f"Requested MTU {mtu} is outside 68 through {limit}, the "
                               f"largest a {ntype} network supports here.")
    net = m.Network(id=str(uuid.uuid4()), project_id=project_id, name=name,
                    description=description, admin_state_up=admin_state_up, shared=shared,
                    external=external, mtu=mtu, status="ACTIVE", network_type=ntype,
                    physical_network=physnet, segmentation_id=seg)
    if seg is not None and session.scalar(select(m.Network.id).where(
            m.Network.network_type == ntype, m.Network.segmentation_id == seg)):
        raise exc.errors.Conflict(f"Unable to create the network. The {ntype} segment {seg} "
                                  "is in use.")
    # a VNI we picked ourselves that a concurrent request took meanwhile: pick
    # the next free one (a requested segment in use stays a 409)
    picked = segmentation_id is None and ntype in ("vxlan", "vlan")
    for attempt in range(VNI_RETRIES):
        try:
            with session.begin_nested():
                session.add(net)
                session.flush()
            return net
        except IntegrityError:  # a concurrent request took the segment
            if not picked or attempt == VNI_RETRIES - 1:
                raise exc.errors.Conflict(f"Unable to create the network. The {ntype} "
                                          f"segment {net.segmentation_id} is in use.") from None
            net = m.Network(id=str(uuid.uuid4()), project_id=project_id, name=name,
                            description=description, admin_state_up=admin_state_up,
                            shared=shared, external=external, mtu=mtu, status="ACTIVE",
                            network_type=ntype, physical_network=physnet,
                            segmentation_id=None)
            if ntype == "vlan":   # the next free (physnet, id) of the ranges
                net.physical_network, net.segmentation_id = vlan.segment(
                    session, conf, physical_network if network_type else None, None)
            else:
                net.segmentation_id = _free_vni(session, conf)
    raise AssertionError("unreachable")


def delete_network(session, net: m.Network) -> None:
    """Delete ``net`` with its subnets and DHCP ports; 409 NetworkInUse if other
    ports remain."""
    busy = session.scalar(select(func.count()).select_from(m.Port).where(
        m.Port.network_id == net.id, m.Port.device_owner != DHCP_OWNER))
    if busy:
        raise exc.NetworkInUse(net.id)
    session.execute(delete(m.IPAllocation).where(m.IPAllocation.network_id == net.id))
    session.execute(delete(m.Port).where(m.Port.network_id == net.id))
    session.execute(delete(m.Subnet).where(m.Subnet.network_id == net.id))
    session.delete(net)
    session.flush()
