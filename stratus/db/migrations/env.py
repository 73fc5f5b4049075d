"""Alembic environment: runs migrations online against the configured URL."""
from alembic import context
from sqlalchemy import create_engine, pool

from stratus.db.base import Base
import stratus.db.models  # noqa: F401  (registers every table)

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")


def run() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=url.startswith("sqlite"), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
