"""Nova's metadata documents for one instance, and the path lookup (pure).

The OpenStack documents are the config drive's (stratus.virt.configdrive,
built from the same instance dict by stratus.agent.compute.config_drive_meta),
so a guest reads the same ``meta_data.json``, ``network_data.json`` and
``user_data`` from either source.  The EC2 tree follows nova's
nova/api/metadata/base.py: a dict is a directory listed one key per line
(sub-directories with a trailing ``/``, or their ``_name``), a leaf is its
text.  ``lookup(md, path)`` gives ``(content_type, body)`` or raises
``NotFound``."""
from __future__ import annotations

import json
import os

from stratus.agent.compute import config_drive_meta
from stratus.virt import configdrive

EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04")
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15",
                      "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14")
NETWORK_DATA_SINCE = "2015-10-15"    # network_data.json appears in Liberty
VENDOR_DATA2_SINCE = "2016-10-06"    # vendor_data2.json appears in Newton
JSON, TEXT, OCTETS = "application/json", "text/plain", "application/octet-stream"


class NotFound(Exception):
    """No such path for this instance (HTTP 404)."""


class InstanceMetadata:
    """Everything the service tells one instance.  ``inst`` is the agent's
    instance dict (stratus.api.agent.views.to_dict); ``fixed_ip`` the address
    the request came from; ``security_groups`` names; ``flavor_name``."""

    def __init__(self, inst: dict, *, fixed_ip: str, security_groups=(),
                 flavor_name: str = "", ec2_id: int = 0, random_seed: bytes | None = None):
        self.inst = inst
        self.drive = config_drive_meta(inst)       # the config drive's own arguments
        self.user_data = configdrive.decode_user_data(self.drive.pop("user_data_b64"))
        self.fixed_ip = fixed_ip
        self.security_groups = sorted(security_groups) or ["default"]
        self.flavor_name = flavor_name
        self.ec2_id = ec2_id
        self.random_seed = os.urandom(512) if random_seed is None else random_seed

    # -- OpenStack -------------------------------------------------------------------
    def meta_data(self) -> dict:
        d = self.drive
        return configdrive.meta_data(
            uuid=d["uuid"], name=d["name"], hostname=d["hostname"],
            public_keys=d["public_keys"], meta=d["meta"],
            availability_zone=d["availability_zone"], project_id=d["project_id"],
            launch_index=int(self.inst.get("launch_index") or 0), random_seed=self.random_seed)

    def network_data(self) -> dict:
        return self.drive["network_data"]

    def openstack_version(self, version: str) -> dict:
        """The files of ``/openstack/<version>/``: name -> (type, body)."""
        files = {"meta_data.json": (JSON, json.dumps(self.meta_data(), sort_keys=True)),
                 "password": (TEXT, ""), "vendor_data.json": (JSON, "{}")}
        if self.user_data is not None:
            files["user_data"] = (OCTETS, self.user_data)
        if version == "latest" or version >= NETWORK_DATA_SINCE:
            files["network_data.json"] = (JSON, json.dumps(self.network_data(),
                                                           sort_keys=True))
        if version == "latest" or version >= VENDOR_DATA2_SINCE:
            files["vendor_data2.json"] = (JSON, "{}")
        return files

    # -- EC2 -------------------------------------------------------------------------
    def ec2_meta_data(self) -> dict:
        d = self.drive
        iid = f"i-{self.ec2_id:08x}"
        hostname = d["hostname"]
        md: dict = {
            "ami-id": "ami-00000000", "ami-launch-index": str(self.inst.get("launch_index")
                                                              or 0),
            "ami-manifest-path": "FIXME", "hostname": hostname, "instance-action": "none",
            "instance-id": iid, "instance-type": self.flavor_name,
            "local-hostname": hostname, "local-ipv4": self.fixed_ip,
            "placement": {"availability-zone": d["availability_zone"] or ""},
            "public-hostname": hostname, "public-ipv4": "",
            "reservation-id": self.inst.get("reservation_id") or "",
            "security-groups": "\n".join(self.security_groups),
            "block-device-mapping": {"ami": "vda", "root": "/dev/vda"},
        }
        if d["public_keys"]:
            name, key = next(iter(d["public_keys"].items()))
            md["public-keys"] = {"0": {"_name": f"0={name}", "openssh-key": key}}
        return md

    def ec2_version(self) -> dict:
        out: dict = {"meta-data": self.ec2_meta_data()}
        if self.user_data is not None:
            out["user-data"] = self.user_data
        return out


def listing(tree: dict) -> str:
    """A directory as nova prints it (ec2_md_print)."""
    lines = []
    for key in sorted(tree):
        if key == "_name":
            continue
        value = tree[key]
        if isinstance(value, dict):
            lines.append(str(value["_name"]) if "_name" in value else key + "/")
        else:
            lines.append(key)
    return "\n".join(lines)


def lookup(md: InstanceMetadata, path: str) -> tuple[str, str | bytes]:
    """(content type, body) of ``path`` for this instance; NotFound otherwise."""
    parts = [p for p in path.split("/") if p]
    if not parts:                                    # "/": the EC2 versions
        return TEXT, "\n".join((*EC2_VERSIONS, "latest"))
    if parts[0] == "openstack":
        if len(parts) == 1:
            return TEXT, "\n".join((*OPENSTACK_VERSIONS, "latest"))
        version = parts[1]
        if version != "latest" and version not in OPENSTACK_VERSIONS:
            raise NotFound(path)
        files = md.openstack_version(version)
        if len(parts) == 2:
            return TEXT, "\n".join(sorted(files))
        if len(parts) == 3 and parts[2] in files:
            return files[parts[2]]
        raise NotFound(path)
    if parts[0] != "latest" and parts[0] not in EC2_VERSIONS:
        raise NotFound(path)
    node = md.ec2_version()
    for part in parts[1:]:
        if not isinstance(node, dict) or part not in node or part == "_name":
            raise NotFound(path)
        node = node[part]
    if isinstance(node, dict):
        return TEXT, listing(node)
    return (OCTETS if isinstance(node, bytes) else TEXT), node
