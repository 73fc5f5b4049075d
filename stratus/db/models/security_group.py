"""Security group tables (Neutron ``security-group``, ``port-security``,
``allowed-address-pairs``).

``default_security_group`` has the project as its primary key, so two
requests racing to create a project's ``default`` group cannot both win (the
loser re-reads), as upstream's table of the same name.  The port ↔ group
binding is a table (not the port's JSON column) so "is this group in use?"
and "who are this group's members?" are indexed queries.  A port's own
``port_security_enabled`` and ``allowed_address_pairs`` live on the port row
(stratus/db/models/network.py); a network's ``port_security_enabled`` (the
default for its new ports) lives here.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.models.network import utcnow


class SecurityGroup(Base):
    __tablename__ = "security_group"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SecurityGroupRule(Base):
    __tablename__ = "security_group_rule"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    security_group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("security_group.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))            # ingress | egress
    ethertype: Mapped[str] = mapped_column(String(8))            # IPv4 | IPv6
    protocol: Mapped[str | None] = mapped_column(String(40))     # as given (name or number)
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("security_group.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class DefaultSecurityGroup(Base):
    """The project's ``default`` group; the primary key makes creation race-safe."""
    __tablename__ = "default_security_group"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("security_group.id", ondelete="CASCADE"), unique=True)


class PortSecurityGroupBinding(Base):
    __tablename__ = "port_security_group_binding"   # the primary key makes pairs unique
    port_id: Mapped[str] = mapped_column(String(36), ForeignKey("port.id", ondelete="CASCADE"),
                                         primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("security_group.id"), primary_key=True, index=True)


class NetworkPortSecurity(Base):
    """A network's ``port_security_enabled`` (absent row: True)."""
    __tablename__ = "network_port_security"
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("network.id",
                                                                   ondelete="CASCADE"),
                                            primary_key=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True,
                                                        server_default="1")
