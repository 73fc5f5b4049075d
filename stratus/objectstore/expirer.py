"""The reaper: deletes objects whose X-Delete-At has passed (readers already
get 404 for them) and collects blobs no row references (left by a crash
between a blob's commit and its row update, or by writers that died).

:func:`reap` is one level-triggered pass; :class:`ExpirerController` runs it
every ``[object_store] expirer_interval`` seconds in a daemon thread beside
the API (``stratus up``).  Deleting re-checks the row under the container
lock, so a reaper racing a client that re-PUT the object removes nothing new.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from stratus.db.models.object_store import SwiftContainer, SwiftObject
from stratus.objectstore import errors, ingest, store

LOG = logging.getLogger(__name__)
ORPHAN_AGE = 3600.0  # seconds a blob may stay unreferenced (an upload in flight)


def expired(db, at: float, limit: int = 500) -> list[tuple[str, str, str]]:
    """(account, container, object) of objects expired at ``at``."""
    with db.session() as s:
        rows = s.execute(select(SwiftContainer.account, SwiftContainer.name, SwiftObject.name)
                         .join(SwiftContainer, SwiftContainer.id == SwiftObject.container_id)
                         .where(SwiftObject.delete_at.is_not(None), SwiftObject.delete_at <= at)
                         .order_by(SwiftObject.delete_at).limit(limit))
        return [tuple(r) for r in rows]


def reap(db, conf, at: float | None = None, orphans: bool = True) -> int:
    """Delete expired objects (and unreferenced blobs); how many objects went."""
    at = at or store.now()
    backend = ingest.backend_for(conf)
    n = 0
    for account, container, name in expired(db, at):
        try:
            if store.delete_object(db, backend, account, container, name, at, only_expired=True):
                n += 1
        except errors.NotFound:
            pass
    if orphans:
        def referenced(key: str) -> bool:
            with db.session() as s:
                return s.scalar(select(SwiftObject.id).where(SwiftObject.blob == key)) is not None
        for key in list(backend.orphans(referenced, ORPHAN_AGE)):
            backend.delete(key)
    if n:
        LOG.info("reaped %d expired object(s)", n)
    return n


class ExpirerController:
    """Runs :func:`reap` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, db, conf, interval: float | None = None):
        self.db, self.conf = db, conf
        self.interval = conf.object_store.expirer_interval if interval is None else interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round = 0

    def start(self) -> None:
        if self.interval <= 0 or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="object-expirer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._round += 1
            try:  # orphan blobs are rare: look for them every 60th round
                reap(self.db, self.conf, orphans=self._round % 60 == 1)
            except Exception:  # keep reaping; the next round retries
                LOG.exception("object expirer pass failed")
