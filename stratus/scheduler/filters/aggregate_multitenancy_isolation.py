"""AggregateMultiTenancyIsolation: a host in an aggregate with
``filter_tenant_id`` metadata (or ``filter_tenant_id_<anything>``, to list
more projects than one value holds; values may be comma-separated) only
takes instances of those projects.  Hosts without such metadata take
anyone, as upstream (isolation, not exclusivity for the other projects).
"""
from __future__ import annotations

from stratus.scheduler import host_attrs
from stratus.scheduler.filters.base import BaseHostFilter

PREFIX = "filter_tenant_id"


def allowed_projects(host) -> set[str]:
    out: set[str] = set()
    for key in host.aggregate_metadata:
        if key.startswith(PREFIX):
            out.update(host_attrs.aggregate_values(host, key))
    out.discard("")
    return out


class AggregateMultiTenancyIsolation(BaseHostFilter):
    name = "AggregateMultiTenancyIsolation"

    def host_passes(self, host, spec) -> bool:
        allowed = allowed_projects(host)
        return not allowed or spec.project_id in allowed

    def mask(self, cols, spec):
        return cols.by_aggregates(lambda h: self.host_passes(h, spec))

    def reason(self, spec) -> str:
        return f"in an aggregate isolated to other projects than {spec.project_id}"
