"""EcuFilter: the host has enough unallocated compute units (ECU).

A host advertises ``ecu`` (agent option ``[compute] ecu``, or ``ecu_per_cpu``
x its CPUs); a flavor asks for ECUs with the extra spec ``stratus:ecu``
(whole instance) or ``stratus:ecus_per_vcpu`` (times its vCPUs, rounded up).
A request asking for none passes everywhere; one asking for some needs
``ecu - ecu_used >= asked``, so a host advertising no ECUs is filtered out
(the filter is strict, where the claim leaves such a host unlimited).
"""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class EcuFilter(BaseHostFilter):
    name = "EcuFilter"

    def host_passes(self, host, spec) -> bool:
        return spec.ecu <= 0 or host.free_ecu >= spec.ecu

    def mask(self, cols, spec):
        return True if spec.ecu <= 0 else cols.free_ecu >= spec.ecu

    def reason(self, spec) -> str:
        return f"needs {spec.ecu} unallocated ECU(s)"
