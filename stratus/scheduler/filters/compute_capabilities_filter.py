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


_SKIP = object()     # an unscoped key the host has no attribute or stat for


def _checked(key: str) -> list[str] | None:
    """The capability path ``key`` checks, or None for another scope."""
    path = key.split(":")
    if len(path) == 1:
        return path
    return path[1:] if path[0] == SCOPE else None


def capability(host, key: str, path: list[str]):
    """What ``key`` reads of ``host`` (``_SKIP``: an unscoped key the host
    lacks, which is not checked)."""
    if len(path) == 1 and ":" not in key and not (
            host_attrs.is_variable(key) or key in host.stats):
        return _SKIP
    return host_attrs.lookup_path(host, path)


def _key_passes(host, key: str, path: list[str], req: str) -> bool:
    cap = capability(host, key, path)
    if cap is _SKIP:
        return True
    return cap is not None and extra_specs_ops.match(str(cap), req)


def _marker(value):
    return ("\0skip",) if value is _SKIP else value


class ComputeCapabilitiesFilter(BaseHostFilter):
    name = "ComputeCapabilitiesFilter"

    def host_passes(self, host, spec) -> bool:
        for key, req in spec.extra_specs.items():
            path = _checked(key)
            if path is not None and not _key_passes(host, key, path, req):
                return False
        return True

    def mask(self, cols, spec):
        """Per checked key, the hosts grouped by what the key reads of them
        (``Columns.partition``, kept up to date by the host cache), the
        requirement evaluated once per group."""
        keep = True
        for key, req in spec.extra_specs.items():
            path = _checked(key)
            if path is None:
                continue
            part = cols.partition(
                ("capability", key),
                lambda h, _k=key, _p=path: _marker(capability(h, _k, _p)))
            m = part.evaluate(lambda h, _k=key, _p=path, _r=req: _key_passes(h, _k, _p, _r))
            keep = m if keep is True else keep & m
        return keep

    def reason(self, spec) -> str:
        wanted = ", ".join(f"{k}={v}" for k, v in spec.extra_specs.items()
                           if k.startswith(SCOPE + ":") or ":" not in k)
        return f"host capabilities do not match the flavor's extra specs ({wanted})"
