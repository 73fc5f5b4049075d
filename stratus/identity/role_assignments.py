"""GET /v3/role_assignments: list assignments, optionally *effective* ones.

Effective listing expands group assignments into one entry per member,
inherited assignments into one entry per project below their target, and
implied roles into extra entries; then the filters are applied.  This is a
pure function of the rows given to it, so it is tested without a database.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Entry:
    role_id: str
    actor: str          # 'user' | 'group'
    actor_id: str
    target: str         # 'project' | 'domain' | 'system'
    target_id: str
    inherited: bool = False
    # links for effective entries
    via_group: str | None = None
    via_target: tuple[str, str] | None = None   # the original (target, id) of an inherited grant
    prior_role: str | None = None


@dataclass
class World:
    """The rows the expansion needs."""
    members: dict[str, list[str]] = field(default_factory=dict)      # group -> users
    projects: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (domain, parent)
    implies: dict[str, list[str]] = field(default_factory=dict)      # prior -> implied

    def descendants(self, target: str, target_id: str) -> list[str]:
        """Projects that inherit from a domain or project (not the target itself)."""
        if target == "domain":
            return sorted(p for p, (dom, _) in self.projects.items() if dom == target_id)
        out, frontier = [], [target_id]
        while frontier:
            kids = [p for p, (_, parent) in self.projects.items() if parent in frontier]
            out.extend(kids)
            frontier = kids
        return sorted(out)


def expand(entries: list[Entry], world: World) -> list[Entry]:
    out: list[Entry] = []
    for e in entries:
        targets = [e]
        if e.inherited:
            targets = [replace(e, target="project", target_id=p, inherited=False,
                               via_target=(e.target, e.target_id))
                       for p in world.descendants(e.target, e.target_id)]
        for t in targets:
            if t.actor == "group":
                out.extend(replace(t, actor="user", actor_id=u, via_group=t.actor_id)
                           for u in world.members.get(t.actor_id, []))
            else:
                out.append(t)
    with_implied: list[Entry] = []
    for e in out:
        with_implied.append(e)
        seen, todo = {e.role_id}, [e.role_id]
        while todo:
            prior = todo.pop()
            for implied in world.implies.get(prior, []):
                if implied not in seen:
                    seen.add(implied)
                    todo.append(implied)
                    with_implied.append(replace(e, role_id=implied, prior_role=prior))
    # de-duplicate while keeping order
    seen_keys, result = set(), []
    for e in with_implied:
        key = (e.role_id, e.actor_id, e.target, e.target_id, e.inherited)
        if key not in seen_keys:
            seen_keys.add(key)
            result.append(e)
    return result


@dataclass
class Filters:
    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool | None = None
    subtree_projects: list[str] | None = None  # include_subtree: project ids to accept

    def accept(self, e: Entry) -> bool:
        if self.user_id and not (e.actor == "user" and e.actor_id == self.user_id):
            return False
        if self.group_id and not (e.actor == "group" and e.actor_id == self.group_id):
            return False
        if self.role_id and e.role_id != self.role_id:
            return False
        if self.project_id:
            ok = {self.project_id, *(self.subtree_projects or [])}
            if not (e.target == "project" and e.target_id in ok):
                return False
        if self.domain_id and not (e.target == "domain" and e.target_id == self.domain_id):
            return False
        if self.system and e.target != "system":
            return False
        if self.inherited is not None and e.inherited != self.inherited:
            return False
        return True


def select_entries(entries: list[Entry], world: World, filters: Filters,
                   effective: bool) -> list[Entry]:
    if effective:
        entries = expand(entries, world)
    return [e for e in entries if filters.accept(e)]
