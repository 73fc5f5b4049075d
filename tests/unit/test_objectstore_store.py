"""The object store against a real SQLite database and disk: the ingest
contract, last-writer-wins, exact usage under concurrent writers, staged
files never visible, large-object reading, the expiry reaper."""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from stratus.common.config import Config
from stratus.db import migrate
from stratus.db.base import Database
from stratus.objectstore import errors, expirer, ingest, store

ACCT = "AUTH_p1"
OWNER = SimpleNamespace(user_id="u1", user_name="alice", project_id="p1", project_name="x",
                        roles=["member"])
STRANGER = SimpleNamespace(user_id="u2", user_name="bob", project_id="p2", project_name="y",
                           roles=["member"])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("objdb") / "template.sqlite"
    migrate.sync(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, template):
    """A migrated database: a copy of the SQLite template, or a fresh PostgreSQL
    database when STRATUS_TEST_DATABASE_URL names a server (else skipped)."""
    if request.param == "sqlite":
        shutil.copy(template, tmp_path / "o.sqlite")
        database = Database(f"sqlite:///{tmp_path}/o.sqlite", 8)
        yield database
        database.dispose()
        return
    base = os.environ.get("STRATUS_TEST_DATABASE_URL")
    if not base:
        pytest.skip("STRATUS_TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
    name = f"stratus_os_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.sync(url)
        database = Database(url, 8)
        yield database
        database.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def conf(tmp_path):
    return Config(overrides={"DEFAULT": {"state_path": str(tmp_path)}})


@pytest.fixture
def container(db):
    with db.session() as s:
        store.ensure_account(s, ACCT)
        s.add(store.SwiftContainer(account=ACCT, name="c", created=1.0, meta={}, read_acl="",
                                   write_acl="", object_count=0, bytes_used=0))
    return "c"


def stage(conf, data: bytes) -> str:
    path = os.path.join(ingest.staging_dir(conf), os.urandom(8).hex())
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def usage(db):
    with db.session() as s:
        c = store.get_container(s, ACCT, "c")
        return c.object_count, c.bytes_used


def test_commit_and_open(db, conf, container):
    info = ingest.commit_file(db, conf, ACCT, "c", "a/b", stage(conf, b"hello"),
                              etag=hashlib.md5(b"hello").hexdigest(), content_type="text/plain",
                              metadata={"color": "red"})
    assert (info.size, info.etag, info.content_type) == (5, hashlib.md5(b"hello").hexdigest(),
                                                         "text/plain")
    assert info.metadata == {"x-object-meta-color": "red"}
    f, got = ingest.open_object(db, conf, ACCT, "c", "a/b")
    with f:
        assert f.read() == b"hello"
    assert got.name == "a/b" and usage(db) == (1, 5)
    assert not os.listdir(ingest.staging_dir(conf))


def test_commit_etag_mismatch_leaves_nothing(db, conf, container):
    path = stage(conf, b"data")
    with pytest.raises(errors.Unprocessable) as exc:
        ingest.commit_file(db, conf, ACCT, "c", "o", path, etag="0" * 32)
    assert exc.value.status == 422
    assert not os.path.exists(path)
    with pytest.raises(errors.NotFound):
        ingest.open_object(db, conf, ACCT, "c", "o")
    assert usage(db) == (0, 0)


def test_commit_missing_container(db, conf):
    with pytest.raises(errors.NotFound):
        ingest.commit_file(db, conf, ACCT, "nope", "o", stage(conf, b"x"))


def test_authorize(db, conf, container):
    ingest.authorize_write(db, conf, OWNER, ACCT, "c")
    with pytest.raises(errors.Forbidden) as exc:
        ingest.authorize_write(db, conf, STRANGER, ACCT, "c")
    assert exc.value.status == 403
    with pytest.raises(errors.NotFound):
        ingest.authorize_write(db, conf, OWNER, ACCT, "missing")
    ingest.commit_file(db, conf, ACCT, "c", "o", stage(conf, b"abc"))
    assert ingest.authorize_read(db, conf, OWNER, ACCT, "c", "o").size == 3
    with pytest.raises(errors.Forbidden):
        ingest.authorize_read(db, conf, STRANGER, ACCT, "c", "o")
    with db.session() as s:
        store.get_container(s, ACCT, "c").read_acl = "p2:*"
    assert ingest.authorize_read(db, conf, STRANGER, ACCT, "c", "o").etag == \
        hashlib.md5(b"abc").hexdigest()
    with pytest.raises(errors.NotFound):
        ingest.authorize_read(db, conf, OWNER, ACCT, "c", "other")


def test_last_writer_wins_by_timestamp(db, conf, container):
    ingest.commit_file(db, conf, ACCT, "c", "o", stage(conf, b"newer"), timestamp=200.0)
    info = ingest.commit_file(db, conf, ACCT, "c", "o", stage(conf, b"older!"), timestamp=100.0)
    assert info.timestamp == 200.0  # the older write finished later and lost
    f, info = ingest.open_object(db, conf, ACCT, "c", "o")
    with f:
        assert f.read() == b"newer"
    assert usage(db) == (1, 5)
    blobs = [k for d in os.listdir(os.path.join(conf.state_path, "objects", "blobs"))
             for k in os.listdir(os.path.join(conf.state_path, "objects", "blobs", d))]
    assert blobs == [info.blob]  # the losing blob was removed


def test_reader_keeps_old_version_across_replace(db, conf, container):
    ingest.commit_file(db, conf, ACCT, "c", "o", stage(conf, b"one"), timestamp=1.0)
    f, _ = ingest.open_object(db, conf, ACCT, "c", "o")
    ingest.commit_file(db, conf, ACCT, "c", "o", stage(conf, b"two"), timestamp=2.0)
    with f:
        assert f.read() == b"one"
    f, _ = ingest.open_object(db, conf, ACCT, "c", "o")
    with f:
        assert f.read() == b"two"


def test_usage_exact_under_concurrency(db, conf, container):
    def writer(i):
        for j in range(5):
            ingest.commit_file(db, conf, ACCT, "c", f"o{j % 3}-{i % 2}",
                               stage(conf, b"x" * (i + 1)), timestamp=store.now())
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as s:
        c = store.get_container(s, ACCT, "c")
        rows = store.fetch_objects(s, c.id, None, None, "", 100, False)
        assert (c.object_count, c.bytes_used) == (len(rows), sum(r.size for r in rows))
    assert len(rows) == 6


def test_dlo_and_slo_open(db, conf, container):
    for i, part in enumerate((b"aa", b"bbb", b"c")):
        ingest.commit_file(db, conf, ACCT, "c", f"seg/{i}", stage(conf, part))
    ingest.commit_file(db, conf, ACCT, "c", "dlo", stage(conf, b""),
                       metadata={"x-object-manifest": "c/seg/"})
    f, info = ingest.open_object(db, conf, ACCT, "c", "dlo")
    with f:
        assert f.read() == b"aabbbc"
    assert info.size == 6
    segs = [{"path": "/c/seg/2", "etag": hashlib.md5(b"c").hexdigest(), "size_bytes": 1,
             "range": None},
            {"path": "/c/seg/1", "etag": hashlib.md5(b"bbb").hexdigest(), "size_bytes": 2,
             "range": [1, 2]}]
    store.write_object(db, ingest.backend_for(conf), ACCT, "c", "slo", stage(conf, b"[]"),
                       size=3, etag="e", content_type="x", metadata={}, timestamp=store.now(),
                       manifest="slo", segments=segs)
    f, info = ingest.open_object(db, conf, ACCT, "c", "slo")
    with f:
        assert f.read() == b"cbb"


def test_reaper_deletes_expired(db, conf, container):
    backend = ingest.backend_for(conf)
    for name, at in (("old", 50.0), ("new", 10**12)):
        store.write_object(db, backend, ACCT, "c", name, stage(conf, b"zz"), size=2, etag="e",
                           content_type="x", metadata={}, timestamp=1.0, delete_at=at)
    with db.session() as s:
        c = store.get_container(s, ACCT, "c")
        assert store.live_object(s, c.id, "old", at=100.0) is None  # expired: invisible
    assert expirer.reap(db, conf, at=100.0) == 1
    assert usage(db) == (1, 2)
    assert expirer.reap(db, conf, at=100.0) == 0
