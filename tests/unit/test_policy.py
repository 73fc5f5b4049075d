"""Tests of the policy engine (stratus.common.policy): parser, checks, files."""
from __future__ import annotations

import json
import logging
import os

import pytest

from stratus.common import policy
from stratus.common.policy import (
    PolicyEngine,
    PolicyNotAuthorized,
    PolicyParseError,
    flatten_target,
    parse_rule,
    render_table,
)


def check(check_str, target=None, creds=None, rules=None):
    """Evaluate one check string the way the engine does."""
    return parse_rule(check_str)(flatten_target(target), creds or {}, rules or {})


# ============================================================== parser: structure
@pytest.mark.parametrize("text, tree", [
    ("role:a", "role:a"),
    ("a:1 and b:1", "(a:1 and b:1)"),
    ("a:1 or b:1", "(a:1 or b:1)"),
    ("not a:1", "not a:1"),
    ("a:1 and b:1 and c:1", "(a:1 and b:1 and c:1)"),
    ("a:1 or b:1 or c:1", "(a:1 or b:1 or c:1)"),
    # and binds tighter than or, not tighter than and
    ("a:1 or b:1 and c:1", "(a:1 or (b:1 and c:1))"),
    ("a:1 and b:1 or c:1", "((a:1 and b:1) or c:1)"),
    ("not a:1 and b:1", "(not a:1 and b:1)"),
    ("not a:1 or b:1", "(not a:1 or b:1)"),
    ("a:1 or not b:1 and c:1", "(a:1 or (not b:1 and c:1))"),
    ("not not a:1", "not not a:1"),
    # parentheses override precedence, may be nested and glued to tokens
    ("(a:1 or b:1) and c:1", "((a:1 or b:1) and c:1)"),
    ("not (a:1 or b:1)", "not (a:1 or b:1)"),
    ("((a:1))", "a:1"),
    ("( ( a:1 ) )", "a:1"),
    ("((a:1 or b:1) and (c:1 or d:1))", "((a:1 or b:1) and (c:1 or d:1))"),
    ("(a:1 and (b:1 or (c:1 and not d:1)))", "(a:1 and (b:1 or (c:1 and not d:1)))"),
    # substitutions keep their own parentheses
    ("(project_id:%(target.project.id)s)", "project_id:%(target.project.id)s"),
    ("(a:1 or project_id:%(target.project.id)s) and b:1",
     "((a:1 or project_id:%(target.project.id)s) and b:1)"),
    # keywords are case-insensitive
    ("a:1 AND b:1 Or NOT c:1", "((a:1 and b:1) or not c:1)"),
    ("@", "@"),
    ("!", "!"),
    ("@ and !", "(@ and !)"),
    ("", "@"),
    ("   ", "@"),
    ("rule:foo", "rule:foo"),
    ("'member':%(target.role.name)s", "'member':%(target.role.name)s"),
    ("  role:a   or\trole:b\n", "(role:a or role:b)"),
])
def test_parse_tree(text, tree):
    assert str(parse_rule(text)) == tree


@pytest.mark.parametrize("a", [True, False])
@pytest.mark.parametrize("b", [True, False])
@pytest.mark.parametrize("c", [True, False])
def test_operators_truth_table(a, b, c):
    v = lambda x: "@" if x else "!"  # noqa: E731
    A, B, C = v(a), v(b), v(c)
    assert check(f"{A} and {B}") is (a and b)
    assert check(f"{A} or {B}") is (a or b)
    assert check(f"not {A}") is (not a)
    assert check(f"{A} or {B} and {C}") is (a or (b and c))
    assert check(f"{A} and {B} or {C}") is ((a and b) or c)
    assert check(f"({A} or {B}) and {C}") is ((a or b) and c)
    assert check(f"not {A} and {B}") is ((not a) and b)
    assert check(f"not ({A} and {B})") is (not (a and b))
    assert check(f"not {A} or not {B} and {C}") is ((not a) or ((not b) and c))


def test_always_and_never():
    assert check("") is True
    assert check("@") is True
    assert check("!") is False
    assert check("not !") is True


@pytest.mark.parametrize("bad", [
    "role:a and", "and role:a", "or", "role:a or or role:b", "role:a and and role:b",
    "not", "role:a not role:b", "role:a role:b",
    "(role:a", "role:a)", "((role:a)", "(role:a))", "()", "( )", ") role:a (",
    "role", "admin", "role:", ":admin", ":", "rule:", "%(target.id)s",
    "project_id:%(target.project.id)d", "project_id:%(target.project.id", "project_id:50%",
    "project_id:%()s", "http://example.com/check", "https:example.com",
])
def test_malformed_rules_raise(bad):
    with pytest.raises(PolicyParseError) as err:
        parse_rule(bad, "identity:thing")
    assert err.value.rule == "identity:thing"
    assert "identity:thing" in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("bad", [None, 5, True, ["role:admin"], {"a": "b"}])
def test_non_string_rule_raises(bad):
    with pytest.raises(PolicyParseError, match="must be a string"):
        parse_rule(bad, "r")


def test_malformed_default_raises_at_load_naming_the_rule():
    with pytest.raises(PolicyParseError) as err:
        PolicyEngine({"good": "role:admin", "identity:broken": "(role:admin and role:x"})
    assert err.value.rule == "identity:broken"
    assert "identity:broken" in str(err.value) and "missing ')'" in str(err.value)


@pytest.mark.parametrize("rules, culprit", [
    ({"a": "rule:a"}, "a"),
    ({"a": "rule:b", "b": "rule:a"}, "a"),
    ({"x": "@", "a": "role:r or rule:b", "b": "not rule:c", "c": "(rule:a and @)"}, "a"),
])
def test_rule_cycles_raise_at_load(rules, culprit):
    with pytest.raises(PolicyParseError, match="cycle") as err:
        PolicyEngine(rules)
    assert err.value.rule in rules


def test_shared_references_are_not_cycles():
    engine = PolicyEngine({"a": "rule:b or rule:c", "b": "rule:c", "c": "role:x", "d": "rule:a and rule:c"})
    assert engine.enforce("d", {}, {"roles": ["x"]})


def test_reference_to_undefined_rule_warns_and_denies(caplog):
    with caplog.at_level(logging.WARNING, logger="stratus.common.policy"):
        engine = PolicyEngine({"a": "rule:nope", "b": "rule:nope or @"})
    assert "nope" in caplog.text
    assert engine.enforce("a", {}, {}) is False
    assert engine.enforce("b", {}, {}) is True


# ============================================================== checks
def test_rule_check_follows_other_rules():
    engine = PolicyEngine({"admin": "role:admin", "a": "rule:admin", "b": "not rule:admin"})
    assert engine.enforce("a", {}, {"roles": ["admin"]})
    assert not engine.enforce("a", {}, {"roles": ["member"]})
    assert engine.enforce("b", {}, {"roles": ["member"]})


@pytest.mark.parametrize("roles, expected", [
    (["admin"], True), (["ADMIN"], True), (["Admin", "x"], True), (["reader"], False),
    ([], False), (None, False),
])
def test_role_check_is_case_insensitive(roles, expected):
    assert check("role:Admin", creds={"roles": roles}) is expected


def test_role_check_without_roles_key():
    assert check("role:admin", creds={"user_id": "u"}) is False


def test_role_check_substitution():
    assert check("role:%(target.role.name)s", {"target": {"role": {"name": "Member"}}}, {"roles": ["member"]})
    assert not check("role:%(target.role.name)s", {"target": {"role": {"name": "admin"}}}, {"roles": ["member"]})
    assert not check("role:%(target.role.name)s", {}, {"roles": ["member"]})


@pytest.mark.parametrize("text, value, expected", [
    ("is_admin:True", True, True), ("is_admin:True", False, False),
    ("is_admin:true", True, True), ("is_admin:1", True, True), ("is_admin:1", False, False),
    ("is_admin:False", False, True), ("is_admin:0", False, True), ("is_admin:False", True, False),
    ("is_admin:yes", True, False),
])
def test_boolean_credentials(text, value, expected):
    assert check(text, creds={"is_admin": value}) is expected


def test_is_admin_missing_is_false():
    assert check("is_admin:True", creds={}) is False


@pytest.mark.parametrize("scope, expected", [("all", True), (None, False), ("", False), ("ALL", False)])
def test_system_scope(scope, expected):
    assert check("system_scope:all", creds={"system_scope": scope}) is expected


def test_generic_literal_values():
    assert check("level:5", creds={"level": 5})
    assert check("level:5", creds={"level": "5"})
    assert not check("level:5", creds={"level": 6})
    assert check("name:'alice'", creds={"name": "alice"})
    assert check('name:"alice"', creds={"name": "alice"})
    assert check("name:alice", creds={"name": "alice"})
    assert not check("name:alice", creds={"name": "Alice"})  # values are case-sensitive
    assert not check("name:alice", creds={})


@pytest.mark.parametrize("text, target, expected", [
    ("'member':%(target.role.name)s", {"target": {"role": {"name": "member"}}}, True),
    ("'member':%(target.role.name)s", {"target": {"role": {"name": "admin"}}}, False),
    ("'member':%(target.role.name)s", {}, False),
    ('"member":%(target.role.name)s', {"target.role.name": "member"}, True),
    ("None:%(target.role.domain_id)s", {"target": {"role": {"domain_id": None}}}, True),
    ("None:%(target.role.domain_id)s", {"target": {"role": {"domain_id": "d1"}}}, False),
    ("None:%(target.role.domain_id)s", {"target": {"role": {}}}, False),
    ("5:%(target.n)s", {"target": {"n": 5}}, True),
    ("True:%(target.flag)s", {"target": {"flag": True}}, True),
    ("True:%(target.flag)s", {"target": {"flag": False}}, False),
])
def test_literal_on_the_left_compares_with_the_target(text, target, expected):
    # the credentials are irrelevant for these
    assert check(text, target, {"roles": ["admin"], "member": "member"}) is expected


# ---------------------------------------------------------------- substitution
PROJECT_CHECK = "project_id:%(target.project.id)s"


@pytest.mark.parametrize("target, expected", [
    ({"target": {"project": {"id": "p1", "domain_id": "d1"}}}, True),
    ({"target.project.id": "p1"}, True),
    ({"target": {"project.id": "p1"}}, True),
    ({"target": {"project": {"id": "p2"}}}, False),
    ({"target": {"project": {}}}, False),          # missing key: False, no exception
    ({"target": {}}, False),
    ({}, False),
    (None, False),
    ({"target": {"project": {"id": None}}}, False),
])
def test_target_substitution(target, expected):
    assert check(PROJECT_CHECK, target, {"project_id": "p1"}) is expected


def test_missing_substitution_inside_not_is_still_false_then_negated():
    # A missing key makes the *check* False (as oslo.policy); `not` then flips it.
    # Write rules so that a missing target denies: avoid `not KEY:%(...)s` alone.
    assert check(f"not {PROJECT_CHECK}", {}, {"project_id": "p1"}) is True
    assert check(f"{PROJECT_CHECK} and not {PROJECT_CHECK}", {}, {"project_id": "p1"}) is False


def test_substitution_of_non_string_values():
    assert check("n:%(target.n)s", {"target": {"n": 5}}, {"n": 5})
    assert check("n:%(target.n)s", {"target": {"n": 5}}, {"n": "5"})
    assert check("flag:%(target.f)s", {"target": {"f": True}}, {"flag": True})


def test_several_substitutions_and_percent_escape():
    target = {"a": "x", "b": "y"}
    assert check("k:%(a)s-%(b)s", target, {"k": "x-y"})
    assert not check("k:%(a)s-%(b)s", {"a": "x"}, {"k": "x-"})
    assert check("k:100%%", {}, {"k": "100%"})
    assert check("k:%(a)s%%", target, {"k": "x%"})


def test_top_level_target_keys_are_url_parameters():
    assert check("user_id:%(user_id)s", {"user_id": "u1"}, {"user_id": "u1"})
    assert not check("user_id:%(user_id)s", {"user_id": "u2"}, {"user_id": "u1"})


def test_none_credential_never_matches_a_substituted_value():
    # unscoped token (project_id None) vs a target whose id is None: oslo would say
    # 'None' == 'None'; we deny.
    target = {"target": {"project": {"id": None}}}
    assert check(PROJECT_CHECK, target, {"project_id": None}) is False
    assert check("domain_id:%(target.domain_id)s", {"target": {"domain_id": None}}, {"domain_id": None}) is False


def test_none_credential_matches_a_literal_none():
    # upstream keystone writes `role:manager and not domain_id:None`
    assert check("domain_id:None", creds={"domain_id": None}) is True
    assert check("domain_id:None", creds={"domain_id": "d1"}) is False
    assert check("domain_id:None", creds={}) is False  # missing is not None
    assert check("role:manager and not domain_id:None", creds={"roles": ["manager"], "domain_id": "d1"})
    assert not check("role:manager and not domain_id:None", creds={"roles": ["manager"], "domain_id": None})


# ---------------------------------------------------------------- dotted credentials
DOMAIN_TARGET = {"target": {"domain": {"id": "d1"}}}


def test_nested_credentials():
    creds = {"token": {"user": {"domain": {"id": "d1"}}}}
    assert check("token.user.domain.id:%(target.domain.id)s", DOMAIN_TARGET, creds)
    assert not check("token.user.domain.id:%(target.domain.id)s", {"target": {"domain": {"id": "d2"}}}, creds)
    assert not check("token.user.nope.id:%(target.domain.id)s", DOMAIN_TARGET, creds)
    assert not check("token.user.domain.id.deeper:%(target.domain.id)s", DOMAIN_TARGET, creds)


def test_flat_dotted_credentials():
    creds = {"token.user.domain.id": "d1"}
    assert check("token.user.domain.id:%(target.domain.id)s", DOMAIN_TARGET, creds)


@pytest.mark.parametrize("kind, flat_key", sorted(policy._ALIASES.items()))
def test_token_aliases_fall_back_to_flat_credentials(kind, flat_key):
    assert check(f"{kind}:%(target.domain.id)s", DOMAIN_TARGET, {flat_key: "d1"})
    assert not check(f"{kind}:%(target.domain.id)s", DOMAIN_TARGET, {flat_key: "d2"})
    assert not check(f"{kind}:%(target.domain.id)s", DOMAIN_TARGET, {flat_key: None})
    # a value found in an explicit token dict wins over the alias
    nested = "d1"
    for segment in reversed(kind.split(".")):
        nested = {segment: nested}
    assert check(f"{kind}:%(target.domain.id)s", DOMAIN_TARGET, {**nested, flat_key: "d2"})


def test_partial_token_dict_falls_back_per_key():
    creds = {"domain_id": "d1", "user_id": "u1", "project_domain_id": None,
             "token": {"user": {"domain": {"id": "ud"}}, "project": {"domain": {"id": None}}}}
    assert check("token.domain.id:%(target.domain.id)s", DOMAIN_TARGET, creds)        # alias
    assert check("token.user.id:%(target.u)s", {"target": {"u": "u1"}}, creds)         # alias
    assert check("token.user.domain.id:%(target.d)s", {"target": {"d": "ud"}}, creds)  # nested
    # found in the token dict as None: no fallback, and None never matches a target
    assert not check("token.project.domain.id:%(target.d)s", {"target": {"d": None}}, creds)


def test_list_values_fan_out():
    creds = {"token": {"roles": [{"name": "a"}, {"name": "b"}]}, "groups": ["g1", "g2"]}
    assert check("token.roles.name:b", creds=creds)
    assert not check("token.roles.name:c", creds=creds)
    assert check("groups:g2", creds=creds)
    assert not check("groups:g3", creds=creds)
    assert not check("groups:g1", creds={"groups": []})


# ---------------------------------------------------------------- flattening
def test_flatten_target():
    nested = {"target": {"project": {"id": "p", "domain_id": "d", "tags": ["x"]}, "domain_id": "d"},
              "user_id": "u", "target.flat.key": 1, 7: "seven"}
    assert flatten_target(nested) == {
        "target.project.id": "p", "target.project.domain_id": "d", "target.project.tags": ["x"],
        "target.domain_id": "d", "user_id": "u", "target.flat.key": 1, "7": "seven",
    }
    assert flatten_target(None) == {}
    assert flatten_target({}) == {}
    assert flatten_target({"a": {}}) == {}


def test_flatten_does_not_mutate_input():
    nested = {"target": {"project": {"id": "p"}}}
    flatten_target(nested)
    assert nested == {"target": {"project": {"id": "p"}}}


# ============================================================== engine
def test_enforce_and_authorize():
    engine = PolicyEngine({"r": "role:admin"})
    assert engine.enforce("r", {}, {"roles": ["admin"]}) is True
    assert engine.enforce("r", None, None) is False
    assert engine.authorize("r", {}, {"roles": ["admin"]}) is None
    with pytest.raises(PolicyNotAuthorized) as err:
        engine.authorize("r", {}, {"roles": ["member"]})
    assert err.value.rule == "r"
    assert "r" in str(err.value)


def test_unknown_rule_denies_and_logs(caplog):
    engine = PolicyEngine({"r": "@"})
    with caplog.at_level(logging.WARNING, logger="stratus.common.policy"):
        assert engine.enforce("identity:no_such_rule", {}, {"roles": ["admin"]}) is False
    assert "identity:no_such_rule" in caplog.text
    with pytest.raises(PolicyNotAuthorized):
        engine.authorize("identity:no_such_rule", {}, {})


def test_defaults_are_copied():
    defaults = {"r": "role:admin"}
    engine = PolicyEngine(defaults)
    defaults["r"] = "@"
    assert not engine.enforce("r", {}, {})
    assert engine.rules == {"r": "role:admin"}


def test_parsed_rules_are_cached(monkeypatch):
    engine = PolicyEngine({"r": "role:admin or project_id:%(target.project.id)s"})

    def boom(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(policy, "parse_rule", boom)
    for _ in range(3):
        assert engine.enforce("r", {"target": {"project": {"id": "p"}}}, {"project_id": "p"})


# ---------------------------------------------------------------- operator files
class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def write(path, text, mtime=None):
    path.write_text(text)
    if mtime is not None:
        os.utime(path, ns=(int(mtime * 1e9), int(mtime * 1e9)))


DEFAULTS = {"admin_required": "role:admin", "a": "rule:admin_required", "b": "role:reader"}
MEMBER = {"roles": ["member"], "user_id": "u1"}


def test_yaml_file_overrides_defaults(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, '# comment\n"a": "role:member"\nc: "rule:a and user_id:%(user_id)s"\n')
    engine = PolicyEngine(DEFAULTS, str(path))
    assert engine.enforce("a", {}, MEMBER)
    assert not engine.enforce("a", {}, {"roles": ["admin"]})
    assert engine.enforce("c", {"user_id": "u1"}, MEMBER)       # new rule using an override
    assert not engine.enforce("b", {}, MEMBER)                   # untouched default
    assert engine.rules == {**DEFAULTS, "a": "role:member", "c": "rule:a and user_id:%(user_id)s"}


def test_json_file_overrides_defaults(tmp_path):
    path = tmp_path / "policy.json"
    write(path, json.dumps({"b": "@", "admin_required": "role:boss"}))
    engine = PolicyEngine(DEFAULTS, str(path))
    assert engine.enforce("b", {}, {})
    assert engine.enforce("a", {}, {"roles": ["boss"]})          # default refers to override
    assert not engine.enforce("a", {}, {"roles": ["admin"]})


def test_file_can_blank_a_rule_to_allow_everyone(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, 'a: ""\n')
    assert PolicyEngine(DEFAULTS, str(path)).enforce("a", {}, {})


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}"])
def test_empty_file_means_defaults(tmp_path, text):
    path = tmp_path / "policy.yaml"
    write(path, text)
    engine = PolicyEngine(DEFAULTS, str(path))
    assert engine.rules == DEFAULTS


def test_missing_file_means_defaults(tmp_path):
    engine = PolicyEngine(DEFAULTS, str(tmp_path / "absent.yaml"))
    assert engine.rules == DEFAULTS
    assert engine.enforce("a", {}, {"roles": ["admin"]})


@pytest.mark.parametrize("text, culprit", [
    ('a: "role:member and"\n', "a"),
    ('a: "rule:a"\n', "a"),            # an override that creates a cycle
    ("a: 5\n", "a"),
    ("a: [role:member]\n", "a"),
    ("- a\n- b\n", None),
    ("just a string\n", None),
])
def test_bad_file_raises_at_load(tmp_path, text, culprit):
    path = tmp_path / "policy.yaml"
    write(path, text)
    with pytest.raises(PolicyParseError) as err:
        PolicyEngine(DEFAULTS, str(path))
    assert err.value.rule == (culprit or str(path))


def test_unparsable_yaml_raises_at_load(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, "a: [unclosed\n")
    with pytest.raises(PolicyParseError, match="not valid YAML") as err:
        PolicyEngine(DEFAULTS, str(path))
    assert err.value.rule == str(path)


def test_file_is_reread_when_it_changes_at_most_once_a_second(tmp_path, monkeypatch):
    path = tmp_path / "policy.yaml"
    write(path, 'a: "role:member"\n', mtime=1_000_000)
    clock = FakeClock()
    engine = PolicyEngine(DEFAULTS, str(path), clock=clock)
    assert engine.enforce("a", {}, MEMBER)

    stats = []
    real_stat = os.stat
    monkeypatch.setattr(policy.os, "stat", lambda p, *a, **k: stats.append(p) or real_stat(p, *a, **k))

    write(path, 'a: "role:reader"\n', mtime=1_000_005)
    clock.now += 0.5
    assert engine.enforce("a", {}, MEMBER)        # not re-checked yet
    assert stats == []
    clock.now += 0.6
    assert not engine.enforce("a", {}, MEMBER)    # re-read after the interval
    assert engine.enforce("a", {}, {"roles": ["reader"]})
    assert len(stats) == 1

    for _ in range(10):                           # many calls, still one stat a second
        engine.enforce("a", {}, MEMBER)
    assert len(stats) == 1
    clock.now += 1.0
    engine.enforce("a", {}, MEMBER)
    assert len(stats) == 2                        # stat again, unchanged file: no reload


def test_unchanged_file_is_not_reparsed(tmp_path, monkeypatch):
    path = tmp_path / "policy.yaml"
    write(path, 'a: "role:member"\n', mtime=1_000_000)
    clock = FakeClock()
    engine = PolicyEngine(DEFAULTS, str(path), clock=clock)
    monkeypatch.setattr(policy, "parse_rule", lambda *a, **k: pytest.fail("re-parsed"))
    for _ in range(3):
        clock.now += 2
        assert engine.enforce("a", {}, MEMBER)


def test_same_second_rewrite_is_detected_by_size(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, 'a: "role:member"\n', mtime=1_000_000)
    clock = FakeClock()
    engine = PolicyEngine(DEFAULTS, str(path), clock=clock)
    write(path, 'a: "role:reader or role:x"\n', mtime=1_000_000)  # same mtime
    clock.now += 1
    assert not engine.enforce("a", {}, MEMBER)


def test_broken_file_on_reload_keeps_previous_rules(tmp_path, caplog):
    path = tmp_path / "policy.yaml"
    write(path, 'a: "role:member"\n', mtime=1_000_000)
    clock = FakeClock()
    engine = PolicyEngine(DEFAULTS, str(path), clock=clock)
    write(path, 'a: "role:member or"\n', mtime=1_000_010)
    clock.now += 1
    with caplog.at_level(logging.ERROR, logger="stratus.common.policy"):
        assert engine.enforce("a", {}, MEMBER)     # old override still in force
    assert "keeping previous rules" in caplog.text
    write(path, 'a: "role:reader"\n', mtime=1_000_020)
    clock.now += 1
    assert not engine.enforce("a", {}, MEMBER)     # fixed file is picked up


def test_deleted_file_reverts_to_defaults(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, 'a: "role:member"\n')
    clock = FakeClock()
    engine = PolicyEngine(DEFAULTS, str(path), clock=clock)
    path.unlink()
    clock.now += 1
    assert not engine.enforce("a", {}, MEMBER)
    assert engine.enforce("a", {}, {"roles": ["admin"]})
    write(path, 'a: "role:member"\n')               # and a new file is read again
    clock.now += 1
    assert engine.enforce("a", {}, MEMBER)


def test_explicit_reload(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, 'a: "role:member"\n', mtime=1_000_000)
    engine = PolicyEngine(DEFAULTS, str(path), clock=FakeClock())
    write(path, 'a: "role:reader"\n', mtime=1_000_001)
    engine.reload()
    assert engine.rules["a"] == "role:reader"


# ============================================================== render_table
def test_render_table():
    text = render_table(
        {"a": "role:admin", "b": "", "c": "x:1 or y:2"},
        {"a": "Do A.", "c": "Do\nC | carefully."},
    )
    lines = text.splitlines()
    assert lines[0] == "| Rule | Default check string | Description |"
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| `a` | `role:admin` | Do A. |"
    assert lines[3] == '| `b` | `""` (always allowed) |  |'
    assert lines[4] == "| `c` | `x:1 or y:2` | Do C \\| carefully. |"
    assert len(lines) == 5
