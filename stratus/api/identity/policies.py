"""Default policy of the Identity (Keystone v3) API.

Rule names are upstream Keystone's (``keystone/common/policies/*.py``); the defaults
keep upstream's semantics for a cloud that does not enforce token scope (Keystone's
``[oslo_policy] enforce_scope = False``), with the convoluted parts simplified:

* ``admin`` on any scope may do everything (``rule:admin_required``), except create an
  application credential for someone else (upstream forbids that even to admins:
  an application credential carries its creator's roles);
* ``reader`` on the system (``system_scope: all``) may read everything;
* ``reader`` on a domain may read that domain's projects, users, groups and grants;
* any user may read their own project, domain, user, group memberships, credentials,
  application credentials and tokens, the regions and the catalog, may change their
  own password and manage their own credentials and application credentials;
* nothing else writes.  Upstream's domain ``manager`` persona (2024.2+) is left out:
  here only admins create users, groups, projects, domains or grants.  An operator
  can add it back with a policy file.

Targets.  A caller passes ``target`` (the resources the call acts on, loaded from the
database *before* the check) and, at the top level, the URL path parameters, exactly
as upstream's RBAC enforcer does before flattening to dotted keys::

    engine.enforce("identity:get_project", {"target": {"project": project}}, creds)
    engine.enforce("identity:get_application_credential", {"user_id": ac["user_id"]}, creds)

Each entry below records the target shape its check string reads (fields beyond the
ones named may be present).  A key that is missing makes its check False, so
forgetting a target denies rather than allows.  ``creds["roles"]`` must already include
implied roles (admin => member => reader), as Keystone tokens do.
"""
from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
    name: str
    check_str: str
    description: str
    target: str  # the target shape the caller must pass


# Building blocks, spelled out so each table row reads on its own.
ADMIN = "rule:admin_required"
ADMIN_OR_READER = "rule:admin_or_system_reader"  # admin anywhere, or system reader


def _domain_reader(key: str) -> str:
    """Reader on the domain given by target key ``key`` (a domain-scoped token)."""
    return f"(role:reader and domain_id:%({key})s)"


def _or(*checks: str) -> str:
    return " or ".join(checks)


PROJECT = "{'target': {'project': <project: id, domain_id>}}"
PROJECT_NEW = "{'target': {'project': <request body project: domain_id, ...>}}"
USER = "{'target': {'user': <user: id, domain_id>}}"
GROUP = "{'target': {'group': <group: id, domain_id>}}"
GROUP_USER = "{'target': {'group': <group: id, domain_id>, 'user': <user: id, domain_id>}}"
DOMAIN = "{'target': {'domain': <domain: id>}}"
LIST_SCOPE = "{'target': {'domain_id': <domain_id of a domain-scoped token, else absent>}}"
GRANT = ("{'target': {'project': <project> | 'domain': <domain>, "
         "'user': <user> | 'group': <group>, 'role': <role: id, domain_id (None if global)>}}")
CREDENTIAL = "{'target': {'credential': <credential: user_id, ...>}}"
APP_CRED = ("{'user_id': <owner: the URL's user_id for list/create; the stored "
            "application credential's user_id for get/delete>}")
TOKEN = "{'target': {'token': {'user_id': <user of the X-Subject-Token>}}}"
NONE = "{} (no target needed)"

OWN_USER = "user_id:%(target.user.id)s"
OWN_CREDENTIAL = "user_id:%(target.credential.user_id)s"
GRANT_DOMAIN_READER = (  # upstream's four reader cases, factored
    "(role:reader"
    " and (domain_id:%(target.user.domain_id)s or domain_id:%(target.group.domain_id)s)"
    " and (domain_id:%(target.project.domain_id)s or domain_id:%(target.domain.id)s))"
)

RULES: list[Rule] = [
    # -- base rules, referenced by the others as rule:NAME ---------------------------
    Rule("admin_required", "role:admin or is_admin:True", "Administrator, any scope.", NONE),
    Rule("service_role", "role:service", "A service user (e.g. another API's service account).", NONE),
    Rule("service_or_admin", "rule:admin_required or rule:service_role", "Service user or administrator.", NONE),
    Rule("system_reader", "role:reader and system_scope:all", "Reader on the whole system.", NONE),
    Rule("admin_or_system_reader", "rule:admin_required or rule:system_reader",
         "Administrator, or reader on the whole system.", NONE),
    Rule("owner", "user_id:%(user_id)s", "The user named in the URL is the caller.",
         "{'user_id': <user id>}"),
    Rule("admin_or_owner", "rule:admin_required or rule:owner", "Administrator or owner.",
         "{'user_id': <user id>}"),
    Rule("token_subject", "user_id:%(target.token.user_id)s",
         "The token being inspected belongs to the caller.", TOKEN),
    Rule("admin_or_token_subject", "rule:admin_required or rule:token_subject",
         "Administrator, or the subject token's own user.", TOKEN),
    Rule("service_admin_or_token_subject", "rule:service_or_admin or rule:token_subject",
         "Service user, administrator, or the subject token's own user.", TOKEN),

    # -- projects (/v3/projects) -----------------------------------------------------
    Rule("identity:get_project",
         _or(ADMIN_OR_READER, _domain_reader("target.project.domain_id"), "project_id:%(target.project.id)s"),
         "Show project details.", PROJECT),
    Rule("identity:list_projects", _or(ADMIN_OR_READER, _domain_reader("target.domain_id")),
         "List projects.", LIST_SCOPE),
    Rule("identity:list_user_projects",
         _or(ADMIN_OR_READER, _domain_reader("target.user.domain_id"), OWN_USER),
         "List projects for user (GET /v3/users/{user_id}/projects).", USER),
    Rule("identity:create_project", ADMIN, "Create project.", PROJECT_NEW),
    Rule("identity:update_project", ADMIN, "Update project.", PROJECT),
    Rule("identity:delete_project", ADMIN, "Delete project.", PROJECT),
    # project tags (/v3/projects/{project_id}/tags)
    Rule("identity:list_project_tags",
         _or(ADMIN_OR_READER, _domain_reader("target.project.domain_id"), "project_id:%(target.project.id)s"),
         "List tags for a project.", PROJECT),
    Rule("identity:get_project_tag",
         _or(ADMIN_OR_READER, _domain_reader("target.project.domain_id"), "project_id:%(target.project.id)s"),
         "Check if project contains a tag.", PROJECT),
    Rule("identity:update_project_tags", ADMIN, "Replace all tags on a project with the new set of tags.", PROJECT),
    Rule("identity:create_project_tag", ADMIN, "Add a single tag to a project.", PROJECT),
    Rule("identity:delete_project_tags", ADMIN, "Remove all tags from a project.", PROJECT),
    Rule("identity:delete_project_tag", ADMIN, "Delete a specified tag from project.", PROJECT),

    # -- domains (/v3/domains) -------------------------------------------------------
    # Upstream: anyone whose token is scoped to the domain or to a project in it.
    Rule("identity:get_domain",
         _or(ADMIN_OR_READER, "domain_id:%(target.domain.id)s", "project_domain_id:%(target.domain.id)s"),
         "Show domain details.", DOMAIN),
    Rule("identity:list_domains", _or(ADMIN_OR_READER, _domain_reader("target.domain.id")),
         "List domains.", "{'target': {'domain': {'id': <domain_id of a domain-scoped token>}}} or {}"),
    Rule("identity:create_domain", ADMIN, "Create domain.", "{'target': {'domain': <request body domain>}}"),
    Rule("identity:update_domain", ADMIN, "Update domain.", DOMAIN),
    Rule("identity:delete_domain", ADMIN, "Delete domain.", DOMAIN),

    # -- users (/v3/users) -----------------------------------------------------------
    Rule("identity:get_user", _or(ADMIN_OR_READER, _domain_reader("target.user.domain_id"), OWN_USER),
         "Show user details.", USER),
    Rule("identity:list_users", _or(ADMIN_OR_READER, _domain_reader("target.domain_id")),
         "List users.", LIST_SCOPE),
    Rule("identity:create_user", ADMIN, "Create a user.", "{'target': {'user': <request body user: domain_id, ...>}}"),
    Rule("identity:update_user", ADMIN, "Update a user, including administrative password resets.", USER),
    Rule("identity:delete_user", ADMIN, "Delete a user.", USER),
    # Not in upstream (its change-password API is unenforced and requires the
    # original password, which the handler must still verify).
    Rule("identity:change_password", _or(ADMIN, OWN_USER),
         "Change a user's own password (POST /v3/users/{user_id}/password).", USER),
    # Upstream's older names for GET /v3/auth/projects and /v3/auth/domains.
    Rule("identity:list_projects_for_user", "",
         "List all projects a user has access to via role assignments.", NONE),
    Rule("identity:list_domains_for_user", "",
         "List all domains a user has access to via role assignments.", NONE),

    # -- groups (/v3/groups) ---------------------------------------------------------
    Rule("identity:get_group", _or(ADMIN_OR_READER, _domain_reader("target.group.domain_id")),
         "Show group details.", GROUP),
    Rule("identity:list_groups", _or(ADMIN_OR_READER, _domain_reader("target.group.domain_id")),
         "List groups.", "{'target': {'group': {'domain_id': <domain_id filter>}}} or {}"),
    Rule("identity:list_groups_for_user",
         _or(ADMIN_OR_READER, _domain_reader("target.user.domain_id"), OWN_USER),
         "List groups to which a user belongs.", USER),
    Rule("identity:create_group", ADMIN, "Create group.", "{'target': {'group': <request body group>}}"),
    Rule("identity:update_group", ADMIN, "Update group.", GROUP),
    Rule("identity:delete_group", ADMIN, "Delete group.", GROUP),
    Rule("identity:list_users_in_group", _or(ADMIN_OR_READER, _domain_reader("target.group.domain_id")),
         "List members of a specific group.", GROUP),
    Rule("identity:check_user_in_group",
         _or(ADMIN_OR_READER, "(role:reader and domain_id:%(target.group.domain_id)s"
                              " and domain_id:%(target.user.domain_id)s)"),
         "Check whether a user is a member of a group.", GROUP_USER),
    Rule("identity:add_user_to_group", ADMIN, "Add user to group.", GROUP_USER),
    Rule("identity:remove_user_from_group", ADMIN, "Remove user from group.", GROUP_USER),

    # -- roles (/v3/roles); domain-specific roles have a domain_id -------------------
    Rule("identity:get_role", ADMIN_OR_READER, "Show role details.", "{'target': {'role': <role>}}"),
    Rule("identity:list_roles", ADMIN_OR_READER, "List roles.", NONE),
    Rule("identity:create_role", ADMIN, "Create role.", "{'target': {'role': <request body role>}}"),
    Rule("identity:update_role", ADMIN, "Update role.", "{'target': {'role': <role>}}"),
    Rule("identity:delete_role", ADMIN, "Delete role.", "{'target': {'role': <role>}}"),
    Rule("identity:get_domain_role", ADMIN_OR_READER, "Show domain role.", "{'target': {'role': <role>}}"),
    Rule("identity:list_domain_roles", ADMIN_OR_READER, "List domain roles.", NONE),
    Rule("identity:create_domain_role", ADMIN, "Create domain role.", "{'target': {'role': <request body role>}}"),
    Rule("identity:update_domain_role", ADMIN, "Update domain role.", "{'target': {'role': <role>}}"),
    Rule("identity:delete_domain_role", ADMIN, "Delete domain role.", "{'target': {'role': <role>}}"),

    # -- implied roles (/v3/roles/{prior_role_id}/implies, /v3/role_inferences) -----
    Rule("identity:get_implied_role", ADMIN_OR_READER,
         "Get information about an association between two roles.", NONE),
    Rule("identity:list_implied_roles", ADMIN_OR_READER,
         "List the roles implied by a prior role.", NONE),
    Rule("identity:list_role_inference_rules", ADMIN_OR_READER,
         "List all associations between two roles in the system.", NONE),
    Rule("identity:check_implied_role", ADMIN_OR_READER, "Check an association between two roles.", NONE),
    Rule("identity:create_implied_role", ADMIN, "Create an association between two roles.", NONE),
    Rule("identity:delete_implied_role", ADMIN, "Delete the association between two roles.", NONE),

    # -- grants (/v3/{projects,domains}/{id}/{users,groups}/{id}/roles[/{role_id}],
    #    and the same under /v3/OS-INHERIT/.../inherited_to_projects) ---------------
    Rule("identity:check_grant",
         _or(ADMIN_OR_READER, f"({GRANT_DOMAIN_READER} and (domain_id:%(target.role.domain_id)s"
                              " or None:%(target.role.domain_id)s))"),
         "Check a role grant between a target (project or domain) and an actor (user or group).", GRANT),
    Rule("identity:list_grants", _or(ADMIN_OR_READER, GRANT_DOMAIN_READER),
         "List roles granted to an actor (user or group) on a target (project or domain).",
         GRANT.replace(", 'role': <role: id, domain_id (None if global)>", "")),
    Rule("identity:create_grant", ADMIN,
         "Create a role grant between a target (project or domain) and an actor (user or group).", GRANT),
    Rule("identity:revoke_grant", ADMIN,
         "Revoke a role grant between a target (project or domain) and an actor (user or group).", GRANT),
    # system grants (/v3/system/{users,groups}/{id}/roles[/{role_id}])
    Rule("identity:list_system_grants_for_user", ADMIN_OR_READER,
         "List all grants a specific user has on the system.", NONE),
    Rule("identity:check_system_grant_for_user", ADMIN_OR_READER, "Check if a user has a role on the system.", NONE),
    Rule("identity:create_system_grant_for_user", ADMIN, "Grant a user a role on the system.", NONE),
    Rule("identity:revoke_system_grant_for_user", ADMIN, "Remove a role from a user on the system.", NONE),
    Rule("identity:list_system_grants_for_group", ADMIN_OR_READER,
         "List all grants a specific group has on the system.", NONE),
    Rule("identity:check_system_grant_for_group", ADMIN_OR_READER, "Check if a group has a role on the system.", NONE),
    Rule("identity:create_system_grant_for_group", ADMIN, "Grant a group a role on the system.", NONE),
    Rule("identity:revoke_system_grant_for_group", ADMIN, "Remove a role from a group on the system.", NONE),

    # -- role assignments (/v3/role_assignments) -------------------------------------
    Rule("identity:list_role_assignments", _or(ADMIN_OR_READER, _domain_reader("target.domain_id")),
         "List role assignments.", LIST_SCOPE),
    Rule("identity:list_role_assignments_for_tree", _or(ADMIN_OR_READER, _domain_reader("target.domain_id")),
         "List all role assignments for a given tree of hierarchical projects (?include_subtree).",
         "{'target': {'project': <project>, 'domain_id': <the project's domain_id>}}"),

    # -- regions, services, endpoints (the catalog) ----------------------------------
    Rule("identity:get_region", "", "Show region details.", NONE),
    Rule("identity:list_regions", "", "List regions.", NONE),
    Rule("identity:create_region", ADMIN, "Create region.", NONE),
    Rule("identity:update_region", ADMIN, "Update region.", NONE),
    Rule("identity:delete_region", ADMIN, "Delete region.", NONE),
    Rule("identity:get_service", ADMIN_OR_READER, "Show service details.", NONE),
    Rule("identity:list_services", ADMIN_OR_READER, "List services.", NONE),
    Rule("identity:create_service", ADMIN, "Create service.", NONE),
    Rule("identity:update_service", ADMIN, "Update service.", NONE),
    Rule("identity:delete_service", ADMIN, "Delete service.", NONE),
    Rule("identity:get_endpoint", ADMIN_OR_READER, "Show endpoint details.", NONE),
    Rule("identity:list_endpoints", ADMIN_OR_READER, "List endpoints.", NONE),
    Rule("identity:create_endpoint", ADMIN, "Create endpoint.", NONE),
    Rule("identity:update_endpoint", ADMIN, "Update endpoint.", NONE),
    Rule("identity:delete_endpoint", ADMIN, "Delete endpoint.", NONE),

    # -- credentials (/v3/credentials); list passes the caller's own user_id when
    #    not filtering, as upstream does ----------------------------------------------
    Rule("identity:get_credential", _or(ADMIN_OR_READER, OWN_CREDENTIAL), "Show credentials details.", CREDENTIAL),
    Rule("identity:list_credentials", _or(ADMIN_OR_READER, OWN_CREDENTIAL), "List credentials.",
         "{'target': {'credential': {'user_id': <user_id filter, else the caller's>}}}"),
    Rule("identity:create_credential", _or(ADMIN, OWN_CREDENTIAL), "Create credential.",
         "{'target': {'credential': <request body credential: user_id, ...>}}"),
    Rule("identity:update_credential", _or(ADMIN, OWN_CREDENTIAL), "Update credential.",
         "{'target': {'credential': <stored credential merged with the update>}}"),
    Rule("identity:delete_credential", _or(ADMIN, OWN_CREDENTIAL), "Delete credential.", CREDENTIAL),

    # -- policies (the v3 /policies blob store; unrelated to this engine) ------------
    Rule("identity:get_policy", ADMIN_OR_READER, "Show policy details.", NONE),
    Rule("identity:list_policies", ADMIN_OR_READER, "List policies.", NONE),
    Rule("identity:create_policy", ADMIN, "Create policy.", NONE),
    Rule("identity:update_policy", ADMIN, "Update policy.", NONE),
    Rule("identity:delete_policy", ADMIN, "Delete policy.", NONE),

    # -- OS-TRUST (/v3/OS-TRUST/trusts); target {'target': {'trust': <trust>}} --------
    Rule("identity:create_trust", "user_id:%(target.trust.trustor_user_id)s",
         "Create a trust (only the trustor, for itself).", "{'target': {'trust': trust}}"),
    Rule("identity:list_trusts", ADMIN_OR_READER, "List every trust.", NONE),
    Rule("identity:list_trusts_for_trustor",
         _or(ADMIN_OR_READER, "user_id:%(target.trust.trustor_user_id)s"),
         "List the trusts a user granted.", "{'target': {'trust': {'trustor_user_id'}}}"),
    Rule("identity:list_trusts_for_trustee",
         _or(ADMIN_OR_READER, "user_id:%(target.trust.trustee_user_id)s"),
         "List the trusts granted to a user.", "{'target': {'trust': {'trustee_user_id'}}}"),
    Rule("identity:get_trust", _or(ADMIN_OR_READER, "user_id:%(target.trust.trustor_user_id)s",
                                   "user_id:%(target.trust.trustee_user_id)s"),
         "Show a trust (trustor, trustee or reader).", "{'target': {'trust': trust}}"),
    Rule("identity:list_roles_for_trust", "rule:identity:get_trust",
         "List the roles a trust delegates.", "{'target': {'trust': trust}}"),
    Rule("identity:get_role_for_trust", "rule:identity:get_trust",
         "Show or check one delegated role.", "{'target': {'trust': trust}}"),
    Rule("identity:delete_trust", _or(ADMIN, "user_id:%(target.trust.trustor_user_id)s"),
         "Delete a trust (trustor or admin).", "{'target': {'trust': trust}}"),

    # -- OS-EC2 (/v3/users/{user_id}/credentials/OS-EC2) -----------------------------
    Rule("identity:ec2_create_credential", _or(ADMIN, "user_id:%(user_id)s"),
         "Create an EC2 credential (for oneself).", "{'user_id': <URL user>}"),
    Rule("identity:ec2_list_credentials", _or(ADMIN_OR_READER, "user_id:%(user_id)s"),
         "List a user's EC2 credentials.", "{'user_id': <URL user>}"),
    Rule("identity:ec2_get_credential", _or(ADMIN_OR_READER,
                                            "user_id:%(target.credential.user_id)s"),
         "Show an EC2 credential.", "{'target': {'credential': {'user_id'}}}"),
    Rule("identity:ec2_delete_credential", _or(ADMIN, "user_id:%(target.credential.user_id)s"),
         "Delete an EC2 credential.", "{'target': {'credential': {'user_id'}}}"),

    # -- domain configuration (/v3/domains/{domain_id}/config) ----------------------
    Rule("identity:create_domain_config", ADMIN, "Create domain configuration.", NONE),
    Rule("identity:get_domain_config", ADMIN_OR_READER, "Show domain configuration.", NONE),
    Rule("identity:update_domain_config", ADMIN, "Update domain configuration.", NONE),
    Rule("identity:delete_domain_config", ADMIN, "Delete domain configuration.", NONE),
    Rule("identity:get_domain_config_default", ADMIN_OR_READER,
         "Show the default domain configuration.", NONE),

    # -- OS-EP-FILTER endpoint groups and OS-OAUTH1 consumers --------------------------
    Rule("identity:create_endpoint_group", ADMIN, "Create endpoint group.", NONE),
    Rule("identity:list_endpoint_groups", ADMIN_OR_READER, "List endpoint groups.", NONE),
    Rule("identity:get_endpoint_group", ADMIN_OR_READER, "Show endpoint group.", NONE),
    Rule("identity:update_endpoint_group", ADMIN, "Update endpoint group.", NONE),
    Rule("identity:delete_endpoint_group", ADMIN, "Delete endpoint group.", NONE),
    Rule("identity:create_consumer", ADMIN, "Create OAuth1 consumer.", NONE),
    Rule("identity:list_consumers", ADMIN_OR_READER, "List OAuth1 consumers.", NONE),
    Rule("identity:get_consumer", ADMIN_OR_READER, "Show OAuth1 consumer.", NONE),
    Rule("identity:update_consumer", ADMIN, "Update OAuth1 consumer.", NONE),
    Rule("identity:delete_consumer", ADMIN, "Delete OAuth1 consumer.", NONE),

    # -- application credentials (/v3/users/{user_id}/application_credentials) -------
    # For get/delete, user_id must be the stored credential's owner, never the URL's:
    # otherwise anyone could read another user's credential by putting their own id in
    # the URL (upstream's _update_request_user_id_attribute).
    Rule("identity:get_application_credential", "rule:admin_or_system_reader or rule:owner",
         "Show application credential details.", APP_CRED),
    Rule("identity:list_application_credentials", "rule:admin_or_system_reader or rule:owner",
         "List application credentials for a user.", APP_CRED),
    Rule("identity:create_application_credential", "rule:owner",
         "Create an application credential (only for oneself, even for admins).", APP_CRED),
    Rule("identity:delete_application_credential", "rule:admin_or_owner",
         "Delete an application credential.", APP_CRED),
    # access rules of application credentials (/v3/users/{user_id}/access_rules)
    Rule("identity:get_access_rule", _or(ADMIN_OR_READER, OWN_USER), "Show access rule details.", USER),
    Rule("identity:list_access_rules", _or(ADMIN_OR_READER, OWN_USER), "List access rules for a user.", USER),
    Rule("identity:delete_access_rule", _or(ADMIN, OWN_USER), "Delete an access rule.", USER),

    # -- tokens (/v3/auth/tokens, the subject token is in X-Subject-Token) -----------
    Rule("identity:check_token", "rule:admin_or_system_reader or rule:token_subject",
         "Check a token (HEAD).", TOKEN),
    Rule("identity:validate_token",
         "rule:admin_or_system_reader or rule:service_role or rule:token_subject",
         "Validate a token (GET).", TOKEN),
    Rule("identity:revoke_token", "rule:admin_or_token_subject", "Revoke a token (DELETE).", TOKEN),

    # -- /v3/auth/*: what the caller's own token can reach ----------------------------
    Rule("identity:get_auth_catalog", "", "Get service catalog.", NONE),
    Rule("identity:get_auth_projects", "", "List all projects a user has access to via role assignments.", NONE),
    Rule("identity:get_auth_domains", "", "List all domains a user has access to via role assignments.", NONE),
    Rule("identity:get_auth_system", "", "List systems a user has access to via role assignments.", NONE),
]

IDENTITY_POLICY_DEFAULTS: dict[str, str] = {r.name: r.check_str for r in RULES}
IDENTITY_POLICY_DESCRIPTIONS: dict[str, str] = {r.name: r.description for r in RULES}
IDENTITY_POLICY_TARGETS: dict[str, str] = {r.name: r.target for r in RULES}
if len(IDENTITY_POLICY_DEFAULTS) != len(RULES):  # pragma: no cover - table typo
    raise RuntimeError("duplicate rule name in the identity policy table")
