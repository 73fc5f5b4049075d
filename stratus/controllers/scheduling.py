"""Scheduling sweep: re-schedule instances a dead worker left in ``scheduling``.

The API schedules new instances in a background task; if that worker dies
(process killed, API restart) the instance would wait forever.  ``sweep``
finds instances in ``task_state="scheduling"`` untouched for ``older_than``
seconds and schedules them again; scheduling is level-triggered and guarded
in the database (scheduler/placement.py), so a sweep racing a live worker
places each instance at most once.  ``SchedulingController`` runs the sweep
on a timer in a daemon thread (``stratus up``; a separate ``stratus controller`` process is future work).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from sqlalchemy import func, select

from stratus.db.base import Database
from stratus.db.models.compute import Instance
from stratus.scheduler import service
from stratus.scheduler.state_loader import utcnow

LOG = logging.getLogger(__name__)


def stale_scheduling(db: Database, older_than: float, now: dt.datetime | None = None,
                     limit: int = 500) -> list[str]:
    """UUIDs of live instances in ``scheduling`` not touched for ``older_than`` s."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=older_than)
    touched = func.coalesce(Instance.updated_at, Instance.created_at)
    with db.session() as s:
        return list(s.scalars(
            select(Instance.uuid).where(Instance.deleted == 0,
                                        Instance.task_state == "scheduling",
                                        touched <= cutoff)
            .order_by(Instance.created_at, Instance.id).limit(limit)))


def sweep(db: Database, conf: Any, older_than: float = 30) -> int:
    """Schedule the stale instances; returns how many were found."""
    uuids = stale_scheduling(db, older_than)
    if uuids:
        LOG.info("re-scheduling %d instance(s) left in scheduling", len(uuids))
        service.schedule(db, conf, uuids)
    return len(uuids)


class SchedulingController:
    """Runs :func:`sweep` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, db: Database, conf: Any, interval: float = 5.0, older_than: float = 30):
        self.db, self.conf = db, conf
        self.interval, self.older_than = interval, older_than
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scheduling-sweep", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep(self.db, self.conf, self.older_than)
            except Exception:  # keep sweeping; the next round retries
                LOG.exception("scheduling sweep failed")
