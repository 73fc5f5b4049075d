"""The control-plane metadata service: who is asking, and the answer.

Callers are identified as Neutron's metadata proxy identifies them: the
proxy in the network's DHCP namespace adds ``X-Forwarded-For: <source IP>``
and ``X-Neutron-Network-ID: <network>``; the port holding that fixed IP on
that network is the VM's, its ``device_id`` the instance.  Nothing else the
request says is believed.  A signed form serves hosts that reach the
service over TCP (``[metadata] metadata_proxy_shared_secret``):
``X-Instance-ID`` and ``X-Instance-ID-Signature`` = HMAC-SHA256(secret,
instance id), hex, as nova checks it.

``answer(db, headers, path)`` → (status, content type, body); unknown
caller or path → 404, never another instance's data."""
from __future__ import annotations

import hashlib
import hmac
import logging

from sqlalchemy import select

from stratus.api.agent import views
from stratus.db.models import compute as cm
from stratus.db.models import network as nm
from stratus.db.models import security_group as sgm
from stratus.metadata import documents

LOG = logging.getLogger(__name__)
COMPUTE_OWNER_PREFIX = "compute:"


class Unknown(Exception):
    """The caller is no instance we know (404)."""


def sign(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def find_port(s, network_id: str, fixed_ip: str) -> nm.Port:
    """The compute port holding ``fixed_ip`` on ``network_id``; Unknown otherwise."""
    port = s.scalar(select(nm.Port).join(nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id)
                    .where(nm.Port.network_id == network_id,
                           nm.IPAllocation.ip_address == fixed_ip,
                           nm.Port.device_owner.startswith(COMPUTE_OWNER_PREFIX)))
    if port is None or not port.device_id:
        raise Unknown(f"no instance port with {fixed_ip} on network {network_id}")
    return port


def instance_metadata(s, instance_uuid: str, fixed_ip: str) -> documents.InstanceMetadata:
    row = s.scalar(select(cm.Instance).where(cm.Instance.uuid == instance_uuid,
                                             cm.Instance.deleted == 0))
    if row is None:
        raise Unknown(f"instance {instance_uuid} not found")
    meta = {md.key: md.value for md in s.scalars(
        select(cm.InstanceMetadata).where(cm.InstanceMetadata.instance_uuid == row.uuid))}
    ports = views._ports(s, [row.uuid])[row.uuid]
    inst = views.to_dict(row, None, meta, ports, None)
    inst["launch_index"], inst["reservation_id"] = row.launch_index, row.reservation_id
    group_ids = {g for p in s.scalars(select(nm.Port).where(nm.Port.device_id == row.uuid))
                 for g in (p.security_groups or [])}
    names = list(s.scalars(select(sgm.SecurityGroup.name)
                           .where(sgm.SecurityGroup.id.in_(group_ids)))) if group_ids else []
    return documents.InstanceMetadata(inst, fixed_ip=fixed_ip, security_groups=names,
                                      flavor_name=(row.flavor or {}).get("name", ""),
                                      ec2_id=row.id)


def identify(s, headers, secret: str = "", require_signature: bool = False
             ) -> documents.InstanceMetadata:
    """The asking instance's metadata, from the proxy's headers (lower-case keys)."""
    fixed_ip = (headers.get("x-forwarded-for") or "").split(",")[-1].strip()
    if headers.get("x-instance-id-signature") is not None or require_signature:
        iid = headers.get("x-instance-id") or ""
        given = headers.get("x-instance-id-signature") or ""
        if not secret or not iid or not hmac.compare_digest(sign(secret, iid), given):
            raise Unknown("bad or missing X-Instance-ID-Signature")
        return instance_metadata(s, iid, fixed_ip)
    network_id = headers.get("x-neutron-network-id") or ""
    if not fixed_ip or not network_id:
        raise Unknown("X-Forwarded-For and X-Neutron-Network-ID are required")
    port = find_port(s, network_id, fixed_ip)
    return instance_metadata(s, port.device_id, fixed_ip)


def answer(db, headers, path: str, *, secret: str = "", require_signature: bool = False
           ) -> tuple[int, str, bytes]:
    try:
        with db.session() as s:
            md = identify(s, headers, secret, require_signature)
        ctype, body = documents.lookup(md, path)
    except (Unknown, documents.NotFound) as exc:
        LOG.debug("metadata 404 for %s: %s", path, exc)
        return 404, "text/plain", b"404 Not Found\n\nThe resource could not be found.\n"
    return 200, ctype, body if isinstance(body, bytes) else body.encode()
