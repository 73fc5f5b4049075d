"""Default policy of the Network (Neutron v2.0) API, with upstream's rule names.

Reads are filtered in SQL by visibility (own project, shared and external
networks, admins see all) and an invisible resource is a 404, as upstream.
Writes need ``admin_or_owner`` on the target ``{"project_id": ...}``;
attributes upstream reserves for admins (``shared``, ``router:external``,
``provider:*``, ``binding:*``) are refused to others by the attribute maps.
Operators may override any rule in the policy file."""
from __future__ import annotations

ADMIN_OR_OWNER = "rule:admin_or_owner"

NETWORK_POLICY_DEFAULTS = {
    "context_is_admin": "role:admin",
    "admin_only": "rule:context_is_admin",
    "admin_or_owner": "rule:context_is_admin or project_id:%(project_id)s",
    "create_network": "",
    "update_network": ADMIN_OR_OWNER,
    "delete_network": ADMIN_OR_OWNER,
    "create_subnet": ADMIN_OR_OWNER,   # target: the network
    "update_subnet": ADMIN_OR_OWNER,
    "delete_subnet": ADMIN_OR_OWNER,
    "create_port": "",
    # A fixed IP or MAC of one's choosing: admins and the network's owner.
    "create_port:fixed_ips:ip_address": ADMIN_OR_OWNER,   # target: the network
    "create_port:mac_address": ADMIN_OR_OWNER,             # target: the network
    "update_port": ADMIN_OR_OWNER,
    "delete_port": ADMIN_OR_OWNER,
    "get_quota": ADMIN_OR_OWNER,
    # Security groups (reads are filtered by project in SQL, as the others).
    "create_security_group": ADMIN_OR_OWNER,
    "update_security_group": ADMIN_OR_OWNER,
    "delete_security_group": ADMIN_OR_OWNER,
    "create_security_group_rule": ADMIN_OR_OWNER,   # target: the group
    "update_security_group_rule": ADMIN_OR_OWNER,
    "delete_security_group_rule": ADMIN_OR_OWNER,
}
