"""``/v2.0/extensions``: exactly the API extensions this service implements."""
from __future__ import annotations

from stratus.api.routing import RouteTable
from stratus.common import errors

routes = RouteTable()
UPDATED = "2024-01-01T00:00:00-00:00"
EXTENSIONS = [
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("external-net", "Neutron external network", "Adds external network attribute to network "
     "resource."),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external "
     "application"),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("port-security", "Port Security", "Provides port security"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("quotas", "Quota management support", "Expose functions for quotas management per "
     "tenant"),
    ("quota_details", "Quota details management support", "Expose functions for quotas "
     "usage statistics per project"),
    ("quota-check-limit", "Quota engine limit check", "Support for checking the resource "
     "usage before applying a new quota limit"),
    ("standard-attr-description", "standard-attr-description",
     "Extension to add descriptions to standard attributes"),
    ("standard-attr-revisions", "Resource revision numbers",
     "This extension will display the revision number of neutron resources."),
    ("standard-attr-timestamp", "Resource timestamps",
     "Adds created_at and updated_at fields to all Neutron resources that have Neutron "
     "standard attributes."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is "
     "enabled."),
]
EXTENSIONS += [  # L3 (stratus/api/network/routers.py, floating_ips.py)
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
     "Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
     "Extension of the router abstraction for specifying whether SNAT should occur on the "
     "external gateway"),
    ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    ("extraroute-atomic", "Atomically add/remove extra routes",
     "Edit extra routes of a router on server side by atomically adding/removing extra "
     "routes"),
]

EXTENSIONS += [  # security groups (stratus/api/network/security_groups.py)
    ("security-group", "security-group", "The security groups extension."),
    ("stateful-security-group", "Stateful security group",
     "Indicates if the security group is stateful or not"),
]

EXTENSIONS += [  # QoS (stratus/api/network/qos.py)
    ("qos", "Quality of Service", "The Quality of Service extension."),
    ("qos-bw-limit-direction", "Direction for QoS bandwidth limit rule",
     "Allow to configure QoS bandwidth limit rule with specific direction: ingress or "
     "egress"),
    ("qos-default", "QoS default policy", "Expose the QoS default policy per project"),
    ("qos-rule-type-details", "Details of QoS rule types",
     "Expose details about QoS rule types supported by loaded backend drivers"),
]

EXTENSIONS += [  # availability zones (stratus/api/network/availability_zones.py)
    ("availability_zone", "Availability Zone", "The availability zone extension."),
    ("availability_zone_filter", "Availability Zone Filter Extension",
     "Add filter parameters to AvailabilityZone resource"),
    ("network_availability_zone", "Network Availability Zone",
     "Availability zone support for network."),
    ("router_availability_zone", "Router Availability Zone",
     "Availability zone support for router."),
]


def _doc(alias, name, description):
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED,
            "links": []}


@routes.get("/v2.0/extensions")
def list_extensions(req):
    return {"extensions": [_doc(*e) for e in EXTENSIONS]}


@routes.get("/v2.0/extensions/{alias}")
def show_extension(req):
    alias = req.path_params["alias"]
    for e in EXTENSIONS:
        if e[0] == alias:
            return {"extension": _doc(*e)}
    raise errors.NotFound(f"Extension with alias {alias} does not exist")
