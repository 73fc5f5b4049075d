"""``stratus db sync|version``: schema migrations."""
from __future__ import annotations

from stratus.cmd.common import load_config


def register(sub) -> None:
    p = sub.add_parser("db", help="database schema migrations")
    dsub = p.add_subparsers(dest="db_command", required=True)
    s = dsub.add_parser("sync", help="upgrade the database to the newest schema (idempotent)")
    s.add_argument("--state-dir", default=None)
    s.set_defaults(func=sync)
    v = dsub.add_parser("version", help="print the schema revision in force")
    v.add_argument("--state-dir", default=None)
    v.set_defaults(func=version)


def sync(args) -> int:
    from stratus.db import migrate     # alembic + SQLAlchemy: on call only
    conf = load_config(args, args.state_dir)
    print(f"database at revision {migrate.sync(conf.database_url)}")
    return 0


def version(args) -> int:
    from stratus.db import migrate
    conf = load_config(args, args.state_dir)
    print(migrate.current(conf.database_url) or "empty")
    return 0
