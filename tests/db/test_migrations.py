"""Migrations on SQLite and on PostgreSQL (STRATUS_TEST_DATABASE_URL)."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

import stratus.db.models  # noqa: F401
from stratus.db import migrate
from stratus.db.base import Base, Database
from stratus.db.models import identity as m
from stratus.identity import revision

PG = os.environ.get("STRATUS_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/t.sqlite"
        return
    if not PG:
        pytest.skip("PostgreSQL tests need STRATUS_TEST_DATABASE_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1/postgres)")
    name = f"stratus_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_sync_is_idempotent_and_reaches_head(db_url):
    assert migrate.sync(db_url) == migrate.head()
    assert migrate.sync(db_url) == migrate.head()


def test_migrations_match_the_models(db_url):
    migrate.sync(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_identity_writes_bump_the_revision_in_the_same_transaction(db_url):
    migrate.sync(db_url)
    db = Database(db_url, 2)
    with db.session() as s:
        before = revision.current(s)
    with db.session() as s:
        s.add(m.Region(id="R9", description=""))
    with db.session() as s:
        after = revision.current(s)
    assert after == before + 1
    with db.session() as s:  # a read-only transaction does not bump
        s.get(m.Region, "R9")
    with db.session() as s:
        assert revision.current(s) == after
    # a failed transaction leaves the revision alone
    with pytest.raises(RuntimeError):
        with db.session() as s:
            s.add(m.Region(id="R10", description=""))
            s.flush()
            raise RuntimeError("boom")
    with db.session() as s:
        assert revision.current(s) == after
        assert s.get(m.Region, "R10") is None
    db.dispose()
