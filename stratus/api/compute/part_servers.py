"""Route modules and default policies of this half of the Compute API."""
from __future__ import annotations

MODULES: list = []
POLICY_DEFAULTS: dict[str, str] = {}
