"""An ``identity`` revision counter bumped in the same transaction as any change
to an identity table, so every API worker can cheaply tell whether its caches
(validated tokens, revocation events, catalog) are still current: one indexed
single-row read per request instead of re-validating everything."""
from __future__ import annotations

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from stratus.db.models import identity as m

NAME = "identity"
_FLAG = "stratus_identity_changed"


def _is_identity(obj) -> bool:
    return type(obj).__module__ == m.__name__ and not isinstance(obj, m.Revision)


@event.listens_for(Session, "before_flush")
def _note_changes(session, _ctx, _instances):
    if any(_is_identity(o) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_FLAG] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state):
    if state.is_delete or state.is_update:
        mapper = state.bind_mapper
        if mapper is not None and mapper.class_.__module__ == m.__name__ \
                and mapper.class_ is not m.Revision:
            state.session.info[_FLAG] = True


@event.listens_for(Session, "before_commit")
def _bump(session):
    # before_commit runs before the final autoflush, so pending objects are
    # looked at here too, not only what earlier flushes saw.
    pending = any(_is_identity(o) for o in (*session.new, *session.dirty, *session.deleted))
    if session.info.pop(_FLAG, False) or pending:
        bump(session)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(_FLAG, None)


def bump(session: Session) -> None:
    res = session.execute(update(m.Revision).where(m.Revision.name == NAME)
                          .values(value=m.Revision.value + 1))
    if res.rowcount == 0:
        session.add(m.Revision(name=NAME, value=1))
        session.flush()


def current(conn) -> int:
    """The revision, read through a Session or a Connection."""
    return conn.execute(select(m.Revision.value).where(m.Revision.name == NAME)).scalar() or 0
