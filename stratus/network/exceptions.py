"""Neutron's error types.  The class name is the ``type`` of the
``NeutronError`` body (stratus/api/errors.py), so clients that match on it
(openstacksdk, Tempest) see the names upstream uses."""
from __future__ import annotations

from stratus.common import errors
from stratus.network.ipam import (HTTPBadRequest, InvalidInput, InvalidIpForSubnet,  # noqa: F401
                                  IpAddressAlreadyAllocated,
                                  IpAddressGenerationFailure)


class NetworkNotFound(errors.NotFound):
    def __init__(self, network_id: str):
        super().__init__(f"Network {network_id} could not be found.")


class SubnetNotFound(errors.NotFound):
    def __init__(self, subnet_id: str):
        super().__init__(f"Subnet {subnet_id} could not be found.")


class PortNotFound(errors.NotFound):
    def __init__(self, port_id: str):
        super().__init__(f"Port {port_id} could not be found.")


class NetworkInUse(errors.Conflict):
    def __init__(self, network_id: str):
        super().__init__(f"Unable to complete operation on network {network_id}. "
                         "There are one or more ports still in use on the network.")


class SubnetInUse(errors.Conflict):
    def __init__(self, subnet_id: str):
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: "
                         "One or more ports have an IP allocation from this subnet.")


class MacAddressInUse(errors.Conflict):
    def __init__(self, mac: str, network_id: str):
        super().__init__(f"Unable to complete operation for network {network_id}. "
                         f"The mac address {mac} is in use.")


class OverQuota(errors.Conflict):
    def __init__(self, resource: str, limit: int):
        super().__init__(f"Quota exceeded for resources: ['{resource}'] "
                         f"(limit {limit}).")


class NoNetworkAvailable(errors.ServiceUnavailable):
    def __init__(self):
        super().__init__("Unable to create the network. No tenant network is available "
                         "for allocation.")
