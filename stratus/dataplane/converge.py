"""What the device reconcilers (vxlan, vlan) share: the link settings a
device lacks (pure), and applying a list of changes so that one failure does
not stop the others."""
from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

LOG = logging.getLogger(__name__)


def link_settings(have: Any, want: dict) -> dict:
    """master / mtu / up that ``have`` (an observed device) lacks of ``want``."""
    link = {}
    if have.master != want["master"]:
        link["master"] = want["master"]
    if want["mtu"] and have.mtu != want["mtu"]:
        link["mtu"] = want["mtu"]
    if not have.up:
        link["up"] = True
    return link


def apply_all(ns: str, changes: Sequence, apply: Callable[[str, Any], None],
              what: str) -> list:
    """Apply every change (a failure is logged and retried on the next sync),
    then raise the first failure; returns ``changes``."""
    failed = None
    for c in changes:
        try:
            apply(ns, c)
        except Exception as exc:  # noqa: BLE001 - retried on the next sync
            LOG.warning("%s change %r failed: %s", what, c, exc)
            failed = failed or exc
    if failed is not None:
        raise failed
    return list(changes)
