"""The Identity default policy table (stratus.api.identity.policies): every
upstream rule present and documented, and what each persona may do."""
from __future__ import annotations

import logging

import pytest

from stratus.api.identity import policies as identity
from stratus.api.identity.policies import (
    IDENTITY_POLICY_DEFAULTS,
    IDENTITY_POLICY_DESCRIPTIONS,
    IDENTITY_POLICY_TARGETS,
)
from stratus.common.policy import PolicyEngine, render_table


def test_render_identity_table():
    text = render_table(IDENTITY_POLICY_DEFAULTS, IDENTITY_POLICY_DESCRIPTIONS)
    assert len(text.splitlines()) == len(IDENTITY_POLICY_DEFAULTS) + 2
    assert "| `identity:get_project` |" in text


# ============================================================== identity defaults
REQUIRED_RULES = """
get_project list_projects create_project update_project delete_project list_user_projects
get_domain list_domains create_domain update_domain delete_domain
get_user list_users create_user update_user delete_user change_password
get_group list_groups create_group update_group delete_group list_users_in_group
add_user_to_group remove_user_from_group check_user_in_group list_groups_for_user
get_role list_roles create_role update_role delete_role
get_domain_role list_domain_roles create_domain_role update_domain_role delete_domain_role
create_implied_role get_implied_role list_implied_roles list_role_inference_rules
check_implied_role delete_implied_role
check_grant list_grants create_grant revoke_grant
check_system_grant_for_user list_system_grants_for_user create_system_grant_for_user
revoke_system_grant_for_user check_system_grant_for_group list_system_grants_for_group
create_system_grant_for_group revoke_system_grant_for_group
list_role_assignments list_role_assignments_for_tree
get_region list_regions create_region update_region delete_region
get_service list_services create_service update_service delete_service
get_endpoint list_endpoints create_endpoint update_endpoint delete_endpoint
get_credential list_credentials create_credential update_credential delete_credential
get_policy list_policies create_policy update_policy delete_policy
get_application_credential list_application_credentials create_application_credential
delete_application_credential
list_project_tags get_project_tag update_project_tags create_project_tag
delete_project_tags delete_project_tag
validate_token check_token revoke_token
get_auth_catalog get_auth_projects get_auth_domains get_auth_system
""".split()


def test_identity_table_is_complete_and_documented(caplog):
    missing = [n for n in REQUIRED_RULES if f"identity:{n}" not in IDENTITY_POLICY_DEFAULTS]
    assert missing == []
    assert len(identity.RULES) == len(IDENTITY_POLICY_DEFAULTS)
    assert IDENTITY_POLICY_DEFAULTS.keys() == IDENTITY_POLICY_DESCRIPTIONS.keys() == IDENTITY_POLICY_TARGETS.keys()
    assert all(IDENTITY_POLICY_DESCRIPTIONS.values())
    assert all(IDENTITY_POLICY_TARGETS.values())
    with caplog.at_level(logging.WARNING, logger="stratus.common.policy"):
        PolicyEngine(IDENTITY_POLICY_DEFAULTS)        # parses, no cycle
    assert caplog.text == ""                          # no dangling rule:... reference


@pytest.fixture(scope="module")
def engine():
    return PolicyEngine(IDENTITY_POLICY_DEFAULTS)


# ---------------------------------------------------------------- personas
# Roles include the implied ones (admin => member => reader), as in Keystone tokens.
def persona(user, roles, project=None, project_domain=None, domain=None, system=None, user_domain="D1"):
    return {"user_id": user, "user_domain_id": user_domain, "roles": roles,
            "project_id": project, "project_domain_id": project_domain,
            "domain_id": domain, "system_scope": system, "is_admin": False}


PERSONAS = {
    "admin": persona("root", ["admin", "member", "reader"], project="ADMINP", project_domain="D0", user_domain="D0"),
    "system_reader": persona("auditor", ["reader"], system="all", user_domain="D0"),
    "member_a": persona("alice", ["member", "reader"], project="A", project_domain="D1"),
    "reader_a": persona("rita", ["reader"], project="A", project_domain="D1"),
    "domain_reader": persona("dora", ["reader"], domain="D1"),
    "service": persona("nova", ["service"], project="SERVICE", project_domain="D0", user_domain="D0"),
    "unscoped": persona("uma", []),
}

PROJECT_A = {"id": "A", "domain_id": "D1", "name": "a"}
PROJECT_B = {"id": "B", "domain_id": "D2", "name": "b"}
ALICE = {"id": "alice", "domain_id": "D1"}
BOB = {"id": "bob", "domain_id": "D2"}
CAROL = {"id": "carol", "domain_id": "D1"}
GROUP_D1 = {"id": "g1", "domain_id": "D1"}
GROUP_D2 = {"id": "g2", "domain_id": "D2"}
GLOBAL_ROLE = {"id": "r", "name": "member", "domain_id": None}


def T(**resources):
    return {"target": resources}


P_A, P_B = T(project=PROJECT_A), T(project=PROJECT_B)
U_ALICE, U_BOB = T(user=ALICE), T(user=BOB)

Y, N = True, False
# rule (without "identity:"), target, {persona: expected}; personas left out are
# checked against the "nobody else" column when given as "*".
CASES = [
    # --- projects: own project yes, other project no; only admin writes
    ("get_project", P_A, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=Y, domain_reader=Y, service=N, unscoped=N)),
    ("get_project", P_B, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N, service=N, unscoped=N)),
    ("list_project_tags", P_A, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=Y, domain_reader=Y, unscoped=N)),
    ("list_project_tags", P_B, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("get_project_tag", P_A, dict(member_a=Y, reader_a=Y)),
    ("create_project_tag", P_A, dict(admin=Y, system_reader=N, member_a=N, reader_a=N, domain_reader=N)),
    ("update_project_tags", P_A, dict(admin=Y, member_a=N, reader_a=N)),
    ("delete_project_tag", P_A, dict(admin=Y, member_a=N, reader_a=N)),
    ("delete_project_tags", P_A, dict(admin=Y, member_a=N, reader_a=N)),
    ("list_projects", {}, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N, unscoped=N)),
    ("list_projects", T(domain_id="D1"), dict(admin=Y, system_reader=Y, member_a=N, domain_reader=Y)),
    ("list_projects", T(domain_id="D2"), dict(domain_reader=N)),
    ("list_user_projects", U_ALICE, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N, domain_reader=Y, unscoped=N)),
    ("list_user_projects", U_BOB, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("create_project", T(project={"domain_id": "D1", "name": "new"}),
     dict(admin=Y, system_reader=N, member_a=N, reader_a=N, domain_reader=N, service=N, unscoped=N)),
    ("update_project", P_A, dict(admin=Y, system_reader=N, member_a=N, reader_a=N, domain_reader=N)),
    ("delete_project", P_A, dict(admin=Y, system_reader=N, member_a=N, reader_a=N, domain_reader=N)),
    # --- domains
    ("get_domain", T(domain={"id": "D1"}), dict(admin=Y, system_reader=Y, member_a=Y, reader_a=Y, domain_reader=Y, unscoped=N)),
    ("get_domain", T(domain={"id": "D2"}), dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("list_domains", {}, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("list_domains", T(domain={"id": "D1"}), dict(domain_reader=Y, member_a=N)),
    ("create_domain", T(domain={"name": "x"}), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    ("update_domain", T(domain={"id": "D1"}), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    ("delete_domain", T(domain={"id": "D1"}), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    # --- users: self yes, another user no
    ("get_user", U_ALICE, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N, domain_reader=Y, unscoped=N)),
    ("get_user", U_BOB, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("get_user", T(user={"id": "uma", "domain_id": "D1"}), dict(unscoped=Y)),
    ("list_users", {}, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("list_users", T(domain_id="D1"), dict(domain_reader=Y, member_a=N)),
    ("create_user", T(user={"domain_id": "D1", "name": "x"}),
     dict(admin=Y, system_reader=N, member_a=N, reader_a=N, domain_reader=N, service=N, unscoped=N)),
    ("update_user", U_ALICE, dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),  # not even self
    ("delete_user", U_ALICE, dict(admin=Y, member_a=N)),
    ("change_password", U_ALICE, dict(admin=Y, system_reader=N, member_a=Y, reader_a=N, domain_reader=N)),
    ("change_password", T(user={"id": "rita", "domain_id": "D1"}), dict(reader_a=Y, member_a=N)),
    ("change_password", U_BOB, dict(admin=Y, member_a=N)),
    ("list_projects_for_user", {}, dict(unscoped=Y, reader_a=Y)),
    ("list_domains_for_user", {}, dict(unscoped=Y, reader_a=Y)),
    # --- groups
    ("get_group", T(group=GROUP_D1), dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=Y)),
    ("get_group", T(group=GROUP_D2), dict(domain_reader=N)),
    ("list_groups", {}, dict(admin=Y, system_reader=Y, member_a=N, domain_reader=N)),
    ("list_groups", T(group={"domain_id": "D1"}), dict(domain_reader=Y, member_a=N)),
    ("list_users_in_group", T(group=GROUP_D1), dict(admin=Y, system_reader=Y, member_a=N, domain_reader=Y)),
    ("list_groups_for_user", U_ALICE, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N, domain_reader=Y)),
    ("list_groups_for_user", U_BOB, dict(member_a=N, domain_reader=N)),
    ("check_user_in_group", T(group=GROUP_D1, user=ALICE), dict(admin=Y, system_reader=Y, member_a=N, domain_reader=Y)),
    ("check_user_in_group", T(group=GROUP_D1, user=BOB), dict(domain_reader=N)),
    ("create_group", T(group={"domain_id": "D1"}), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    ("update_group", T(group=GROUP_D1), dict(admin=Y, member_a=N, domain_reader=N)),
    ("delete_group", T(group=GROUP_D1), dict(admin=Y, member_a=N, domain_reader=N)),
    ("add_user_to_group", T(group=GROUP_D1, user=ALICE), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    ("remove_user_from_group", T(group=GROUP_D1, user=ALICE), dict(admin=Y, member_a=N, domain_reader=N)),
    # --- roles and implied roles: system readers read, only admins write
    ("get_role", T(role=GLOBAL_ROLE), dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("list_roles", {}, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N, unscoped=N)),
    ("create_role", T(role={"name": "x"}), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N, service=N)),
    ("update_role", T(role=GLOBAL_ROLE), dict(admin=Y, system_reader=N, member_a=N)),
    ("delete_role", T(role=GLOBAL_ROLE), dict(admin=Y, system_reader=N, member_a=N)),
    ("get_domain_role", T(role=GLOBAL_ROLE), dict(admin=Y, system_reader=Y, member_a=N)),
    ("list_domain_roles", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_domain_role", T(role={"name": "x", "domain_id": "D1"}), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    ("update_domain_role", T(role={"id": "x", "domain_id": "D1"}), dict(admin=Y, member_a=N, domain_reader=N)),
    ("delete_domain_role", T(role={"id": "x", "domain_id": "D1"}), dict(admin=Y, member_a=N, domain_reader=N)),
    ("get_implied_role", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("list_implied_roles", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("list_role_inference_rules", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("check_implied_role", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_implied_role", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("delete_implied_role", {}, dict(admin=Y, system_reader=N, member_a=N)),
    # --- grants
    ("check_grant", T(project=PROJECT_A, user=ALICE, role=GLOBAL_ROLE),
     dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=Y)),
    ("check_grant", T(domain={"id": "D1"}, group=GROUP_D1, role={"id": "r", "domain_id": "D1"}), dict(domain_reader=Y)),
    ("check_grant", T(project=PROJECT_A, user=ALICE, role={"id": "r", "domain_id": "D2"}), dict(domain_reader=N)),
    ("check_grant", T(project=PROJECT_B, user=ALICE, role=GLOBAL_ROLE), dict(domain_reader=N)),
    ("check_grant", T(project=PROJECT_A, user=BOB, role=GLOBAL_ROLE), dict(domain_reader=N)),
    ("check_grant", T(project=PROJECT_A, user=ALICE), dict(domain_reader=N)),  # role missing from target
    ("list_grants", T(project=PROJECT_A, user=ALICE), dict(admin=Y, system_reader=Y, member_a=N, domain_reader=Y)),
    ("list_grants", T(project=PROJECT_B, user=ALICE), dict(domain_reader=N)),
    ("create_grant", T(project=PROJECT_A, user=CAROL, role=GLOBAL_ROLE),
     dict(admin=Y, system_reader=N, member_a=N, reader_a=N, domain_reader=N, service=N)),
    ("revoke_grant", T(project=PROJECT_A, user=ALICE, role=GLOBAL_ROLE), dict(admin=Y, system_reader=N, member_a=N, domain_reader=N)),
    ("list_system_grants_for_user", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("check_system_grant_for_user", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_system_grant_for_user", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("revoke_system_grant_for_user", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("list_system_grants_for_group", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("check_system_grant_for_group", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_system_grant_for_group", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("revoke_system_grant_for_group", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("list_role_assignments", {}, dict(admin=Y, system_reader=Y, member_a=N, reader_a=N, domain_reader=N)),
    ("list_role_assignments", T(domain_id="D1"), dict(domain_reader=Y, member_a=N)),
    ("list_role_assignments_for_tree", T(project=PROJECT_A, domain_id="D1"),
     dict(admin=Y, system_reader=Y, member_a=N, domain_reader=Y)),
    # --- catalog: regions for everyone, services/endpoints for admins and system readers
    ("get_region", {}, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=Y, domain_reader=Y, unscoped=Y)),
    ("list_regions", {}, dict(member_a=Y, unscoped=Y)),
    ("create_region", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("update_region", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("delete_region", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("get_service", {}, dict(admin=Y, system_reader=Y, member_a=N, service=N)),
    ("list_services", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_service", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("update_service", {}, dict(admin=Y, system_reader=N)),
    ("delete_service", {}, dict(admin=Y, system_reader=N)),
    ("get_endpoint", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("list_endpoints", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_endpoint", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("update_endpoint", {}, dict(admin=Y, system_reader=N)),
    ("delete_endpoint", {}, dict(admin=Y, system_reader=N)),
    ("get_auth_catalog", {}, dict(unscoped=Y, reader_a=Y)),
    ("get_auth_projects", {}, dict(unscoped=Y)),
    ("get_auth_domains", {}, dict(unscoped=Y)),
    ("get_auth_system", {}, dict(unscoped=Y)),
    # --- v3 /policies blobs
    ("get_policy", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("list_policies", {}, dict(admin=Y, system_reader=Y, member_a=N)),
    ("create_policy", {}, dict(admin=Y, system_reader=N, member_a=N)),
    ("update_policy", {}, dict(admin=Y, system_reader=N)),
    ("delete_policy", {}, dict(admin=Y, system_reader=N)),
    # --- credentials: own yes, another user's no
    ("get_credential", T(credential={"user_id": "alice"}), dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N)),
    ("get_credential", T(credential={"user_id": "bob"}), dict(admin=Y, system_reader=Y, member_a=N)),
    ("list_credentials", T(credential={"user_id": "alice"}), dict(member_a=Y, reader_a=N, system_reader=Y)),
    ("create_credential", T(credential={"user_id": "alice"}), dict(admin=Y, member_a=Y, system_reader=N)),
    ("create_credential", T(credential={"user_id": "bob"}), dict(admin=Y, member_a=N, system_reader=N)),
    ("update_credential", T(credential={"user_id": "alice"}), dict(member_a=Y, reader_a=N, system_reader=N)),
    ("delete_credential", T(credential={"user_id": "bob"}), dict(admin=Y, member_a=N, system_reader=N)),
    # --- application credentials: the owner, admins, system readers (read)
    ("list_application_credentials", {"user_id": "alice"}, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N)),
    ("get_application_credential", {"user_id": "alice"}, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N)),
    ("get_application_credential", {"user_id": "rita"}, dict(reader_a=Y, member_a=N)),
    ("create_application_credential", {"user_id": "alice"}, dict(member_a=Y, admin=N, system_reader=N, reader_a=N)),
    ("create_application_credential", {"user_id": "rita"}, dict(reader_a=Y, member_a=N)),
    ("create_application_credential", {"user_id": "root"}, dict(admin=Y)),
    ("delete_application_credential", {"user_id": "alice"}, dict(admin=Y, system_reader=N, member_a=Y, reader_a=N)),
    ("delete_application_credential", {}, dict(admin=Y, member_a=N)),
    ("get_access_rule", U_ALICE, dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N)),
    ("list_access_rules", U_BOB, dict(admin=Y, system_reader=Y, member_a=N)),
    ("delete_access_rule", U_ALICE, dict(admin=Y, system_reader=N, member_a=Y, reader_a=N)),
    # --- tokens: the subject token's owner, admins, system readers, services (validate)
    ("validate_token", T(token={"user_id": "alice"}), dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N, service=Y)),
    ("validate_token", T(token={"user_id": "bob"}), dict(member_a=N, service=Y, unscoped=N)),
    ("check_token", T(token={"user_id": "alice"}), dict(admin=Y, system_reader=Y, member_a=Y, reader_a=N, service=N)),
    ("revoke_token", T(token={"user_id": "alice"}), dict(admin=Y, system_reader=N, member_a=Y, reader_a=N, service=N)),
    ("revoke_token", T(token={"user_id": "uma"}), dict(unscoped=Y)),
]


def _case_ids():
    for rule, target, expectations in CASES:
        for who, expected in expectations.items():
            yield pytest.param(rule, target, who, expected, id=f"{rule}-{who}-{'allow' if expected else 'deny'}")


@pytest.mark.parametrize("rule, target, who, expected", list(_case_ids()))
def test_identity_persona(engine, rule, target, who, expected):
    assert engine.enforce(f"identity:{rule}", target, PERSONAS[who]) is expected


def with_partial_token(creds):
    """Credentials as stratus.api.context builds them: flat keys plus a partial token dict."""
    return {**creds, "token": {"user": {"domain": {"id": creds["user_domain_id"]}},
                               "project": {"domain": {"id": creds["project_domain_id"]}}}}


def test_identity_personas_with_a_partial_token_dict(engine):
    for rule, target, expectations in CASES:
        for who, expected in expectations.items():
            creds = with_partial_token(PERSONAS[who])
            assert engine.enforce(f"identity:{rule}", target, creds) is expected, (rule, who)


def test_every_case_names_a_real_rule():
    assert {f"identity:{rule}" for rule, _, _ in CASES} <= IDENTITY_POLICY_DEFAULTS.keys()
    assert all(who in PERSONAS for _, _, e in CASES for who in e)


# ---------------------------------------------------------------- properties
API_RULES = sorted(n for n in IDENTITY_POLICY_DEFAULTS if n.startswith("identity:"))
WRITE_VERBS = ("create_", "update_", "delete_", "add_", "remove_", "revoke_", "change_")
WRITE_RULES = [n for n in API_RULES
               if n.split(":", 1)[1].removeprefix("ec2_").startswith(WRITE_VERBS)]
# Writes a user may do to their own identity, whatever their role.
SELF_SERVICE = {
    "identity:change_password", "identity:revoke_token",
    "identity:create_credential", "identity:update_credential", "identity:delete_credential",
    "identity:create_application_credential", "identity:delete_application_credential",
    "identity:delete_access_rule", "identity:create_trust", "identity:delete_trust",
    "identity:ec2_create_credential", "identity:ec2_delete_credential",
}
ADMIN_ONLY_RESOURCES = ("user", "role", "project", "domain", "group", "grant", "domain_role",
                        "implied_role", "region", "service", "endpoint", "policy")


def everything_is_mine(creds):
    """A target in which every id the rules look at is the caller's own."""
    user, dom = creds["user_id"], creds["domain_id"] or creds["project_domain_id"] or creds["user_domain_id"]
    mine = {"id": user, "domain_id": dom}
    return {
        "user_id": user,
        "target": {
            "project": {"id": creds["project_id"] or "P", "domain_id": dom},
            "user": mine, "group": {"id": "g", "domain_id": dom}, "domain": {"id": dom}, "domain_id": dom,
            "role": {"id": "r", "name": "member", "domain_id": None},
            "credential": {"user_id": user}, "token": {"user_id": user},
            "trust": {"trustor_user_id": user, "trustee_user_id": user},
        },
    }


FOREIGN = everything_is_mine(persona("stranger", [], project="X", project_domain="DX", user_domain="DX"))


def test_write_rule_classification():
    assert len(WRITE_RULES) > 50
    assert SELF_SERVICE <= set(WRITE_RULES)


@pytest.mark.parametrize("rule", API_RULES)
def test_admin_can_do_everything(engine, rule):
    admin = PERSONAS["admin"]
    if rule in ("identity:create_application_credential", "identity:create_trust"):
        # upstream: only for oneself, even for admins (it carries the creator's roles)
        assert not engine.enforce(rule, FOREIGN, admin)
        assert engine.enforce(rule, everything_is_mine(admin), admin)
    else:
        assert engine.enforce(rule, FOREIGN, admin)
        assert engine.enforce(rule, {}, admin)


@pytest.mark.parametrize("rule", API_RULES)
def test_is_admin_flag_is_admin(engine, rule):
    creds = dict(PERSONAS["unscoped"], is_admin=True)
    if rule not in ("identity:create_application_credential", "identity:create_trust"):
        assert engine.enforce(rule, FOREIGN, creds)


@pytest.mark.parametrize("who", ["system_reader", "reader_a", "domain_reader"])
@pytest.mark.parametrize("rule", WRITE_RULES)
def test_readers_never_write(engine, who, rule):
    creds = PERSONAS[who]
    assert not engine.enforce(rule, FOREIGN, creds)
    if rule not in SELF_SERVICE:
        assert not engine.enforce(rule, everything_is_mine(creds), creds)


@pytest.mark.parametrize("who", [w for w in PERSONAS if w != "admin"])
@pytest.mark.parametrize("rule", [r for r in WRITE_RULES if r not in SELF_SERVICE])
def test_non_admins_never_manage_shared_resources(engine, who, rule):
    creds = PERSONAS[who]
    assert not engine.enforce(rule, everything_is_mine(creds), creds)


def test_admin_only_resources_are_admin_only():
    for resource in ADMIN_ONLY_RESOURCES:
        for verb in ("create", "update", "delete"):
            name = f"identity:{verb}_{resource}"
            if name in IDENTITY_POLICY_DEFAULTS:
                assert IDENTITY_POLICY_DEFAULTS[name] == "rule:admin_required", name


@pytest.mark.parametrize("who", [w for w in PERSONAS if w not in ("admin", "system_reader")])
@pytest.mark.parametrize("rule", API_RULES)
def test_nobody_but_admins_and_system_readers_reach_strangers(engine, who, rule):
    """Against someone else's resources only the open reads pass for ordinary users."""
    open_to_all = {n for n, s in IDENTITY_POLICY_DEFAULTS.items() if s == ""}
    service_ok = {"identity:validate_token"} if who == "service" else set()
    expected = rule in open_to_all or rule in service_ok
    assert engine.enforce(rule, FOREIGN, PERSONAS[who]) is expected


def test_unscoped_token_with_null_target_ids_is_denied(engine):
    """An unscoped token (project_id None) must not match a target whose ids are None."""
    target = {"target": {"project": {"id": None, "domain_id": None}, "user": {"id": None, "domain_id": None},
                         "domain_id": None, "domain": {"id": None}, "credential": {"user_id": None}}}
    creds = persona(None, ["reader"])
    for rule in API_RULES:
        if IDENTITY_POLICY_DEFAULTS[rule] != "":
            assert not engine.enforce(rule, target, creds), rule


def test_operator_can_override_an_identity_default(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"identity:list_roles": "rule:admin_or_system_reader or role:member"\n')
    engine = PolicyEngine(IDENTITY_POLICY_DEFAULTS, str(path))
    assert engine.enforce("identity:list_roles", {}, PERSONAS["member_a"])
    assert not engine.enforce("identity:list_roles", {}, PERSONAS["reader_a"])
    assert not engine.enforce("identity:create_role", {}, PERSONAS["member_a"])
