"""The filter interface: a pure predicate over (HostState, RequestSpec).

A filter never reads the database or the clock; everything it needs is on
the host snapshot or the (resolved) request spec, so filters are unit-tested
as tables and can run over 10,000 hosts without I/O.  ``reason(spec)`` says,
for a "No valid host" fault or an explain report, what the removed hosts
lacked.
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

    def filter_all(self, hosts: Iterable[HostState], spec: RequestSpec) -> list[HostState]:
        return [h for h in hosts if self.host_passes(h, spec)]
