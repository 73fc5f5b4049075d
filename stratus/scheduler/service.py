"""Scheduling entry points: ``schedule``, ``reschedule`` and ``explain``.

``schedule`` is level-triggered and safe to call any number of times, from
any number of threads or processes: it only acts on instances still in
``task_state="scheduling"`` (rows may be deleted meanwhile) and every
placement is one transaction guarded by the instance's task state, the
server group lock and the atomic claim (placement.py).

For each instance: read host states and resolve the request (state_loader),
pick a cell and run the configured driver's filters and weighers in it
(cells, drivers, pipeline: pure), then try to place on the candidates in
order; a lost claim race moves on to the next candidate, and after a few
losses (or a server-group conflict) the view is refreshed.  No
candidate at all ends in ERROR with a "No valid host was found." fault that
names the filter that removed the last hosts.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from sqlalchemy import select

from stratus.db.base import Database
from stratus.db.models.compute import Instance, InstanceFault
from stratus.scheduler import cells, claims, drivers, placement, request, state_loader
from stratus.scheduler.pipeline import NO_VALID_HOST, Pipeline
from stratus.scheduler.placement import Outcome

LOG = logging.getLogger(__name__)
CANDIDATES_PER_ROUND = 5     # claims tried before refreshing the view of the hosts
MAX_ROUNDS = 10              # refreshes before giving up on a contended instance


def schedule(db: Database, conf: Any, uuids: Iterable[str]) -> None:
    """Place each instance of ``uuids`` that still waits in ``scheduling``."""
    pipe = drivers.load(conf)
    for uuid in uuids:
        try:
            _schedule_one(db, conf, pipe, uuid)
        except Exception:  # one bad instance must not stop the others; sweep retries
            LOG.exception("scheduling instance %s failed", uuid)


def _load(db: Database, conf: Any, uuid: str):
    """(spec, host states) for an instance still scheduling, else None."""
    with db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted == 0))
        if inst is None or inst.task_state != "scheduling":
            return None
        spec = state_loader.resolve(s, request.from_instance(inst))
        return spec, state_loader.load_hosts(s, conf)


def _schedule_one(db: Database, conf: Any, pipe: Pipeline, uuid: str) -> None:
    for _ in range(MAX_ROUNDS):
        loaded = _load(db, conf, uuid)
        if loaded is None:
            return
        spec, hosts = loaded
        result = cells.decide(pipe, hosts, spec, conf)
        if not result.weighed:
            placement.fail(db, uuid, result.fault_message(), result.details())
            return
        for host in pipe.candidates(result)[:CANDIDATES_PER_ROUND]:
            outcome = placement.place(db, spec, host)
            if outcome in (Outcome.PLACED, Outcome.GONE):
                return
            if outcome is Outcome.GROUP_CONFLICT:
                break          # another member moved: refresh the group's hosts
    placement.fail(db, uuid, NO_VALID_HOST + "Claims kept failing on contended hosts.",
                   f"gave up after {MAX_ROUNDS} refreshes of the host states")


def reschedule(db: Database, conf: Any, uuid: str, failed_host: str | None,
               reason: str) -> None:
    """A build failed on ``failed_host``: release its claim, remember the host
    and schedule again, or ERROR once ``max_attempts`` builds have failed.
    Does nothing for a deleted instance, one no longer building, or one
    being deleted."""
    max_attempts = max(1, int(conf.filter_scheduler.max_attempts))
    with db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted == 0))
        if inst is None or inst.vm_state != "building" or inst.task_state == "deleting":
            return          # gone, settled, or being deleted (the delete path releases)
        claims.release(s, uuid)
        from stratus.scheduler import build_failures
        build_failures.record_failure(s, failed_host)   # BuildFailureWeigher
        placement.bump_revision(s, inst.host)   # the failed host's agent drops it
        raw = request.with_retry(inst.request_spec, failed_host)
        inst.request_spec = raw
        inst.host = inst.node = None
        inst.updated_at = state_loader.utcnow()
        if raw["retry"]["num_attempts"] >= max_attempts:
            inst.vm_state, inst.task_state = "error", None
            s.add(InstanceFault(
                instance_uuid=uuid, code=500,
                message=(f"Exceeded maximum number of retries. Exceeded max scheduling "
                         f"attempts {max_attempts} for instance {uuid}. "
                         f"Last exception: {reason}")[:255],
                details=f"hosts tried: {', '.join(raw['retry']['hosts'])}\n{reason}"))
            return
        inst.task_state = "scheduling"
    schedule(db, conf, [uuid])


def explain(db: Database, conf: Any, spec: request.RequestSpec) -> dict:
    """What the configured driver decides for ``spec`` now, without claiming:
    the driver, the cell stage, per-filter survivors and removed hosts, the
    final weights best first, and the reason when nothing fits (for the admin
    explain API; the document is described in docs/scheduler.md)."""
    with db.session() as s:
        resolved = state_loader.resolve(s, spec)
        hosts = state_loader.load_hosts(s, conf)
    pipe = drivers.load(conf)
    decision = cells.decide(pipe, hosts, resolved, conf, explain=True)
    return {"driver": pipe.driver, **decision.as_dict()}
