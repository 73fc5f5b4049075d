"""Receiving an image's data: chunking, hashing, storing, and the status
transitions ``queued → saving → active`` (or back to ``queued`` on failure).

The data arrives as a sequence of byte blocks of any size (an HTTP body stream
or a local file); it is cut into ``chunk_size`` chunks, each pinned in the
database and written to the chunk store as it comes, so memory use is one
chunk.  The image serves data only once :meth:`Upload.finish` has checked the
size limits, recorded checksum/size and set it ``active`` in one transaction;
an interrupted upload (:meth:`Upload.abort`, or a crash then
:func:`stratus.image.chunks.recover`) releases its chunks and leaves the image
``queued``.
"""
from __future__ import annotations

import hashlib
import os
import struct

from sqlalchemy import func, select, update

from stratus.common import errors
from stratus.db.models import image as m
from stratus.db.models.identity import utcnow
from stratus.image import chunks
from stratus.image.store import ChunkStore

QCOW2_MAGIC = b"QFI\xfb"


def virtual_size(disk_format: str | None, head: bytes, size: int) -> int | None:
    """The guest-visible disk size, read from the image header where we can."""
    if disk_format == "qcow2" and head[:4] == QCOW2_MAGIC and len(head) >= 32:
        return struct.unpack(">Q", head[24:32])[0]
    if disk_format in ("raw", "iso"):
        return size
    return None


def storage_used(session, owner: str | None, exclude: str | None = None) -> int:
    q = select(func.coalesce(func.sum(m.Image.size), 0)).where(
        m.Image.owner == owner, m.Image.status.in_(("active", "deactivated")))
    if exclude:
        q = q.where(m.Image.id != exclude)
    return int(session.execute(q).scalar() or 0)


class Upload:
    """One data upload into a queued image.  Not thread safe; blocking (run it
    in a worker thread from async code)."""

    def __init__(self, db, conf, store: ChunkStore, image_id: str):
        self.db, self.store, self.image_id = db, store, image_id
        self.chunk_size = max(1, int(conf.image.chunk_size_kb)) * 1024
        self.size_cap = int(conf.image.image_size_cap)
        self.quota = int(conf.image.user_storage_quota)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.size = 0
        self.seq = 0
        self.head = b""
        self.buf = bytearray()
        self.disk_format: str | None = None
        self.owner: str | None = None
        self.limit = self.size_cap

    def begin(self, expected_size: int | None = None) -> None:
        """queued → saving, or 409 if the image is not waiting for data."""
        with self.db.session() as s:
            img = s.get(m.Image, self.image_id)
            if img is None:
                raise errors.NotFound(f"No image found with ID {self.image_id}")
            self.disk_format, self.owner = img.disk_format, img.owner
            if self.quota > 0:
                self.limit = min(self.size_cap, self.quota - storage_used(s, img.owner))
            if expected_size is not None and expected_size > self.limit:
                raise self._too_large(expected_size)
            res = s.execute(update(m.Image).where(m.Image.id == self.image_id,
                                                  m.Image.status == "queued")
                            .values(status="saving", updated_at=utcnow()))
            if not res.rowcount:
                raise errors.Conflict(f"Image status transition from {img.status} to saving "
                                      f"is not allowed")

    def _too_large(self, size: int) -> errors.APIError:
        if self.quota > 0 and size > self.limit and self.limit < self.size_cap:
            return errors.PayloadTooLarge(
                f"Denying attempt to upload image because it exceeds the quota: "
                f"the image would use {size} bytes and the project has "
                f"{max(self.limit, 0)} bytes of its {self.quota}-byte storage quota left.")
        return errors.PayloadTooLarge(f"Image exceeds the storage quota: image_size_cap is "
                                      f"{self.size_cap} bytes.")

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise self._too_large(self.size)
        self.md5.update(data)
        self.sha512.update(data)
        if len(self.head) < 512:
            self.head += data[:512 - len(self.head)]
        self.buf += data
        while len(self.buf) >= self.chunk_size:
            self._store(bytes(self.buf[:self.chunk_size]))
            del self.buf[:self.chunk_size]

    def _store(self, data: bytes) -> None:
        digest = ChunkStore.digest_of(data)
        with self.db.session() as s:
            status = s.execute(select(m.Image.status).where(m.Image.id == self.image_id)).scalar()
            if status != "saving":
                raise errors.Conflict(f"Image {self.image_id} is no longer being uploaded "
                                      f"(status {status}).")
            chunks.add_image_chunk(s, self.image_id, self.seq, digest, len(data))
        # Pinned and committed: now the file may be written (see chunks.py).
        self.store.write(digest, data)
        self.seq += 1

    def finish(self) -> dict:
        """Store the tail and make the image active; returns the recorded fields."""
        if self.buf:
            self._store(bytes(self.buf))
            self.buf.clear()
        fields = {"status": "active", "size": self.size, "checksum": self.md5.hexdigest(),
                  "os_hash_algo": "sha512", "os_hash_value": self.sha512.hexdigest(),
                  "virtual_size": virtual_size(self.disk_format, self.head, self.size),
                  "updated_at": utcnow()}
        with self.db.session() as s:
            if self.quota > 0 and storage_used(s, self.owner, self.image_id) + self.size > \
                    self.quota:
                raise self._too_large(self.size)
            res = s.execute(update(m.Image).where(m.Image.id == self.image_id,
                                                  m.Image.status == "saving").values(**fields))
            if not res.rowcount:
                raise errors.Conflict(f"Image {self.image_id} was changed during the upload.")
        return fields

    def abort(self) -> None:
        """Forget the partial data; the image goes back to queued."""
        with self.db.session() as s:
            chunks.release_image(s, self.store, self.image_id)
            s.execute(update(m.Image).where(m.Image.id == self.image_id,
                                            m.Image.status == "saving")
                      .values(status="queued", updated_at=utcnow()))


def upload_file(db, conf, store: ChunkStore, image_id: str, path: str) -> dict:
    """Upload a local file into a queued image (used by the importer)."""
    up = Upload(db, conf, store, image_id)
    up.begin(os.path.getsize(path))
    try:
        with open(path, "rb") as f:
            while True:
                block = f.read(up.chunk_size)
                if not block:
                    break
                up.feed(block)
        return up.finish()
    except BaseException:
        up.abort()
        raise
