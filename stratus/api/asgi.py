"""ASGI entry for multi-worker serving (``stratus api --workers N``): each
worker process builds its own Runtime from the configuration named in
STRATUS_CONFIG (plus overrides passed through STRATUS_CONFIG_OVERRIDES)."""
from __future__ import annotations

import json
import os

from stratus.api.app import build_app
from stratus.api.runtime import Runtime
from stratus.common import log
from stratus.common.config import Config


def create_app():
    overrides = json.loads(os.environ.get("STRATUS_CONFIG_OVERRIDES") or "{}")
    conf = Config(os.environ.get("STRATUS_CONFIG") or None, overrides)
    log.setup(conf.DEFAULT.debug, conf.DEFAULT.log_file or None)
    return build_app(Runtime(conf))
