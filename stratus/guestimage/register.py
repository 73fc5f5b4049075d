"""Registering the built guest image in the Image service, once per content.

``ensure_registered`` imports the qcow2 as a public image named
``[image] default_image`` (the importer reuses an active image with the same
name and content), then hides (``os_hidden``) older builds of the same name so
``--image stratus-guest`` stays unambiguous while servers booted from them
keep working."""
from __future__ import annotations

import logging
import os
import sys

from sqlalchemy import select

from stratus.guestimage import build as guest_build

LOG = logging.getLogger(__name__)
DISTRO = "stratus-guest"


def cache_dir_of(conf) -> str:
    return conf.image.guest_image_cache or guest_build.default_cache_dir()


def image_properties(manifest: dict | None) -> dict[str, str]:
    """Glance properties of a build (pure): how to boot it and what is in it."""
    props = {"os_distro": DISTRO, "os_type": "linux", "architecture": "x86_64",
             "hw_disk_bus": "virtio", "hw_vif_model": "virtio", "hw_cdrom_bus": "ide"}
    if manifest:
        for key in ("kernel_release", "busybox_version"):
            if manifest.get(key):
                props[f"stratus_{key}"] = str(manifest[key])[:255]
        if manifest.get("key"):
            props["stratus_build"] = manifest["key"]
    return props


def _hide_older(db, name: str, keep_id: str) -> list[str]:
    from stratus.db.models import image as m
    with db.session() as s:
        rows = s.scalars(select(m.Image).join(
            m.ImageProperty, m.ImageProperty.image_id == m.Image.id).where(
            m.Image.name == name, m.Image.id != keep_id, m.Image.os_hidden.is_(False),
            m.ImageProperty.name == "os_distro", m.ImageProperty.value == DISTRO)).all()
        for row in rows:
            row.os_hidden = True
        return [r.id for r in rows]


def ensure_registered(db, conf, path: str, manifest: dict | None = None) -> str:
    """Register ``path`` (a build's qcow2) unless already there; returns the image id."""
    from stratus.image.importer import import_file
    image_id = import_file(db, conf, name=conf.image.default_image, path=path,
                           disk_format="qcow2", container_format="bare", visibility="public",
                           properties=image_properties(manifest))
    hidden = _hide_older(db, conf.image.default_image, image_id)
    if hidden:
        LOG.info("hid older guest image(s) %s", ", ".join(hidden))
    return image_id


def registered(db, conf) -> str | None:
    """The id of the visible, active default image, or None."""
    from stratus.db.models import image as m
    with db.session() as s:
        return s.execute(select(m.Image.id).where(
            m.Image.name == conf.image.default_image, m.Image.status == "active",
            m.Image.os_hidden.is_(False)).limit(1)).scalar()


def register_at_start(db, conf) -> str | None:
    """``stratus up``/prepare: :func:`register_cached`, and a hint on stderr when
    the cloud has no default image; a failure is logged, never fatal."""
    try:
        image_id = register_cached(db, conf)
    except Exception:                   # the cloud still starts; say why there is no image
        LOG.exception("could not register the cached guest image")
        image_id = None
    if image_id is None:
        print(f"hint: no image {conf.image.default_image!r} is registered; run "
              "`stratus image build --register` (what `make up` does)", file=sys.stderr)
    return image_id


def register_cached(db, conf) -> str | None:
    """At server start: register the last build from the cache if there is one
    (never builds).  Returns the image id, or None when nothing is cached."""
    manifest = guest_build.current(cache_dir_of(conf))
    if not manifest or not os.path.exists(manifest["path"]):
        return registered(db, conf)
    return ensure_registered(db, conf, manifest["path"], manifest)
