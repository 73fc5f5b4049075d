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
