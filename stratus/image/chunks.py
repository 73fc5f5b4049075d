"""Reference counting of stored chunks in the database, garbage collection and
start-up recovery.

Invariant: a chunk file may be removed only when no ``image_chunk`` row refers
to it.  Writers *pin* a chunk (refcount + 1, committed) before they write its
file, and the removal of a chunk happens inside the transaction that drops its
last reference, so a writer and a remover never race on the same file.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from stratus.db.models import image as m
from stratus.image.store import ChunkStore

LOG = logging.getLogger(__name__)


def pin(session, digest: str, size: int) -> None:
    """Add one reference to ``digest`` (creating its row if new)."""
    res = session.execute(update(m.Chunk).where(m.Chunk.digest == digest)
                          .values(refcount=m.Chunk.refcount + 1))
    if res.rowcount:
        return
    try:
        with session.begin_nested():
            session.add(m.Chunk(digest=digest, size=size, refcount=1))
    except IntegrityError:  # someone inserted it meanwhile
        session.execute(update(m.Chunk).where(m.Chunk.digest == digest)
                        .values(refcount=m.Chunk.refcount + 1))


def add_image_chunk(session, image_id: str, seq: int, digest: str, size: int) -> None:
    pin(session, digest, size)
    session.add(m.ImageChunk(image_id=image_id, seq=seq, digest=digest, size=size))
    session.flush()


def release_image(session, store: ChunkStore, image_id: str) -> int:
    """Drop every chunk reference of ``image_id``; chunks nobody uses any more
    are deleted (row and file).  Returns how many chunk files were removed."""
    rows = session.execute(select(m.ImageChunk.digest).where(
        m.ImageChunk.image_id == image_id)).scalars().all()
    if not rows:
        return 0
    counts: dict[str, int] = {}
    for d in rows:
        counts[d] = counts.get(d, 0) + 1
    session.execute(delete(m.ImageChunk).where(m.ImageChunk.image_id == image_id))
    for digest, n in counts.items():
        session.execute(update(m.Chunk).where(m.Chunk.digest == digest)
                        .values(refcount=m.Chunk.refcount - n))
    return _drop_unreferenced(session, store, list(counts))


def _drop_unreferenced(session, store: ChunkStore, digests: list[str] | None) -> int:
    q = select(m.Chunk.digest).where(m.Chunk.refcount <= 0)
    if digests is not None:
        q = q.where(m.Chunk.digest.in_(digests))
    dead = session.execute(q).scalars().all()
    if dead:
        session.execute(delete(m.Chunk).where(m.Chunk.digest.in_(dead)))
        session.flush()
        for d in dead:
            store.remove(d)
    return len(dead)


def collect_garbage(session, store: ChunkStore) -> int:
    """Remove chunk rows nobody refers to and chunk files with no row (left by
    a crash between writing a file and committing its reference)."""
    removed = _drop_unreferenced(session, store, None)
    on_disk = set(store.digests())
    known = set(session.execute(select(m.Chunk.digest)).scalars())
    for digest in on_disk - known:
        store.remove(digest)
        removed += 1
    store.remove_temporaries()
    return removed


def recover(db, store: ChunkStore) -> dict:
    """At start-up: uploads that were in progress when the server stopped can
    never finish, so their images go back to ``queued`` with no data, and the
    chunks only they used are garbage-collected."""
    with db.session() as s:
        stuck = s.execute(select(m.Image.id).where(m.Image.status == "saving")).scalars().all()
        for image_id in stuck:
            release_image(s, store, image_id)
            s.execute(update(m.Image).where(m.Image.id == image_id)
                      .values(status="queued", size=None, virtual_size=None, checksum=None,
                              os_hash_algo=None, os_hash_value=None))
        removed = collect_garbage(s, store)
    if stuck or removed:
        LOG.info("image recovery: %d interrupted upload(s) reset, %d chunk(s) collected",
                 len(stuck), removed)
    return {"reset": list(stuck), "collected": removed}
