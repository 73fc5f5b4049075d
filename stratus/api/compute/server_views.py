"""Server bodies exactly as Nova v2.1 renders them (nova/api/openstack/compute/
views/servers.py at microversion 2.1).

Pure functions: the caller loads the instance, its metadata, fault and
addresses and passes them in with a :class:`Links` for the URLs.  ``detail``
is the body of GET /servers/{id} and /servers/detail; ``basic`` (no
extension attributes) answers PUT /servers/{id} and rebuild, as upstream.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from stratus.compute import states


@dataclass(frozen=True)
class Links:
    """URL builder: ``base`` is the compute endpoint root, e.g.
    ``http://host/compute`` (version-less, as Nova's bookmark links)."""
    base: str

    def server(self, uuid: str) -> list[dict]:
        return [{"rel": "self", "href": f"{self.base}/v2.1/servers/{uuid}"},
                {"rel": "bookmark", "href": f"{self.base}/servers/{uuid}"}]

    def bookmark(self, collection: str, id_: str) -> list[dict]:
        return [{"rel": "bookmark", "href": f"{self.base}/{collection}/{id_}"}]


def isotime(t: dt.datetime | None) -> str | None:
    """Nova's ``created``/``updated`` format: 2012-08-20T21:11:09Z."""
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_time(t: dt.datetime | None) -> str | None:
    """Nova's ``OS-SRV-USG`` format: 2012-08-20T21:11:09.000000 (no zone)."""
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def host_id(project_id: str, host: str | None) -> str:
    """Opaque per-project host id, as Nova: sha224(project_id + host)."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def minimal(inst, links: Links) -> dict:
    """One entry of GET /servers."""
    return {"id": inst.uuid, "name": inst.display_name, "links": links.server(inst.uuid)}


def _image(inst, links: Links):
    if not inst.image_ref:
        return ""
    return {"id": inst.image_ref, "links": links.bookmark("images", inst.image_ref)}


def fault_view(fault, is_admin: bool) -> dict:
    """``fault`` of a server in ERROR/DELETED; ``details`` only for admins, and
    never for a 500 whose details might leak internals (Nova hides those from
    non-admins too)."""
    body = {"code": fault.code, "created": isotime(fault.created_at),
            "message": fault.message}
    if fault.details and (is_admin or fault.code != 500):
        body["details"] = fault.details
    return body


def plain_addresses(addresses: dict) -> dict:
    """Addresses without the OS-EXT-IPS extension keys (update/rebuild bodies)."""
    return {net: [{"version": a["version"], "addr": a["addr"]} for a in lst]
            for net, lst in addresses.items()}


def at_least(version, major: int, minor: int) -> bool:
    """Whether the negotiated microversion ``version`` (None: 2.1) is >= major.minor."""
    return version is not None and (version.major, version.minor) >= (major, minor)


def basic(inst, links: Links, *, metadata: dict, addresses: dict, fault=None,
          is_admin: bool = False, version=None) -> dict:
    """The common server body (PUT /servers/{id}, rebuild); from 2.9 with
    ``locked``."""
    status = states.status(inst.vm_state, inst.task_state)
    body = {
        "id": inst.uuid,
        "name": inst.display_name,
        "status": status,
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "metadata": dict(metadata),
        "hostId": host_id(inst.project_id, inst.host),
        "image": _image(inst, links),
        "flavor": {"id": inst.flavor_id, "links": links.bookmark("flavors", inst.flavor_id)},
        "created": isotime(inst.created_at),
        "updated": isotime(inst.updated_at or inst.created_at),
        "addresses": plain_addresses(addresses),
        "accessIPv4": inst.access_ip_v4 or "",
        "accessIPv6": inst.access_ip_v6 or "",
        "links": links.server(inst.uuid),
        "OS-DCF:diskConfig": (inst.request_spec or {}).get("disk_config", "MANUAL"),
    }
    if status in states.PROGRESS_STATUSES:
        body["progress"] = inst.progress or 0
    if fault is not None and status in ("ERROR", "DELETED"):
        body["fault"] = fault_view(fault, is_admin)
    if at_least(version, 2, 9):
        body["locked"] = bool(inst.locked)
    return body


def detail(inst, links: Links, *, metadata: dict, addresses: dict, fault=None,
           is_admin: bool = False, version=None) -> dict:
    """GET /servers/{id} and one entry of GET /servers/detail (``version``:
    the negotiated microversion; 2.3 adds more OS-EXT-SRV-ATTR keys for
    admins, 2.9 ``locked``)."""
    body = basic(inst, links, metadata=metadata, addresses=addresses, fault=fault,
                 is_admin=is_admin, version=version)
    spec = inst.request_spec or {}
    body.update({
        "addresses": addresses,
        "key_name": inst.key_name,
        "security_groups": [{"name": n} for n in spec.get("security_groups", ["default"])],
        "OS-SRV-USG:launched_at": usage_time(inst.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(inst.terminated_at),
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
        "OS-EXT-STS:vm_state": states.shown_vm_state(inst.vm_state, inst.task_state),
        "OS-EXT-STS:task_state": inst.task_state,
        "OS-EXT-STS:power_state": inst.power_state or 0,
        "os-extended-volumes:volumes_attached": [],
        "config_drive": "True" if inst.config_drive else "",
    })
    if is_admin:
        body.update({
            "OS-EXT-SRV-ATTR:host": inst.host,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": inst.node,
            "OS-EXT-SRV-ATTR:instance_name": instance_name(inst.id),
        })
        if at_least(version, 2, 3):
            # nova 2.3: attributes the EC2 API needs (kernel/ramdisk are only
            # set for AMI images, never here; the root device is the first
            # virtio disk once a host built the server).
            body.update({
                "OS-EXT-SRV-ATTR:reservation_id": inst.reservation_id or None,
                "OS-EXT-SRV-ATTR:launch_index": inst.launch_index or 0,
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:hostname": inst.hostname or "",
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda" if inst.host else None,
                "OS-EXT-SRV-ATTR:user_data": inst.user_data,
            })
    return body


def instance_name(row_id: int) -> str:
    """Nova's default ``instance_name_template``: instance-%08x."""
    return "instance-%08x" % row_id


def create_response(inst, links: Links, admin_pass: str | None) -> dict:
    """The 202 body of POST /servers."""
    spec = inst.request_spec or {}
    body = {"id": inst.uuid, "links": links.server(inst.uuid),
            "OS-DCF:diskConfig": spec.get("disk_config", "MANUAL"),
            "security_groups": [{"name": n} for n in spec.get("security_groups", ["default"])]}
    if admin_pass is not None:
        body["adminPass"] = admin_pass
    return body
