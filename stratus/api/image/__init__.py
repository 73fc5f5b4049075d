"""The Image service (Glance v2 API), mounted at /image.

At build time the chunk store is recovered once: uploads interrupted by a
previous crash go back to ``queued`` and unreferenced chunks are collected
(stratus/image/chunks.py ``recover``).
"""
from __future__ import annotations

import logging

from starlette.applications import Starlette

from stratus.api import errors as api_errors
from stratus.api.image import data, images, info, members, schemas, tags, versions
from stratus.api.image.policies import IMAGE_POLICY_DEFAULTS
from stratus.api.routing import http_exception_handler
from stratus.image import chunks
from stratus.image.store import ChunkStore

LOG = logging.getLogger(__name__)
SERVICE = api_errors.IMAGE
MODULES = [versions, images, data, tags, members, schemas, info]
POLICY_DEFAULTS = IMAGE_POLICY_DEFAULTS


def build(runtime) -> Starlette:
    runtime.register_policy(SERVICE, POLICY_DEFAULTS)
    try:
        chunks.recover(runtime.db, ChunkStore.from_conf(runtime.conf))
    except Exception:  # e.g. tables not migrated yet: the server still starts
        LOG.exception("image store recovery failed")
    routes = [r for mod in MODULES for r in mod.routes.routes(SERVICE)]
    handler = http_exception_handler(SERVICE)
    return Starlette(routes=routes, exception_handlers={404: handler, 405: handler})
