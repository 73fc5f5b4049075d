"""Route modules and default policies of the resources half of the Compute
API (versions, flavors, keypairs, availability zones, aggregates, hypervisors,
services, quotas, limits, server groups).  Rule names are nova's, so an
operator's nova policy file reads the same."""
from __future__ import annotations

from stratus.api.compute import (aggregates, availability_zones, flavor_extras, flavors,
                                 hypervisors, keypairs, limits, quota_sets, server_groups,
                                 services, versions)
from stratus.api.compute import scheduler_explain

MODULES: list = [versions, flavors, flavor_extras, keypairs, quota_sets, limits,
                 availability_zones, aggregates, hypervisors, services, server_groups]
MODULES.append(scheduler_explain)   # Stratus extension (admin): explain a scheduling decision

ADMIN = "rule:admin_api"
OWNER = "rule:admin_or_owner"
ANY = ""
USER_OWNER = "rule:admin_api or user_id:%(user_id)s"

POLICY_DEFAULTS: dict[str, str] = {
    # Base rules (nova's names; the servers half defines the same ones).
    "context_is_admin": "role:admin",
    "admin_api": "is_admin:True",
    "admin_or_owner": "is_admin:True or project_id:%(project_id)s",
    # Flavors.
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-manage:update": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": ANY,
    "os_compute_api:os-flavor-extra-specs:show": ANY,
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    # Key pairs: the owner user (or an admin).
    "os_compute_api:os-keypairs:index": USER_OWNER,
    "os_compute_api:os-keypairs:create": USER_OWNER,
    "os_compute_api:os-keypairs:show": USER_OWNER,
    "os_compute_api:os-keypairs:delete": USER_OWNER,
    # Quotas and limits.
    "os_compute_api:os-quota-sets:show": OWNER,
    "os_compute_api:os-quota-sets:detail": OWNER,
    "os_compute_api:os-quota-sets:defaults": ANY,
    "os_compute_api:os-quota-sets:update": ADMIN,
    "os_compute_api:os-quota-sets:delete": ADMIN,
    "os_compute_api:os-quota-class-sets:show": "rule:admin_api or quota_class:%(quota_class)s",
    "os_compute_api:os-quota-class-sets:update": ADMIN,
    "os_compute_api:limits": ANY,
    "os_compute_api:limits:other_project": ADMIN,
    # Availability zones.
    "os_compute_api:os-availability-zone:list": ANY,
    "os_compute_api:os-availability-zone:detail": ADMIN,
    # Aggregates.
    "os_compute_api:os-aggregates:index": ADMIN,
    "os_compute_api:os-aggregates:create": ADMIN,
    "os_compute_api:os-aggregates:show": ADMIN,
    "os_compute_api:os-aggregates:update": ADMIN,
    "os_compute_api:os-aggregates:delete": ADMIN,
    "os_compute_api:os-aggregates:add_host": ADMIN,
    "os_compute_api:os-aggregates:remove_host": ADMIN,
    "os_compute_api:os-aggregates:set_metadata": ADMIN,
    # Hypervisors and services.
    "os_compute_api:os-hypervisors:list": ADMIN,
    "os_compute_api:os-hypervisors:list-detail": ADMIN,
    "os_compute_api:os-hypervisors:show": ADMIN,
    "os_compute_api:os-hypervisors:statistics": ADMIN,
    "os_compute_api:os-hypervisors:search": ADMIN,
    "os_compute_api:os-hypervisors:servers": ADMIN,
    "os_compute_api:os-services:list": ADMIN,
    "os_compute_api:os-services:update": ADMIN,
    "os_compute_api:os-services:delete": ADMIN,
    # Server groups.
    "os_compute_api:os-server-groups:create": OWNER,
    "os_compute_api:os-server-groups:index": OWNER,
    "os_compute_api:os-server-groups:index:all_projects": ADMIN,
    "os_compute_api:os-server-groups:show": OWNER,
    "os_compute_api:os-server-groups:delete": OWNER,
    # Stratus extension: explain a scheduling decision (docs/scheduler.md).
    "os_compute_api:os-scheduler-explain": ADMIN,
}
