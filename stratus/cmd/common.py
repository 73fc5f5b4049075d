"""Loading configuration for a command, with command-line overrides."""
from __future__ import annotations

import os

from stratus.common.config import Config


def load_config(args, state_dir: str | None = None, extra: dict | None = None,
                **api_overrides) -> Config:
    """``extra``: {group: {option: value}} set on top of the file (command-line
    options that are configuration, like ``stratus agent --tunnel-ip``)."""
    path = getattr(args, "config", None) or os.environ.get("STRATUS_CONFIG")
    overrides: dict = {g: dict(v) for g, v in (extra or {}).items()}
    if state_dir:
        overrides.setdefault("DEFAULT", {})["state_path"] = os.path.abspath(state_dir)
        candidate = os.path.join(state_dir, "stratus.conf")
        if not path and os.path.exists(candidate):
            path = candidate
    api = {k: v for k, v in api_overrides.items() if v is not None}
    if api:
        overrides["api"] = api
    return Config(path, overrides)


def overrides_of(conf: Config) -> dict:
    """The overrides to hand to worker processes so they see the same config."""
    return {"DEFAULT": {"state_path": conf.state_path},
            "api": {"bind_host": conf.api.bind_host, "bind_port": conf.api.bind_port}}
