"""Network tables (Neutron v2.0): networks, subnets, ports and their fixed IPs.

``ip_allocation`` has the (subnet, address) pair as its primary key, so two
requests racing for one address cannot both win: the loser's flush fails and
becomes 409 IpAddressAlreadyAllocated.  ``segmentation_id`` is unique per
network type for the same reason (VXLAN VNIs, VLAN ids in issue 5).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Network(Base):
    __tablename__ = "network"
    __table_args__ = (UniqueConstraint("network_type", "segmentation_id",
                                       name="uq_network_segment"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    network_type: Mapped[str] = mapped_column(String(16))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # network_availability_zone: the zones asked for at creation (never updated);
    # stratus/network/availability_zones.py.  Revision 0004.
    availability_zone_hints: Mapped[list] = mapped_column(JSON, default=list,
                                                          server_default="[]")


class Subnet(Base):
    __tablename__ = "subnet"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("network.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    allocation_pools: Mapped[list] = mapped_column(JSON, default=list)  # [{"start","end"}]
    dns_nameservers: Mapped[list] = mapped_column(JSON, default=list)
    host_routes: Mapped[list] = mapped_column(JSON, default=list)  # [{"destination","nexthop"}]
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Port(Base):
    __tablename__ = "port"
    __table_args__ = (UniqueConstraint("network_id", "mac_address", name="uq_port_mac"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("network.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    vif_details: Mapped[dict] = mapped_column(JSON, default=dict)
    profile: Mapped[dict] = mapped_column(JSON, default=dict)
    allowed_address_pairs: Mapped[list] = mapped_column(JSON, default=list)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    security_groups: Mapped[list] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class IPAllocation(Base):
    __tablename__ = "ip_allocation"
    subnet_id: Mapped[str] = mapped_column(String(36), ForeignKey("subnet.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(String(36), ForeignKey("port.id", ondelete="CASCADE"),
                                         index=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)


class NetworkQuota(Base):
    """A project's limit for one resource where it differs from [quota]."""
    __tablename__ = "network_quota"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
