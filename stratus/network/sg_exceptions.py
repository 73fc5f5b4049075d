"""Security-group errors with upstream's type names (the ``type`` of the
``NeutronError`` body) and messages (neutron-lib ``exceptions/securitygroup``,
``port_security``, ``allowedaddresspairs``)."""
from __future__ import annotations

from stratus.common import errors


class SecurityGroupNotFound(errors.NotFound):
    def __init__(self, sg_id: str):
        super().__init__(f"Security group {sg_id} does not exist")


class SecurityGroupRuleNotFound(errors.NotFound):
    def __init__(self, rule_id: str):
        super().__init__(f"Security group rule {rule_id} does not exist")


class SecurityGroupInUse(errors.Conflict):
    def __init__(self, sg_id: str, reason: str = "in use"):
        super().__init__(f"Security Group {sg_id} {reason}.")


class SecurityGroupCannotRemoveDefault(errors.Conflict):
    def __init__(self):
        super().__init__("Insufficient rights for removing default security group.")


class SecurityGroupCannotUpdateDefault(errors.Conflict):
    def __init__(self):
        super().__init__("Updating default security group not allowed.")


class SecurityGroupDefaultAlreadyExists(errors.Conflict):
    def __init__(self):
        super().__init__("Default security group already exists.")


class SecurityGroupRuleExists(errors.Conflict):
    def __init__(self, rule_id: str):
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class SecurityGroupConflict(errors.Conflict):
    def __init__(self, reason: str):
        super().__init__(f"Error {reason} while attempting the operation.")


class SecurityGroupRuleInvalidProtocol(errors.BadRequest):
    def __init__(self, protocol, values):
        super().__init__(f"Security group rule protocol {protocol} not supported. Only "
                         f"protocol values {values} and integer representations [0 to 255] "
                         "are supported.")


class SecurityGroupRuleInvalidEtherType(errors.BadRequest):
    def __init__(self, ethertype):
        super().__init__(f"Security group rule for ethertype '{ethertype}' not supported. "
                         "Allowed values are ['IPv4', 'IPv6'].")


class SecurityGroupRuleInvalidDirection(errors.BadRequest):
    def __init__(self, direction):
        super().__init__(f"Invalid input for direction. Reason: '{direction}' is not in "
                         "['ingress', 'egress'].")


class SecurityGroupProtocolRequiredWithPorts(errors.BadRequest):
    def __init__(self):
        super().__init__("Must also specify protocol if port range is given.")


class SecurityGroupInvalidPortRange(errors.BadRequest):
    def __init__(self):
        super().__init__("For TCP/UDP protocols, port_range_min must be <= port_range_max")


class SecurityGroupInvalidPortValue(errors.BadRequest):
    def __init__(self, port):
        super().__init__(f"Invalid value for port {port}")


class SecurityGroupInvalidIcmpValue(errors.BadRequest):
    def __init__(self, field, attr, value):
        super().__init__(f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to "
                         "255.")


class SecurityGroupMissingIcmpType(errors.BadRequest):
    def __init__(self, value):
        super().__init__(f"ICMP code (port-range-max) {value} is provided but ICMP type "
                         "(port-range-min) is missing.")


class SecurityGroupInvalidProtocolForPort(errors.BadRequest):
    def __init__(self, protocol):
        super().__init__(f"Invalid protocol {protocol} for port range, only supported for "
                         "TCP, UDP, UDPLITE, SCTP and DCCP.")


class SecurityGroupRemoteGroupAndRemoteIpPrefix(errors.BadRequest):
    def __init__(self):
        super().__init__("Only remote_ip_prefix or remote_group_id may be provided.")


class SecurityGroupRuleParameterConflict(errors.BadRequest):
    def __init__(self, ethertype, cidr):
        super().__init__(f"Conflicting value ethertype {ethertype} for CIDR {cidr}")


class SecurityGroupEthertypeConflictWithProtocol(errors.BadRequest):
    def __init__(self, ethertype, protocol):
        super().__init__(f"Ethertype {ethertype} is not supported for protocol {protocol}.")


class PortSecurityAndIPRequiredForSecurityGroups(errors.BadRequest):
    def __init__(self):
        super().__init__("Port security must be enabled and port must have an IP address "
                         "in order to use security groups.")


class PortSecurityPortHasSecurityGroup(errors.Conflict):
    def __init__(self):
        super().__init__("Port has security group associated. Cannot disable port security "
                         "or IP address until security group is removed.")


class AddressPairAndPortSecurityRequired(errors.Conflict):
    def __init__(self):
        super().__init__("Port Security must be enabled in order to have allowed address "
                         "pairs on a port.")


class AllowedAddressPairExhausted(errors.BadRequest):
    def __init__(self, quota: int):
        super().__init__(f"The number of allowed address pair exceeds the maximum {quota}.")


class DuplicateAddressPairInRequest(errors.BadRequest):
    def __init__(self, mac, ip):
        super().__init__(f"Request contains duplicate address pair: mac_address {mac} "
                         f"ip_address {ip}.")
