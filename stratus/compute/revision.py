"""The per-host revision counter host agents watch.

Every write an agent must act on (an instance assigned, an action requested,
a delete) bumps ``compute_node.revision`` of the instance's host in the same
transaction, so ``GET /agent/v1/hosts/{host}/state?since=N`` can answer
"nothing changed" cheaply and never miss a change.
"""
from __future__ import annotations

from sqlalchemy import select, update

from stratus.db.models.compute import ComputeNode


def bump(session, host: str | None) -> int | None:
    """Increment the revision of ``host`` (an atomic UPDATE, safe under
    concurrency); returns the new revision, or None when ``host`` is None or
    not a registered compute node."""
    if not host:
        return None
    result = session.execute(update(ComputeNode).where(ComputeNode.host == host)
                             .values(revision=ComputeNode.revision + 1)
                             .execution_options(synchronize_session=False))
    if result.rowcount == 0:
        return None
    return session.execute(select(ComputeNode.revision)
                           .where(ComputeNode.host == host)).scalar_one()


def current(session, host: str) -> int:
    """The host's revision (0 for an unknown host)."""
    rev = session.execute(select(ComputeNode.revision).where(ComputeNode.host == host)).scalar()
    return rev or 0
