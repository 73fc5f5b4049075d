"""The filter interface: a pure predicate over (HostState, RequestSpec).

A filter never reads the database or the clock; everything it needs is on
the host snapshot or the (resolved) request spec, so filters are unit-tested
as tables and can run over 10,000 hosts without I/O.  ``reason(spec)`` says,
for a "No valid host" fault or an explain report, what the removed hosts
lacked.

Fast path (optional): :meth:`mask` answers for every row of a columnar view
(scheduler/columns.py) at once: a numpy bool array, ``True`` when every
host passes, or ``NotImplemented`` (the default) to be called per host on
the survivors of the others.  ``host_passes`` stays the single source of
truth: a mask must give exactly its answers (tests/unit/
test_scheduler_fast_path.py compares both over random hosts and specs).
"""
from __future__ import annotations

from typing import Any, Iterable

from stratus.scheduler.host_state import HostState
from stratus.scheduler.request import RequestSpec


class BaseHostFilter:
    """Subclasses set ``name`` to the upstream class name and implement
    :meth:`host_passes`; :meth:`reason` defaults to a generic phrase."""
    name = "BaseHostFilter"

    def __init__(self, conf: Any = None):
        self.conf = conf

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        raise NotImplementedError

    def reason(self, spec: RequestSpec) -> str:
        return "the host does not satisfy it"

    def mask(self, cols: Any, spec: RequestSpec) -> Any:
        """Vectorised ``host_passes`` over ``cols`` (see the module docstring)."""
        return NotImplemented

    def filter_all(self, hosts: Iterable[HostState], spec: RequestSpec) -> list[HostState]:
        return [h for h in hosts if self.host_passes(h, spec)]
