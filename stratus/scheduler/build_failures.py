"""A host's count of consecutive failed builds (``compute_node.failed_builds``),
which BuildFailureWeigher uses to sink hosts that keep failing.

As nova's compute manager: every build that fails on a host (the scheduler
reschedules it away, ``service.reschedule`` with ``failed_host``) adds one;
an instance becoming ACTIVE on a host (its agent's status report) resets the
count to 0.  Each is one UPDATE in the caller's transaction, atomic under
concurrent reports.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from stratus.db.models.compute import ComputeNode


def record_failure(session: Session, host: str | None) -> None:
    """One more failed build on ``host`` (nothing when it is unknown/None)."""
    if not host:
        return
    cn = ComputeNode.__table__.c
    session.execute(update(ComputeNode.__table__).where(cn.host == host)
                    .values(failed_builds=cn.failed_builds + 1)
                    .execution_options(synchronize_session=False))


def record_success(session: Session, host: str | None) -> None:
    """A build succeeded on ``host``: its failure count goes back to 0.
    Writes only when the count is not already 0 (no write on every report)."""
    if not host:
        return
    cn = ComputeNode.__table__.c
    session.execute(update(ComputeNode.__table__)
                    .where(cn.host == host, cn.failed_builds != 0)
                    .values(failed_builds=0)
                    .execution_options(synchronize_session=False))
