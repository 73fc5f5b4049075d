"""QoS tables (Neutron ``qos``, ``qos-bw-limit-direction``, ``qos-default``).

A policy holds bandwidth-limit rules (at most one per direction, as
upstream).  Bindings are tables, as upstream's ``qos_port_policy_bindings``
and ``qos_network_policy_bindings``: a port or network names at most one
policy (its primary key), and "is this policy in use?" is an indexed query."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, DateTime, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.models.network import utcnow


class QosPolicy(Base):
    __tablename__ = "qos_policy"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class QosBandwidthLimitRule(Base):
    __tablename__ = "qos_bandwidth_limit_rule"
    __table_args__ = (UniqueConstraint("qos_policy_id", "direction"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    qos_policy_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("qos_policy.id", ondelete="CASCADE"), index=True)
    max_kbps: Mapped[int] = mapped_column(Integer)
    max_burst_kbps: Mapped[int] = mapped_column(Integer, default=0)
    direction: Mapped[str] = mapped_column(String(8), default="egress")


class QosPortPolicyBinding(Base):
    __tablename__ = "qos_port_policy_binding"
    port_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(36), ForeignKey("qos_policy.id"), index=True)


class QosNetworkPolicyBinding(Base):
    __tablename__ = "qos_network_policy_binding"
    network_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(36), ForeignKey("qos_policy.id"), index=True)
