"""AggregateInstanceExtraSpecsFilter: the flavor's extra specs must match the
metadata of the host's aggregates.

As upstream: keys scoped ``aggregate_instance_extra_specs:`` and keys with
no scope at all are checked (any other scope, e.g. ``hw:`` or
``capabilities:``, is ignored); the aggregate values for the key
(comma-split, over all the host's aggregates) must exist and one of them
must satisfy the requirement under the ``extra_specs_ops`` operators.
"""
from __future__ import annotations

from stratus.scheduler import extra_specs_ops, host_attrs
from stratus.scheduler.filters.base import BaseHostFilter

SCOPE = "aggregate_instance_extra_specs"


def checked_specs(extra_specs) -> list[tuple[str, str]]:
    """(metadata key, requirement) pairs this filter checks."""
    out = []
    for key, req in extra_specs.items():
        scope, sep, rest = key.partition(":")
        if not sep:
            out.append((key, req))
        elif scope == SCOPE:
            out.append((rest, req))
    return out


class AggregateInstanceExtraSpecsFilter(BaseHostFilter):
    name = "AggregateInstanceExtraSpecsFilter"

    def host_passes(self, host, spec) -> bool:
        for key, req in checked_specs(spec.extra_specs):
            values = host_attrs.aggregate_values(host, key)
            if not values or not any(extra_specs_ops.match(v, req) for v in values):
                return False
        return True

    def mask(self, cols, spec):
        if not checked_specs(spec.extra_specs):
            return True
        return cols.by_aggregates(lambda h: self.host_passes(h, spec))

    def reason(self, spec) -> str:
        wanted = ", ".join(f"{k}={v}" for k, v in checked_specs(spec.extra_specs))
        return f"no aggregate metadata matching the flavor's extra specs ({wanted})"
