"""The host's base image cache and snapshot upload.

A base image is downloaded once per host from the Image service (streamed
to a temporary file), verified against the image's ``os_hash_value``
(sha512) or ``checksum`` (md5) and only then renamed into place, so a
half-downloaded or corrupt file is never used.  Instances boot from qcow2
overlays on these files (the driver makes them)."""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading

LOG = logging.getLogger(__name__)


class ImageVerifyError(Exception):
    pass


class ImageCache:
    def __init__(self, client, base_dir: str):
        self.client = client
        self.base_dir = base_dir
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_of(self, image_id: str) -> str:
        return os.path.join(self.base_dir, image_id)

    def _lock(self, image_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(image_id, threading.Lock())

    def ensure(self, image_id: str, checksum: str | None = None, os_hash_algo: str | None = None,
               os_hash_value: str | None = None) -> str:
        """Local path of the image's data, downloading it if needed."""
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise ValueError(f"bad image id {image_id!r}")
        path = self.path_of(image_id)
        with self._lock(image_id):
            if os.path.exists(path):
                return path
            os.makedirs(self.base_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.base_dir, prefix=f".{image_id}.")
            try:
                md5 = hashlib.md5(usedforsecurity=False)
                strong = hashlib.new(os_hash_algo) if os_hash_algo and os_hash_value else None
                with os.fdopen(fd, "wb") as f:
                    for block in self.client.download_image(image_id):
                        f.write(block)
                        md5.update(block)
                        if strong is not None:
                            strong.update(block)
                    f.flush()
                    os.fsync(f.fileno())
                if strong is not None and strong.hexdigest() != os_hash_value:
                    raise ImageVerifyError(f"image {image_id}: {os_hash_algo} mismatch")
                if checksum and md5.hexdigest() != checksum:
                    raise ImageVerifyError(f"image {image_id}: checksum mismatch")
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
                LOG.info("cached base image %s", image_id)
                return path
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise


def upload_snapshot(client, driver, uuid: str, image_id: str, work_dir: str) -> None:
    """Has the driver write a qcow2 of the instance's disk, then streams it to
    the Image service; the temporary file is removed in every case."""
    os.makedirs(work_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=work_dir, prefix=f".snap-{image_id}.", suffix=".qcow2")
    os.close(fd)
    try:
        driver.snapshot(uuid, tmp)
        client.upload_image(image_id, tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
