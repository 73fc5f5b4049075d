"""The effective role-assignment expansion, as a pure function."""
from stratus.identity.role_assignments import Entry, Filters, World, expand, select_entries

WORLD = World(
    members={"g1": ["u1", "u2"], "g2": []},
    projects={"p1": ("d1", "d1"), "p2": ("d1", "p1"), "p3": ("d1", "p2"), "q1": ("d2", "d2")},
    implies={"admin": ["member"], "member": ["reader"]},
)


def keyset(entries):
    return {(e.role_id, e.actor, e.actor_id, e.target, e.target_id, e.inherited) for e in entries}


def test_group_assignment_expands_to_each_member_with_membership_link():
    out = expand([Entry("r", "group", "g1", "project", "p1")], World(members=WORLD.members,
                                                                    projects=WORLD.projects))
    assert keyset(out) == {("r", "user", "u1", "project", "p1", False),
                           ("r", "user", "u2", "project", "p1", False)}
    assert all(e.via_group == "g1" for e in out)


def test_empty_group_expands_to_nothing():
    assert expand([Entry("r", "group", "g2", "project", "p1")], WORLD) == []


def test_inherited_domain_assignment_reaches_every_project_of_the_domain_only():
    out = expand([Entry("r", "user", "u1", "domain", "d1", inherited=True)],
                 World(projects=WORLD.projects))
    assert {e.target_id for e in out} == {"p1", "p2", "p3"}
    assert all(e.target == "project" and not e.inherited for e in out)
    assert all(e.via_target == ("domain", "d1") for e in out)


def test_inherited_project_assignment_reaches_the_subtree_not_the_project():
    out = expand([Entry("r", "user", "u1", "project", "p1", inherited=True)],
                 World(projects=WORLD.projects))
    assert {e.target_id for e in out} == {"p2", "p3"}


def test_implied_roles_are_added_transitively_with_prior_role():
    out = expand([Entry("admin", "user", "u1", "project", "p1")], WORLD)
    roles = {e.role_id: e.prior_role for e in out}
    assert roles == {"admin": None, "member": "admin", "reader": "member"}


def test_duplicates_collapse():
    out = expand([Entry("member", "user", "u1", "project", "p1"),
                  Entry("admin", "user", "u1", "project", "p1")], WORLD)
    assert sorted(e.role_id for e in out) == ["admin", "member", "reader"]


def test_filters():
    rows = [Entry("admin", "user", "u1", "project", "p1"),
            Entry("member", "group", "g1", "domain", "d1"),
            Entry("reader", "user", "u2", "system", "system"),
            Entry("member", "user", "u1", "domain", "d1", inherited=True)]
    assert len(select_entries(rows, WORLD, Filters(), effective=False)) == 4
    assert keyset(select_entries(rows, WORLD, Filters(user_id="u1"), False)) == {
        ("admin", "user", "u1", "project", "p1", False),
        ("member", "user", "u1", "domain", "d1", True)}
    assert len(select_entries(rows, WORLD, Filters(group_id="g1"), False)) == 1
    assert len(select_entries(rows, WORLD, Filters(system=True), False)) == 1
    assert len(select_entries(rows, WORLD, Filters(inherited=True), False)) == 1
    assert len(select_entries(rows, WORLD, Filters(domain_id="d1"), False)) == 2
    # effective: u1 on p2 comes only from the inherited domain grant
    eff = select_entries(rows, WORLD, Filters(user_id="u1", project_id="p2"), True)
    assert {e.role_id for e in eff} == {"member", "reader"}
    sub = select_entries(rows, WORLD, Filters(project_id="p1",
                                              subtree_projects=["p2", "p3"]), True)
    assert {e.target_id for e in sub} == {"p1", "p2", "p3"}
