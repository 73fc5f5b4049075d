"""Lab tests change the kernel (namespaces, bridges, processes): root only,
and only inside namespaces the tests create."""
from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() != 0:
        reason = "lab tests need root (network namespaces)"
    else:
        missing = [t for t in ("ip", "dnsmasq", "busybox") if shutil.which(t) is None]
        if missing:
            reason = f"lab tests need {', '.join(missing)}"
    if reason:
        here = os.path.dirname(__file__)
        for item in items:
            if str(item.fspath).startswith(here):
                item.add_marker(pytest.mark.skip(reason=reason))
