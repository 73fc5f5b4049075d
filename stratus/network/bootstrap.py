"""First-start network of the demo project, as DevStack creates it."""
from __future__ import annotations

from sqlalchemy import select

from stratus.db.models import network as m
from stratus.network.networks import create_network
from stratus.network.subnets import create_subnet

PRIVATE = "private"
PRIVATE_SUBNET = "private-subnet"


def ensure_private_network(session, conf, project_id: str) -> None:
    """Network ``private`` with subnet ``private-subnet`` ([network]
    private_cidr) for ``project_id``.  Idempotent: an existing ``private``
    network of the project is left as it is (the operator may have changed it)."""
    exists = session.scalar(select(m.Network.id).where(m.Network.project_id == project_id,
                                                       m.Network.name == PRIVATE))
    if exists:
        return
    net = create_network(session, conf, project_id=project_id, name=PRIVATE)
    create_subnet(session, net, project_id=project_id, cidr=conf.network.private_cidr,
                  name=PRIVATE_SUBNET, dns_nameservers=list(conf.network.default_dns_servers))


PUBLIC = "public"
PUBLIC_SUBNET = "public-subnet"
ROUTER1 = "router1"


def ensure_public_network(session, conf, admin_project_id: str, demo_project_id: str | None):
    """As DevStack: the external flat network ``public`` (physical network
    ``public``, admin's, not shared) with a DHCP-less subnet ([network]
    public_cidr/public_gateway/public_pool_*) and, in the demo project, router
    ``router1`` with its gateway on ``public`` and an interface on
    ``private-subnet``.  Idempotent: made only when no external network
    ``public`` exists, so a restart (or an operator's later changes) is left
    alone.  Returns the router, or None when nothing was made."""
    from stratus.network import routers
    if session.scalar(select(m.Network.id).where(m.Network.name == PUBLIC,
                                                 m.Network.external.is_(True))):
        return None
    net = create_network(session, conf, project_id=admin_project_id, name=PUBLIC,
                         external=True, shared=False, network_type="flat",
                         physical_network=PUBLIC)
    create_subnet(session, net, project_id=admin_project_id, cidr=conf.network.public_cidr,
                  name=PUBLIC_SUBNET, gateway_ip=conf.network.public_gateway,
                  allocation_pools=[{"start": conf.network.public_pool_start,
                                     "end": conf.network.public_pool_end}],
                  enable_dhcp=False)
    if demo_project_id is None:
        return None
    router = routers.create_router(session, conf, project_id=demo_project_id, name=ROUTER1,
                                   gateway={"network_id": net.id}, is_admin=True)
    private = session.scalar(select(m.Subnet).join(m.Network, m.Network.id == m.Subnet.network_id)
                             .where(m.Network.project_id == demo_project_id,
                                    m.Network.name == PRIVATE, m.Subnet.name == PRIVATE_SUBNET))
    if private is not None and private.gateway_ip:
        routers.add_interface(session, router, subnet=private)
    return router
