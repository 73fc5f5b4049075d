"""Registering a local image file (used by ``stratus image build`` for the
default guest image).  Idempotent: an image with the same name and the same
sha512 is reused."""
from __future__ import annotations

import hashlib
import os

from sqlalchemy import select

from stratus.db.models import image as m
from stratus.image import api as image_api
from stratus.image.store import ChunkStore
from stratus.image.upload import upload_file


def sha512_of(path: str, block: int = 1 << 20) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        while data := f.read(block):
            h.update(data)
    return h.hexdigest()


def import_file(db, conf, *, name: str, path: str, disk_format: str = "qcow2",
                container_format: str = "bare", visibility: str = "public",
                owner: str | None = None, properties: dict | None = None) -> str:
    """Create an image from ``path`` and return its id (or the id of the
    existing active image with this name and content)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    digest = sha512_of(path)
    with db.session() as s:
        existing = s.execute(select(m.Image.id).where(
            m.Image.name == name, m.Image.os_hash_value == digest,
            m.Image.status == "active").limit(1)).scalar()
        if existing:
            return existing
        img = image_api.new_image(s, owner=owner, fields={
            "name": name, "disk_format": disk_format, "container_format": container_format,
            "visibility": visibility}, properties={k: str(v) for k, v in
                                                   (properties or {}).items()})
        image_id = img.id
    try:
        upload_file(db, conf, ChunkStore.from_conf(conf), image_id, path)
    except BaseException:
        with db.session() as s:
            row = s.get(m.Image, image_id)
            if row is not None:
                s.delete(row)
        raise
    return image_id
