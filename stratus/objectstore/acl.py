"""Who may do what (pure): Swift's keystoneauth rules.

* ``reseller_admin`` roles may do anything in any account (and are its owner);
* a caller scoped to the account's project holding an operator role (admin,
  member) owns the account: everything, including container ACLs;
* anyone else needs the container's ACL: ``X-Container-Read`` for GET/HEAD of
  objects and of the container listing, ``X-Container-Write`` for PUT, POST,
  DELETE (and COPY) of objects.  ACL entries are ``project_id:user_id``,
  ``project_id:*``, ``*:user_id``, ``*:*``, names in the same forms, or a role
  name; ``.r:*`` (referrer, any) lets even anonymous callers read objects and
  ``.rlistings`` also the listing.
Unauthenticated callers that are refused get 401, authenticated ones 403.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stratus.objectstore import errors


@dataclass
class Caller:
    user_id: str | None = None
    user_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    roles: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, auth) -> "Caller":
        if auth is None:
            return cls()
        return cls(getattr(auth, "user_id", None), getattr(auth, "user_name", None),
                   getattr(auth, "project_id", None), getattr(auth, "project_name", None),
                   list(getattr(auth, "roles", None) or []))


@dataclass
class Acl:
    referrers: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    listings: bool = False


def parse(value: str | None) -> Acl:
    acl = Acl()
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item == ".rlistings":
            acl.listings = True
        elif item.startswith(".r:"):
            acl.referrers.append(item[3:])
        else:
            acl.groups.append(item)
    return acl


def clean(header: str, value: str) -> str:
    """The normalized ACL; BadRequest naming the bad entry (Swift's clean_acl)."""
    out = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("."):
            if item == ".rlistings" or (item.startswith(".r:") and item[3:].strip("-")):
                if header.lower() == "x-container-write" and item.startswith(".r"):
                    raise errors.BadRequest(f"Referrers not allowed in write ACL: {item!r}")
                out.append(item)
                continue
            if item.startswith(".r:"):
                raise errors.BadRequest(f"No host/domain value after referrer designation "
                                        f"in ACL: {item!r}")
            raise errors.BadRequest(f"Unknown designator {item.split(':')[0]!r} in ACL: "
                                    f"{item!r}")
        out.append(item)
    return ",".join(out)


def referrer_allowed(acl: Acl) -> bool:
    """Whether the referrer entries admit any referrer (``.r:*``)."""
    allowed = False
    for r in acl.referrers:
        if r in ("*", ".*", "*.*"):
            allowed = True
        elif r.startswith("-") and r[1:] in ("*", ".*", "*.*"):
            allowed = False
    return allowed


def group_allows(acl: Acl, c: Caller) -> bool:
    if c.user_id is None:
        return False
    users = {x for x in (c.user_id, c.user_name) if x} | {"*"}
    projects = {x for x in (c.project_id, c.project_name) if x} | {"*"}
    roles = {r.lower() for r in c.roles}
    for g in acl.groups:
        if ":" in g:
            p, u = g.split(":", 1)
            if p in projects and u in users:
                return True
        elif g.lower() in roles:
            return True
    return False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    owner: bool = False


def decide(c: Caller, account_project: str | None, method: str, container: str | None,
           obj: str | None, read_acl: str = "", write_acl: str = "",
           operator_roles=("admin", "member"), reseller_roles=("reseller_admin",),
           ) -> Decision:
    roles = {r.lower() for r in c.roles}
    if c.user_id is not None:
        if roles & {r.lower() for r in reseller_roles}:
            return Decision(True, True)
        if (account_project is not None and c.project_id == account_project
                and roles & {r.lower() for r in operator_roles}):
            return Decision(True, True)
    if container is None:
        return Decision(False)
    reading = method in ("GET", "HEAD")
    if obj is None and not reading:
        return Decision(False)  # container PUT/POST/DELETE: owners only
    acl = parse(read_acl if reading else write_acl)
    if reading and referrer_allowed(acl) and (obj is not None or acl.listings):
        return Decision(True)
    return Decision(group_allows(acl, c))


def deny(c: Caller) -> errors.APIError:
    if c.user_id is None:
        return errors.Unauthorized("The request you have made requires authentication.")
    return errors.Forbidden("Access was denied to this resource.")
