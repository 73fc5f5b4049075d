"""Rows for metadata tests: an instance with one port on a network (SQLite)."""
from __future__ import annotations

import base64
import uuid

from stratus.db.models import compute as cm
from stratus.db.models import network as nm
from stratus.db.models import security_group as sgm


def network(s, cidr="10.9.0.0/24") -> tuple[str, str]:
    net, sub = str(uuid.uuid4()), str(uuid.uuid4())
    s.add(nm.Network(id=net, project_id="p1", name="n-" + net[:4], network_type="vxlan",
                     segmentation_id=int(net[:6], 16)))
    s.add(nm.Subnet(id=sub, network_id=net, project_id="p1", cidr=cidr,
                    gateway_ip=cidr.rsplit(".", 1)[0] + ".1"))
    s.flush()
    return net, sub


def instance(s, net: str, sub: str, ip: str, *, name="vm", key=None, user_data=None,
             meta=None, project="p1", sg_name="web") -> str:
    uid = str(uuid.uuid4())
    s.add(cm.Instance(uuid=uid, display_name=name, hostname=name, project_id=project,
                      user_id="u1", flavor={"id": "1", "name": "m1.tiny", "extra_specs": {}},
                      flavor_id="1", vcpus=1, memory_mb=64, root_gb=1, host="h1",
                      availability_zone="nova", key_name="k1" if key else None,
                      key_data=key, reservation_id="r-abc",
                      user_data=base64.b64encode(user_data).decode() if user_data else None))
    for k, v in (meta or {}).items():
        s.add(cm.InstanceMetadata(instance_uuid=uid, key=k, value=v))
    group = str(uuid.uuid4())
    s.add(sgm.SecurityGroup(id=group, project_id=project, name=sg_name))
    pid = str(uuid.uuid4())
    s.add(nm.Port(id=pid, network_id=net, project_id=project, device_id=uid,
                  device_owner="compute:nova", host_id="h1",
                  mac_address="fa:16:3e:00:%02x:%02x" % (int(ip.split(".")[2]),
                                                        int(ip.split(".")[3])),
                  security_groups=[group]))
    s.flush()
    s.add(nm.IPAllocation(subnet_id=sub, ip_address=ip, port_id=pid, network_id=net))
    s.flush()
    return uid
