"""Schema migrations with Alembic, driven programmatically (no alembic.ini).

``sync(url)`` upgrades a database to the newest revision; it is idempotent and
is what ``stratus db sync`` and ``stratus up`` call.
"""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", os.path.join(HERE, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["url"] = url
    return cfg


def sync(url: str) -> str:
    """Upgrade to head; returns the revision now in force."""
    from stratus.db.base import make_engine
    make_engine(url).dispose()  # creates the SQLite directory if needed
    command.upgrade(alembic_config(url), "head")
    return current(url)


def current(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
