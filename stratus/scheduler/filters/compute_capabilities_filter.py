"""ComputeCapabilitiesFilter: ``capabilities:`` scoped flavor extra specs must
match the host's capabilities.

As upstream: ``capabilities:a:b`` follows ``a`` on the host (a nova
HostState attribute name such as ``hypervisor_type``, ``free_ram_mb``,
``vcpus_total``, else a key of the agent-reported stats) then ``b`` inside
it (dicts, or JSON strings such as ``cpu_info``); the value, as a string,
must satisfy the requirement under the ``extra_specs_ops`` operators.  A
missing capability fails.  An unscoped key is checked the same way only when
the host has such an attribute or stat (backward compatibility); keys of
other scopes are ignored.
"""
from __future__ import annotations

from stratus.scheduler import extra_specs_ops, host_attrs
from stratus.scheduler.filters.base import BaseHostFilter

SCOPE = "capabilities"


class ComputeCapabilitiesFilter(BaseHostFilter):
    name = "ComputeCapabilitiesFilter"

    def host_passes(self, host, spec) -> bool:
        for key, req in spec.extra_specs.items():
            path = key.split(":")
            if len(path) == 1:
                if not (host_attrs.is_variable(key) or key in host.stats):
                    continue
            elif path[0] != SCOPE:
                continue
            else:
                path = path[1:]
            cap = host_attrs.lookup_path(host, path)
            if cap is None or not extra_specs_ops.match(str(cap), req):
                return False
        return True

    def mask(self, cols, spec):
        return True if not spec.extra_specs else NotImplemented

    def reason(self, spec) -> str:
        wanted = ", ".join(f"{k}={v}" for k, v in spec.extra_specs.items()
                           if k.startswith(SCOPE + ":") or ":" not in k)
        return f"host capabilities do not match the flavor's extra specs ({wanted})"
