"""Compute quotas as nova (legacy, non-unified-limits driver) keeps them.

Limits resolve, most specific first: a per-user override (``quota_limit`` row
with ``user_id``), a per-project override, the ``default`` quota class (rows of
project ``__default__``), then the ``[quota]`` configuration.  Usage is never
stored: it is counted from the instance, key pair and server group rows
themselves, so it cannot drift from reality.
"""
from __future__ import annotations

from sqlalchemy import func, select

from stratus.common import errors
from stratus.db.models import compute as m

DEFAULT_CLASS = "__default__"
# The resources of a nova 2.1 quota set, in the order nova lists them, with the
# [quota] option each one's default comes from.
RESOURCES: dict[str, str] = {
    "instances": "instances", "cores": "cores", "ram": "ram",
    "floating_ips": "floating_ips", "fixed_ips": "fixed_ips",
    "metadata_items": "metadata_items", "injected_files": "injected_files",
    "injected_file_content_bytes": "injected_file_content_bytes",
    "injected_file_path_bytes": "injected_file_path_length",
    "key_pairs": "key_pairs", "security_groups": "security_groups",
    "security_group_rules": "security_group_rules", "server_groups": "server_groups",
    "server_group_members": "server_group_members",
}
# Quotas that make sense per user (nova: everything but the server-group ones
# and the network proxies; key pairs are always per user).
USER_RESOURCES = ("instances", "cores", "ram", "metadata_items", "injected_files",
                  "injected_file_content_bytes", "injected_file_path_bytes", "key_pairs")


class QuotaExceeded(errors.Forbidden):
    """403 naming the quota, as nova's ``TooManyInstances``/``OverQuota``."""


def defaults(session, conf) -> dict[str, int]:
    """The default quota class: config values overridden by class rows."""
    out = {name: int(getattr(conf.quota, opt)) for name, opt in RESOURCES.items()}
    for row in session.scalars(select(m.QuotaLimit).where(
            m.QuotaLimit.project_id == DEFAULT_CLASS, m.QuotaLimit.user_id == "")):
        if row.resource in out:
            out[row.resource] = row.hard_limit
    return out


def _overrides(session, project_id: str, user_id: str) -> dict[str, int]:
    rows = session.scalars(select(m.QuotaLimit).where(
        m.QuotaLimit.project_id == project_id, m.QuotaLimit.user_id == user_id))
    return {r.resource: r.hard_limit for r in rows if r.resource in RESOURCES}


def limits_for(session, conf, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Effective limits of a project (or of one user in it); -1 is unlimited."""
    out = defaults(session, conf)
    out.update(_overrides(session, project_id, ""))
    if user_id:
        out.update({k: v for k, v in _overrides(session, project_id, user_id).items()
                    if k in USER_RESOURCES})
    return out


def usage(session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What a project (or one user in it) uses now, counted from the rows."""
    q = select(func.count(m.Instance.id), func.coalesce(func.sum(m.Instance.vcpus), 0),
               func.coalesce(func.sum(m.Instance.memory_mb), 0)).where(
        m.Instance.project_id == project_id, m.Instance.deleted == 0)
    if user_id:
        q = q.where(m.Instance.user_id == user_id)
    instances, cores, ram = session.execute(q).one()
    out = {name: 0 for name in RESOURCES}
    out.update(instances=int(instances), cores=int(cores), ram=int(ram))
    if user_id:
        out["key_pairs"] = count_key_pairs(session, user_id)
    groups = select(func.count(m.ServerGroup.id)).where(m.ServerGroup.project_id == project_id)
    if user_id:
        groups = groups.where(m.ServerGroup.user_id == user_id)
    out["server_groups"] = int(session.scalar(groups))
    return out


def count_key_pairs(session, user_id: str) -> int:
    return int(session.scalar(select(func.count(m.KeyPair.id)).where(
        m.KeyPair.user_id == user_id)))


def over(limits: dict, used: dict, requested: dict) -> list[str]:
    """Names of the resources that ``requested`` more would push over limit."""
    return [name for name, want in requested.items()
            if limits.get(name, -1) >= 0 and used.get(name, 0) + want > limits[name]]


def exceeded_message(names: list[str], limits: dict, used: dict, requested: dict) -> str:
    """Nova's wording: "Quota exceeded for instances: Requested 1, but already
    used 10 of 10 instances"."""
    def join(values):
        return ", ".join(str(v) for v in values)
    overs = join(names)
    return (f"Quota exceeded for {overs}: Requested {join(requested[n] for n in names)}, "
            f"but already used {join(used.get(n, 0) for n in names)} of "
            f"{join(limits[n] for n in names)} {overs}")


def _field(flavor, name: str, dict_name: str | None = None) -> int:
    if isinstance(flavor, dict):
        return int(flavor.get(dict_name or name, flavor.get(name, 0)) or 0)
    return int(getattr(flavor, name) or 0)


def check_server_create(session, conf, ctx, count: int, flavor) -> None:
    """Raise QuotaExceeded unless ``count`` more servers of ``flavor`` fit both
    the project's and the user's instances/cores/ram quotas."""
    requested = {"instances": count, "cores": count * _field(flavor, "vcpus"),
                 "ram": count * _field(flavor, "memory_mb", "ram")}
    for user_id in (None, ctx.user_id):
        if user_id and not _overrides(session, ctx.project_id, user_id):
            continue  # no per-user limits: the project check covers it
        limits = limits_for(session, conf, ctx.project_id, user_id)
        used = usage(session, ctx.project_id, user_id)
        names = over(limits, used, requested)
        if names:
            raise QuotaExceeded(exceeded_message(names, limits, used, requested))


def check_one(session, conf, ctx, resource: str, used: int, requested: int = 1,
              project_id: str | None = None, user_id: str | None = None) -> None:
    """Generic check of one counted resource (key pairs, server groups, members)."""
    project_id = project_id or ctx.project_id
    limits = limits_for(session, conf, project_id, user_id)
    names = over(limits, {resource: used}, {resource: requested})
    if names:
        raise QuotaExceeded(exceeded_message(names, limits, {resource: used},
                                             {resource: requested}))


def check_metadata(session, conf, ctx, items: int) -> None:
    """Metadata items per server: 403 worded as nova's MetadataLimitExceeded."""
    limit = limits_for(session, conf, ctx.project_id, ctx.user_id)["metadata_items"]
    if 0 <= limit < items:
        raise QuotaExceeded(f"Quota exceeded for metadata_items: Maximum number of metadata "
                            f"items exceeds {limit} (requested {items})")


def validate_update(name: str, value, in_use: int, force: bool, maximum: int = -1) -> int:
    """A new limit from a quota-set update: an integer >= -1, unless forced
    not below what is already used, and (a user's limit) not above
    ``maximum``, the project's limit (-1: none)."""
    if isinstance(value, bool):
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. "
                                f"Value: {value}. {value} is not of type 'integer'")
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                f"'{value}' is not valid under any of the given schemas"
                                ) from None
    if isinstance(value, float) and value != v:
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")
    if v < -1:
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {v}. "
                                f"{v} is less than the minimum of -1")
    if v > 0x7FFFFFFF:
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {v}. "
                                f"{v} is greater than the maximum of 2147483647")
    if not force and v != -1 and v < in_use:
        raise errors.BadRequest(f"Quota limit {v} for {name} must be greater than or equal "
                                f"to already used and reserved {in_use}.")
    if maximum != -1 and (v == -1 or v > maximum):
        raise errors.BadRequest(f"Quota limit {v} for {name} must be less than or equal to "
                                f"{maximum}.")
    return v


def set_limit(session, project_id: str, user_id: str, resource: str, value: int) -> None:
    row = session.get(m.QuotaLimit, (project_id, user_id, resource))
    if row is None:
        session.add(m.QuotaLimit(project_id=project_id, user_id=user_id, resource=resource,
                                 hard_limit=value))
    else:
        row.hard_limit = value


def delete_limits(session, project_id: str, user_id: str | None = None) -> None:
    """Revert a project (all its users too) or one user to the defaults."""
    q = select(m.QuotaLimit).where(m.QuotaLimit.project_id == project_id)
    if user_id:
        q = q.where(m.QuotaLimit.user_id == user_id)
    for row in session.scalars(q):
        session.delete(row)
