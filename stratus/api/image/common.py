"""Helpers shared by the Image API modules."""
from __future__ import annotations

import os

from stratus.common import errors
from stratus.db.models import image as m
from stratus.image import api as image_api
from stratus.image.store import ChunkStore

_STORES: dict[str, ChunkStore] = {}


def store(req) -> ChunkStore:
    """The chunk store of this server's configuration (one per process)."""
    root = req.conf.image.store_path or os.path.join(req.conf.state_path, "images")
    if root not in _STORES:
        _STORES[root] = ChunkStore(root)
    return _STORES[root]


def not_found(image_id: str) -> errors.NotFound:
    return errors.NotFound(f"No image found with ID {image_id}")


def visible_image(req, s, image_id: str | None = None) -> m.Image:
    """The image named in the path if the caller may see it, else 404."""
    image_id = image_id or req.path_params["image_id"]
    img = image_api.get_image(s, image_id, req.ctx)
    if img is None:
        raise not_found(image_id)
    return img


def target(img: m.Image, **extra) -> dict:
    return {"project_id": img.owner, "owner": img.owner, "visibility": img.visibility,
            **extra}


def authorize_owner(req, rule: str, img: m.Image) -> None:
    """Check a rule on an image the caller can see; 403 when not allowed."""
    req.authorize(rule, target(img))


def body_of(req, s, img: m.Image) -> dict:
    return image_api.image_dicts(s, [img])[0]
