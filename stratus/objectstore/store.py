"""Metadata of accounts, containers and objects in the database.

Every object write or delete changes the object row and its container's
usage in one transaction that starts by write-locking the container row
(:func:`lock_container`), so concurrent writers queue per container and the
counts stay exact on SQLite and PostgreSQL.  Object versions resolve
last-writer-wins by timestamp: a write whose timestamp is older than the
row's loses, whatever order the transactions commit in.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from stratus.db.models.object_store import SwiftAccount, SwiftContainer, SwiftObject
from stratus.objectstore import errors

PREFIX = "AUTH_"


@dataclass
class ObjectInfo:
    """One object version as readers see it.  ``metadata`` maps lower-case
    header names (``x-object-meta-*``, ``content-disposition``, ...) to values."""
    name: str
    size: int
    etag: str
    content_type: str
    timestamp: float
    metadata: dict[str, str] = field(default_factory=dict)
    account: str = ""
    container: str = ""
    blob: str | None = None
    manifest: str | None = None  # "slo" or None (a DLO has x-object-manifest metadata)
    segments: list | None = None
    delete_at: float | None = None


def now() -> float:
    return time.time()


def project_of(account: str) -> str | None:
    return account[len(PREFIX):] if account.startswith(PREFIX) and len(account) > 5 else None


def info_of(row: SwiftObject, account: str = "", container: str = "") -> ObjectInfo:
    return ObjectInfo(name=row.name, size=row.size, etag=row.etag, content_type=row.content_type,
                      timestamp=row.timestamp, metadata=dict(row.meta or {}), account=account,
                      container=container, blob=row.blob, manifest=row.manifest,
                      segments=row.segments, delete_at=row.delete_at)


def ensure_account(s, account: str, ts: float | None = None) -> SwiftAccount:
    row = s.get(SwiftAccount, account)
    if row is None:
        try:
            with s.begin_nested():
                row = SwiftAccount(name=account, project_id=project_of(account) or "",
                                   created=ts or now(), meta={})
                s.add(row)
        except IntegrityError:  # created concurrently
            row = s.get(SwiftAccount, account)
    return row


def account_usage(s, account: str) -> tuple[int, int, int]:
    """(containers, objects, bytes) of an account."""
    n, objs, size = s.execute(select(func.count(SwiftContainer.id),
                                     func.coalesce(func.sum(SwiftContainer.object_count), 0),
                                     func.coalesce(func.sum(SwiftContainer.bytes_used), 0))
                              .where(SwiftContainer.account == account)).one()
    return int(n), int(objs), int(size)


def get_container(s, account: str, name: str) -> SwiftContainer | None:
    return s.scalar(select(SwiftContainer).where(SwiftContainer.account == account,
                                                 SwiftContainer.name == name))


def lock_container(s, account: str, name: str) -> SwiftContainer:
    """The container row, write-locked for the rest of the transaction (the
    first statement is an UPDATE so SQLite takes its write lock up front)."""
    res = s.execute(update(SwiftContainer)
                    .where(SwiftContainer.account == account, SwiftContainer.name == name)
                    .values(object_count=SwiftContainer.object_count)
                    .execution_options(synchronize_session=False))
    if res.rowcount == 0:
        raise errors.NotFound(f"Container {name} not found.")
    return get_container(s, account, name)


def _alive(at: float):
    return or_(SwiftObject.delete_at.is_(None), SwiftObject.delete_at > at)


def live_object(s, container_id: int, name: str, at: float | None = None) -> SwiftObject | None:
    """The object row unless missing or expired."""
    return s.scalar(select(SwiftObject).where(SwiftObject.container_id == container_id,
                                              SwiftObject.name == name,
                                              _alive(at or now())))


def name_range(column, lower: str | None, upper: str | None, prefix: str, reverse: bool,
               limit: int):
    """A select's WHERE/ORDER/LIMIT for names in (lower, upper) starting with prefix."""
    conds = []
    if lower is not None:
        conds.append(column > lower)
    if upper is not None:
        conds.append(column < upper)
    if prefix:
        conds += [column >= prefix, func.substr(column, 1, len(prefix)) == prefix]
    return conds, (column.desc() if reverse else column.asc()), limit


def expired_objects(s, container_id: int, at: float) -> list[SwiftObject]:
    return list(s.scalars(select(SwiftObject).where(SwiftObject.container_id == container_id,
                                                    SwiftObject.delete_at.is_not(None),
                                                    SwiftObject.delete_at <= at)))


def fetch_objects(s, container_id: int, lower, upper, prefix: str, limit: int,
                  reverse: bool) -> list[SwiftObject]:
    conds, order, limit = name_range(SwiftObject.name, lower, upper, prefix, reverse, limit)
    return list(s.scalars(select(SwiftObject).where(SwiftObject.container_id == container_id,
                                                    _alive(now()), *conds)
                          .order_by(order).limit(limit)))


def fetch_containers(s, account: str, lower, upper, prefix: str, limit: int,
                     reverse: bool) -> list[SwiftContainer]:
    conds, order, limit = name_range(SwiftContainer.name, lower, upper, prefix, reverse, limit)
    return list(s.scalars(select(SwiftContainer).where(SwiftContainer.account == account, *conds)
                          .order_by(order).limit(limit)))


def write_object(db, backend, account: str, container: str, name: str, staged: str, *,
                 size: int, etag: str, content_type: str, metadata: dict, timestamp: float,
                 delete_at: float | None = None, manifest: str | None = None,
                 segments: list | None = None) -> tuple[ObjectInfo, bool]:
    """Commit the staged file as the object; (the current version, whether this
    write won).  A write older than the stored version is discarded."""
    key = backend.commit(staged)
    drop = None
    try:
        with db.session() as s:
            c = lock_container(s, account, container)
            row = s.scalar(select(SwiftObject).where(SwiftObject.container_id == c.id,
                                                     SwiftObject.name == name))
            if row is not None and row.timestamp > timestamp:
                drop = key
                return info_of(row, account, container), False
            fields = dict(size=size, etag=etag, content_type=content_type, timestamp=timestamp,
                          meta=dict(metadata), blob=key, delete_at=delete_at,
                          manifest=manifest, segments=segments)
            if row is None:
                row = SwiftObject(container_id=c.id, name=name, **fields)
                s.add(row)
                c.object_count += 1
                c.bytes_used += size
            else:
                drop = row.blob
                c.bytes_used += size - row.size
                for k, v in fields.items():
                    setattr(row, k, v)
            s.flush()
            return info_of(row, account, container), True
    except BaseException:
        drop = key
        raise
    finally:
        if drop:
            backend.delete(drop)


def update_object(db, account: str, container: str, name: str, timestamp: float, **changes
                  ) -> ObjectInfo:
    """Change an object's metadata in place (POST): ``metadata``, ``content_type``,
    ``delete_at``.  The new timestamp makes later writes compare against it."""
    with db.session() as s:
        c = lock_container(s, account, container)
        row = live_object(s, c.id, name)
        if row is None:
            raise errors.NotFound(f"Object {name} not found.")
        if "metadata" in changes:
            row.meta = dict(changes.pop("metadata"))
        for k, v in changes.items():
            setattr(row, k, v)
        row.timestamp = max(timestamp, row.timestamp)
        return info_of(row, account, container)


def delete_object(db, backend, account: str, container: str, name: str,
                  timestamp: float | None = None, only_expired: bool = False) -> ObjectInfo | None:
    """Remove the object (unless a newer version exists); the removed version.
    ``only_expired``: remove it only if its delete-at time has passed."""
    ts = timestamp or now()
    with db.session() as s:
        c = lock_container(s, account, container)
        row = s.scalar(select(SwiftObject).where(SwiftObject.container_id == c.id,
                                                 SwiftObject.name == name))
        if row is None or row.timestamp > ts:
            return None
        if only_expired and (row.delete_at is None or row.delete_at > ts):
            return None
        gone = info_of(row, account, container)
        expired = row.delete_at is not None and row.delete_at <= ts
        c.object_count -= 1
        c.bytes_used -= row.size
        s.delete(row)
    backend.delete(gone.blob)
    return None if expired and not only_expired else gone
