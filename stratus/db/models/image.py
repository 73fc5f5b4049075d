"""Image tables (Glance v2): owned by the image service work; see stratus/image/.

An image's data lives in the content-addressed chunk store (stratus/image/store.py):
``image_chunk`` lists, in order, the chunks (sha256 digests) an image is made of,
and ``chunk`` counts how many ``image_chunk`` rows refer to each stored chunk, so
identical chunks are stored once and removed when the last reference goes.
Data is served only while the image is ``active``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String,
                        Text)
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.models.identity import utcnow


class Image(Base):
    __tablename__ = "image"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(30), default="queued", index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="shared", index=True)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128), index=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImageProperty(Base):
    """Extra (user-defined) string properties of an image."""
    __tablename__ = "image_property"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"),
                                          primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImageTag(Base):
    __tablename__ = "image_tag"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"),
                                          primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImageMember(Base):
    """A project an image is shared with; ``status`` pending/accepted/rejected."""
    __tablename__ = "image_member"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"),
                                          primary_key=True)
    member: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_image_member_member", "member"),)


class Chunk(Base):
    """One stored chunk file, ``<store>/<digest[:2]>/<digest>``, and its users."""
    __tablename__ = "chunk"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    refcount: Mapped[int] = mapped_column(Integer, default=0)


class ImageChunk(Base):
    """Chunk ``seq`` (0-based) of an image's data."""
    __tablename__ = "image_chunk"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"),
                                          primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
