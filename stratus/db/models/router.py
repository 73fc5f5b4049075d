"""L3 tables (Neutron v2.0 ``router``, ``extraroute``, ``ext-gw-mode``,
floating IPs).

A router's ports are ordinary ``port`` rows (``device_id`` = router id,
``device_owner`` ``network:router_interface`` / ``network:router_gateway``),
so addresses come from the shared IPAM and the (subnet, address) primary key
of ``ip_allocation`` settles races (two routers cannot both take a subnet's
gateway IP).  A floating IP owns a port on the external network
(``network:floatingip``) holding its address; the unique constraint
(floating network, fixed port, fixed IP) stops two floating IPs of one
external network from claiming one fixed IP.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.models.network import utcnow


class Router(Base):
    __tablename__ = "router"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    # External gateway: its port (on the external network) and SNAT mode.
    gw_port_id: Mapped[str | None] = mapped_column(String(36), index=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list] = mapped_column(JSON, default=list)  # [{"destination","nexthop"}]
    # The host whose agent runs the router's namespace (None: no host up yet).
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    # router_availability_zone: zones preferred when placing it (never updated).
    availability_zone_hints: Mapped[list] = mapped_column(JSON, default=list,
                                                          server_default="[]")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class FloatingIP(Base):
    __tablename__ = "floatingip"
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id",
                                       "fixed_ip_address", name="uq_floatingip_fixed"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    floating_network_id: Mapped[str] = mapped_column(String(36), index=True)
    floating_port_id: Mapped[str] = mapped_column(String(36), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    fixed_port_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
