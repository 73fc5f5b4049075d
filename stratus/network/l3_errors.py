"""Neutron's L3 error types (neutron-lib ``exceptions/l3.py``): the class
name is the ``type`` of the ``NeutronError`` body and the messages are
upstream's, so clients and Tempest see what they expect."""
from __future__ import annotations

from stratus.common import errors


class RouterNotFound(errors.NotFound):
    def __init__(self, router_id: str):
        super().__init__(f"Router {router_id} could not be found")


class FloatingIPNotFound(errors.NotFound):
    def __init__(self, fip_id: str):
        super().__init__(f"Floating IP {fip_id} could not be found")


class BadRequest(errors.BadRequest):
    """Neutron's generic ``BadRequest``: 'Bad <resource> request: <msg>'."""

    def __init__(self, resource: str, msg: str):
        super().__init__(f"Bad {resource} request: {msg}")


class RouterInUse(errors.Conflict):
    def __init__(self, router_id: str, reason: str = "still has ports"):
        super().__init__(f"Router {router_id} {reason}")


class RouterInterfaceNotFound(errors.NotFound):
    def __init__(self, router_id: str, port_id: str):
        super().__init__(f"Router {router_id} does not have an interface with id {port_id}")


class RouterInterfaceNotFoundForSubnet(errors.NotFound):
    def __init__(self, router_id: str, subnet_id: str):
        super().__init__(f"Router {router_id} has no interface on subnet {subnet_id}")


class RouterInterfaceInUseByFloatingIP(errors.Conflict):
    def __init__(self, router_id: str, subnet_id: str):
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} "
                         "cannot be deleted, as it is required by one or more floating IPs.")


class RouterInterfaceInUseByRoute(errors.Conflict):
    def __init__(self, router_id: str, subnet_id: str):
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} "
                         "cannot be deleted, as it is required by one or more routes.")


class RouterExternalGatewayInUseByFloatingIp(errors.Conflict):
    def __init__(self, router_id: str, net_id: str):
        super().__init__(f"Gateway cannot be updated for router {router_id}, since a "
                         f"gateway to external network {net_id} is required by one or more "
                         "floating IPs.")


class ExternalGatewayForFloatingIPNotFound(errors.NotFound):
    def __init__(self, external_network_id: str, subnet_id: str, port_id: str):
        super().__init__(f"External network {external_network_id} is not reachable from "
                         f"subnet {subnet_id}.  Therefore, cannot associate Port {port_id} "
                         "with a Floating IP.")


class FloatingIPPortAlreadyAssociated(errors.Conflict):
    def __init__(self, fip_id, floating_ip, port_id, fixed_ip, net_id):
        super().__init__(f"Cannot associate floating IP {floating_ip} ({fip_id}) with port "
                         f"{port_id} using fixed IP {fixed_ip}, as that fixed IP already has "
                         f"a floating IP on external network {net_id}.")


class InvalidRoutes(errors.BadRequest):
    def __init__(self, routes, reason: str):
        super().__init__(f"Invalid format for routes: {routes}, {reason}")


class RoutesExhausted(errors.BadRequest):
    def __init__(self, router_id: str, quota: int):
        super().__init__(f"Unable to complete operation for {router_id}. The number of "
                         f"routes exceeds the maximum {quota}.")


class PortInUse(errors.Conflict):
    def __init__(self, port_id: str, net_id: str, device_id: str):
        super().__init__(f"Unable to complete operation on port {port_id} for network "
                         f"{net_id}. Port already has an attached device {device_id}.")


class IpAddressInUse(errors.Conflict):
    def __init__(self, net_id: str, ip: str):
        super().__init__(f"Unable to complete operation for network {net_id}. The IP "
                         f"address {ip} is in use.")


class L3PortInUse(errors.Conflict):
    """Router and floating IP ports are deleted through their owner only."""

    def __init__(self, port_id: str, device_owner: str):
        super().__init__(f"Port {port_id} cannot be deleted directly via the port API: has "
                         f"device owner {device_owner}.")
