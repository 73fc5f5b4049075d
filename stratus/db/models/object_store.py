"""Object storage tables (Swift v1 API); see stratus/objectstore/ and
docs/design/object-storage.md.

Only metadata lives here: an object's bytes are a blob in the storage backend
(``swift_object.blob`` is the backend's key for them).  Container usage
(``object_count``, ``bytes_used``) is changed in the same transaction as the
object row it accounts for, under a row lock on the container, so it is exact
under concurrent writers.  Account usage is the sum over its containers.
Names sort bytewise (UTF-8), as Swift lists them: PostgreSQL columns use the
"C" collation; SQLite's default collation is already bytewise.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base


def _name(length: int):
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class SwiftAccount(Base):
    """An account ``AUTH_<project_id>``: created on first write, holds metadata."""
    __tablename__ = "swift_account"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[float] = mapped_column(Float)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class SwiftContainer(Base):
    __tablename__ = "swift_container"
    __table_args__ = (UniqueConstraint("account", "name", name="uq_swift_container_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(255), ForeignKey(
        "swift_account.name", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(_name(256))
    created: Mapped[float] = mapped_column(Float)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # lower-case suffix -> value
    read_acl: Mapped[str] = mapped_column(String(4096), default="")
    write_acl: Mapped[str] = mapped_column(String(4096), default="")
    sync_to: Mapped[str] = mapped_column(String(1024), default="")
    object_count: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_used: Mapped[int] = mapped_column(BigInteger, default=0)


class SwiftObject(Base):
    """The current version of one object.  ``manifest`` is ``"slo"`` (then
    ``segments`` is the validated segment list) or ``None``; a DLO is a plain
    object whose metadata carries ``x-object-manifest``."""
    __tablename__ = "swift_object"
    __table_args__ = (UniqueConstraint("container_id", "name", name="uq_swift_object_name"),
                      Index("ix_swift_object_delete_at", "delete_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    container_id: Mapped[int] = mapped_column(Integer, ForeignKey(
        "swift_container.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(_name(1024))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    etag: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(256), default="application/octet-stream")
    timestamp: Mapped[float] = mapped_column(Float)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # header (lower case) -> value
    blob: Mapped[str] = mapped_column(String(255))
    delete_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    manifest: Mapped[str | None] = mapped_column(String(8), nullable=True)
    segments: Mapped[list | None] = mapped_column(JSON, nullable=True)
