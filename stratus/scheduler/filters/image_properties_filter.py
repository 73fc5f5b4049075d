"""ImagePropertiesFilter: the host can run the image's architecture,
hypervisor type and VM mode (and hypervisor version), as upstream.

The image's ``architecture``/``hw_architecture``, ``hypervisor_type``/
``img_hv_type`` and ``vm_mode``/``hw_vm_mode`` are canonicalised (nova's
names: ``amd64`` -> ``x86_64``, ``xapi`` -> ``xen``, ``hv`` -> ``hvm``...;
see ``image_props``); ``[filter_scheduler]
image_properties_default_architecture`` stands in for a missing
architecture.  As nova:

* an image asking for none of the three passes everywhere (even with
  ``img_hv_requested_version``);
* a host advertising no ``supported_instances`` (agent stats) fails;
* otherwise the host passes when one of its ``[arch, hv_type, vm_mode]``
  triples contains every value the image asks for and, when both the image
  gives ``img_hv_requested_version`` (``">=2.0"``) and the host reports a
  hypervisor version, that version satisfies it.

An image property nova would reject (unknown architecture, malformed
version predicate) passes nowhere, with the problem as the reason.
"""
from __future__ import annotations

import numpy as np

from stratus.scheduler import image_props
from stratus.scheduler.filters.base import BaseHostFilter


def default_arch(conf) -> str | None:
    try:
        return conf.filter_scheduler.image_properties_default_architecture or None
    except AttributeError:
        return None


def supported(host) -> list[tuple[str, ...]]:
    out = []
    for entry in host.stats.get("supported_instances") or ():
        if isinstance(entry, (list, tuple)):
            out.append(tuple(str(v).lower() for v in entry))
    return out


class ImagePropertiesFilter(BaseHostFilter):
    name = "ImagePropertiesFilter"

    def _wanted(self, spec):
        """(canonical (arch, hv_type, vm_mode), error message or None)."""
        try:
            wanted = image_props.requested(spec.image_props, default_arch(self.conf))
            image_props.parse_predicate(spec.image_props.get("img_hv_requested_version") or
                                        ">=0")
        except ValueError as exc:
            return None, str(exc)
        return wanted, None

    @staticmethod
    def _passes(wanted, version_req, host) -> bool:
        if not any(wanted):
            return True
        for triple in supported(host):
            if all(w is None or w in triple for w in wanted):
                if image_props.version_satisfies(host.hypervisor_version, version_req):
                    return True
        return False

    def host_passes(self, host, spec) -> bool:
        return bool(self.filter_all([host], spec))

    def filter_all(self, hosts, spec):
        wanted, error = self._wanted(spec)
        if error:
            return []
        req = spec.image_props.get("img_hv_requested_version")
        return [h for h in hosts if self._passes(wanted, req, h)]

    def mask(self, cols, spec):
        wanted, error = self._wanted(spec)
        if error:
            return np.zeros(cols.n, np.bool_)
        return True if not any(wanted) else NotImplemented

    def reason(self, spec) -> str:
        wanted, error = self._wanted(spec)
        if error:
            return f"invalid image property: {error}"
        parts = [f"{k}={v}" for k, v in zip(("architecture", "hypervisor_type", "vm_mode"),
                                            wanted) if v]
        req = spec.image_props.get("img_hv_requested_version")
        if req:
            parts.append(f"hypervisor version {req}")
        return f"cannot run the image ({', '.join(parts)})"
