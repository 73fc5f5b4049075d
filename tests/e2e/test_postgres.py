"""Stratus on PostgreSQL: the all-in-one server and the multi-worker API
(``stratus api --workers 2``) on a fresh database per test session, created and
dropped here through psycopg on the ``postgres`` maintenance database.

Runs only when STRATUS_TEST_DATABASE_URL is set, e.g.
``postgresql+psycopg://postgres@127.0.0.1/stratus_test`` (only its server,
user and password are used; the database name is generated)."""
from __future__ import annotations

import concurrent.futures
import os
import re
import uuid

import httpx
import pytest

from conftest import Cloud, ServerPool, assert_error, ok, unique

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ENV = "STRATUS_TEST_DATABASE_URL"


class PgDatabases:
    """Creates uniquely named databases next to the one in the URL; drops them."""

    def __init__(self, base_url: str):
        from sqlalchemy.engine import make_url
        self.base = make_url(base_url)
        if not self.base.drivername.startswith("postgresql"):
            pytest.fail(f"{ENV} must be a postgresql URL, not {self.base.drivername}")
        self.maintenance = self.base.set(drivername="postgresql", database="postgres") \
            .render_as_string(hide_password=False)
        self.created: list[str] = []

    def _admin(self):
        import psycopg
        return psycopg.connect(self.maintenance, autocommit=True, connect_timeout=10)

    def create(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"stratus_e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def connect(self, url: str):
        import psycopg
        from sqlalchemy.engine import make_url
        return psycopg.connect(make_url(url).set(drivername="postgresql")
                               .render_as_string(hide_password=False), autocommit=True)

    def drop_all(self) -> None:
        with self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases():
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"{ENV} is not set: PostgreSQL tests skipped (set it to e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1/stratus_test)")
    dbs = PgDatabases(url)
    try:
        dbs._admin().close()
    except Exception as exc:  # a misconfigured CI must not pass silently
        pytest.fail(f"{ENV}={url}: cannot reach the maintenance database: {exc}")
    try:
        yield dbs
    finally:
        dbs.drop_all()


def pg_conf(url: str) -> str:
    return f"[database]\nconnection = {url}\n"


@pytest.fixture(scope="module")
def pg_cloud(pg_databases, module_servers: ServerPool) -> Cloud:
    url = pg_databases.create()
    cloud = module_servers.start(extra_conf=pg_conf(url))
    cloud.db_url = url  # type: ignore[attr-defined]
    return cloud



def test_db_sync_is_idempotent_on_postgres(pg_cloud: Cloud, pg_databases):
    cloud = pg_cloud
    with cloud.admin_http() as api:
        before = ok(api.get("projects"))["projects"]
    first = cloud.stratus("db", "sync")
    second = cloud.stratus("db", "sync")
    rev = re.search(r"revision (\S+)", first.stdout)
    assert rev, first.stdout
    assert second.stdout == first.stdout, (first.stdout, second.stdout)
    version = cloud.stratus("db", "version").stdout.strip()
    assert version == rev.group(1)
    with pg_databases.connect(cloud.db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == \
            [(version,)]
    # The running server and its data are untouched.
    with cloud.admin_http() as api:
        assert ok(api.get("projects"))["projects"] == before


def test_postgres_cli_crud_and_token_flow(pg_cloud: Cloud, pg_databases):
    cloud = pg_cloud
    assert not (cloud.state_dir / "stratus.sqlite").exists(), "SQLite used instead of PG"
    project, user = unique("pgproj"), unique("pguser")
    tok, p = cloud.openstack_many(("token", "issue"),
                                  ("project", "create", "--description", "on pg", project))
    assert tok["id"] and p["name"] == project
    u = cloud.openstack("user", "create", "--password", "pg-pw", "--project", project,
                        "--email", "pg@example.org", user)
    cloud.openstack("role", "add", "--user", user, "--project", project, "member",
                    json_out=False)
    listed, assignments = cloud.openstack_many(
        ("project", "list"), ("role", "assignment", "list", "--names", "--project", project))
    assert project in {x["Name"] for x in listed}
    assert [(a["Role"], a["User"]) for a in assignments] == [("member", f"{user}@Default")]

    # The rows really are in PostgreSQL.
    with pg_databases.connect(cloud.db_url) as conn:
        assert conn.execute("SELECT description FROM project WHERE id = %s",
                            (p["id"],)).fetchall() == [("on pg",)]
        assert conn.execute('SELECT name FROM "user" WHERE id = %s',
                            (u["id"],)).fetchall() == [(user,)]

    # The user's own clouds.yaml; the token is revoked at once.
    cfg = cloud.write_clouds_yaml("pguser", user, "pg-pw", project)
    utok = cloud.openstack("token", "issue", cloud="pguser", config=cfg)
    assert utok["project_id"] == p["id"] and utok["user_id"] == u["id"]
    with cloud.http(utok["id"]) as http:
        assert ok(http.get("auth/projects"))["projects"][0]["id"] == p["id"]
        cloud.openstack("token", "revoke", utok["id"], json_out=False)
        assert_error(http.get("auth/projects"), 401)

    cloud.openstack("user", "delete", user, json_out=False)
    cloud.openstack("project", "delete", project, json_out=False)
    with cloud.admin_http() as api:
        assert_error(api.get(f"projects/{p['id']}"), 404)
    with pg_databases.connect(cloud.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM project WHERE id = %s",
                            (p["id"],)).fetchone() == (0,)


def test_multi_worker_api_honours_revocation_on_every_worker(pg_databases, stratus_servers):
    url = pg_databases.create()
    cloud = stratus_servers.start(extra_conf=pg_conf(url), command="api",
                                  extra_args=("--workers", "2"))
    admin = cloud.token("admin", cloud.admin_password, project="admin")
    demo = cloud.token("demo", cloud.demo_password, project="demo")

    def fresh_get(token: str, path: str) -> int:
        # A new connection each time, so requests spread over the workers.
        with httpx.Client(base_url=cloud.url + "/", trust_env=False, timeout=30,
                          headers={"X-Auth-Token": token, "Connection": "close"}) as http:
            return http.get(path).status_code

    def hammer(token: str, path: str, n: int = 20) -> list[int]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda _: fresh_get(token, path), range(n)))

    with cloud.http(admin) as api:
        p = ok(api.post("projects", json={"project": {"name": unique("mw")}}), 201)["project"]
    # Every worker sees the new project and caches the valid demo token.
    assert hammer(admin, f"projects/{p['id']}") == [200] * 20
    assert hammer(demo, "auth/projects") == [200] * 20

    # Both workers took part (the access log names the worker's pid).
    log = cloud.server.out_path.read_text(errors="replace")
    pids = set(re.findall(r"^\S+ \S+ (\d+) INFO stratus\.access", log, re.M))
    assert len(pids) == 2, f"requests were not spread over 2 workers: {sorted(pids)}"

    with cloud.http(admin) as api:
        r = api.delete("auth/tokens", headers={"X-Subject-Token": demo})
        assert r.status_code == 204, r.text
    statuses = hammer(demo, "auth/projects")
    assert statuses == [401] * 20, statuses
    # The other tokens are unaffected on every worker.
    assert hammer(admin, f"projects/{p['id']}", 10) == [200] * 10
