"""The chunk store, refcounting, dedup, garbage collection and crash recovery."""
from __future__ import annotations

import os
import types

import pytest
from sqlalchemy import func, select

from stratus.common import errors
from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models import image as m
from stratus.image import api as image_api
from stratus.image import chunks, importer
from stratus.image.store import ChunkStore
from stratus.image.upload import Upload, virtual_size

KB = 1024


@pytest.fixture
def env(tmp_path):
    conf = Config(None, {"DEFAULT": {"state_path": str(tmp_path)},
                         "image": {"chunk_size_kb": 4, "image_size_cap": 200 * KB}})
    db = Database(f"sqlite:///{tmp_path}/t.sqlite")
    import stratus.db.models  # noqa: F401  (register every table)
    Base.metadata.create_all(db.engine)
    store = ChunkStore.from_conf(conf)
    yield types.SimpleNamespace(conf=conf, db=db, store=store, tmp=tmp_path)
    db.dispose()


def new_image(env, owner="p1", disk_format="raw") -> str:
    with env.db.session() as s:
        return image_api.new_image(s, owner=owner, fields={
            "name": "x", "disk_format": disk_format, "container_format": "bare"}).id


def upload(env, image_id, data: bytes, block=3000) -> dict:
    up = Upload(env.db, env.conf, env.store, image_id)
    up.begin(len(data))
    for i in range(0, len(data), block):
        up.feed(data[i:i + block])
    return up.finish()


def counts(env):
    with env.db.session() as s:
        return (s.execute(select(func.count()).select_from(m.Chunk)).scalar(),
                len(list(env.store.digests())))


def read_image(env, image_id) -> bytes:
    with env.db.session() as s:
        ds = s.execute(select(m.ImageChunk.digest).where(m.ImageChunk.image_id == image_id)
                       .order_by(m.ImageChunk.seq)).scalars().all()
    return b"".join(env.store.read(d) for d in ds)


def test_store_write_is_atomic_and_idempotent(tmp_path):
    st = ChunkStore(str(tmp_path))
    d = st.digest_of(b"abc")
    assert st.write(d, b"abc") is True
    assert st.write(d, b"abc") is False
    assert st.read(d) == b"abc"
    assert list(st.digests()) == [d]
    assert not [n for n in os.listdir(os.path.dirname(st.path(d))) if n.startswith(".tmp")]
    with pytest.raises(ValueError):
        st.path("../../etc/passwd")


def test_upload_hashes_and_roundtrip(env):
    data = os.urandom(10 * KB + 7)
    iid = new_image(env)
    fields = upload(env, iid, data)
    import hashlib
    assert fields["checksum"] == hashlib.md5(data).hexdigest()
    assert fields["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert fields["size"] == len(data) and fields["virtual_size"] == len(data)
    assert read_image(env, iid) == data
    with env.db.session() as s:
        assert s.get(m.Image, iid).status == "active"
    assert counts(env) == (3, 3)


def test_identical_data_is_stored_once_and_snapshot_costs_little(env):
    base = os.urandom(40 * KB)
    a, b = new_image(env), new_image(env)
    upload(env, a, base)
    assert counts(env) == (10, 10)
    upload(env, b, base)                     # same data again: no new chunk
    assert counts(env) == (10, 10)
    snap = bytearray(base)
    snap[5 * KB] ^= 0xFF                     # one byte differs: one new chunk
    c = new_image(env)
    upload(env, c, bytes(snap))
    assert counts(env) == (11, 11)
    assert read_image(env, c) == bytes(snap)
    with env.db.session() as s:
        refs = dict(s.execute(select(m.Chunk.digest, m.Chunk.refcount)).all())
    assert sorted(refs.values()).count(3) == 9 and sorted(refs.values()).count(2) == 1


def test_delete_decrements_and_removes_at_zero(env):
    data = os.urandom(8 * KB)
    a, b = new_image(env), new_image(env)
    upload(env, a, data)
    upload(env, b, data)
    with env.db.session() as s:
        assert chunks.release_image(s, env.store, a) == 0   # b still uses them
        s.delete(s.get(m.Image, a))
    assert counts(env) == (2, 2)
    assert read_image(env, b) == data
    with env.db.session() as s:
        assert chunks.release_image(s, env.store, b) == 2
    assert counts(env) == (0, 0)


def test_upload_twice_is_conflict(env):
    iid = new_image(env)
    upload(env, iid, b"hello")
    with pytest.raises(errors.Conflict):
        Upload(env.db, env.conf, env.store, iid).begin(5)


def test_size_cap_and_quota(env):
    iid = new_image(env)
    up = Upload(env.db, env.conf, env.store, iid)
    with pytest.raises(errors.PayloadTooLarge):
        up.begin(300 * KB)
    up.begin(None)                            # unknown length: checked while streaming
    with pytest.raises(errors.PayloadTooLarge):
        for _ in range(60):
            up.feed(b"x" * 4 * KB)
    up.abort()
    assert counts(env) == (0, 0)
    env.conf.image._values["user_storage_quota"] = 10 * KB
    upload(env, new_image(env), os.urandom(6 * KB))
    with pytest.raises(errors.PayloadTooLarge, match="quota"):
        upload(env, new_image(env), os.urandom(6 * KB))
    upload(env, new_image(env, owner="other"), os.urandom(6 * KB))


def test_client_disconnect_mid_upload_leaves_queued_image_and_no_chunks(env):
    keep = new_image(env)
    upload(env, keep, b"k" * 5 * KB)
    iid = new_image(env)
    up = Upload(env.db, env.conf, env.store, iid)
    up.begin(None)
    up.feed(os.urandom(9 * KB))               # two chunks stored, tail pending
    with env.db.session() as s:
        assert s.get(m.Image, iid).status == "saving"
    up.abort()                                # what the API does on disconnect
    with env.db.session() as s:
        img = s.get(m.Image, iid)
        assert img.status == "queued" and img.size is None and img.checksum is None
        assert not s.execute(select(m.ImageChunk).where(m.ImageChunk.image_id == iid)).all()
    assert counts(env) == (2, 2)              # only `keep`'s chunks remain
    assert read_image(env, keep) == b"k" * 5 * KB
    upload(env, iid, b"again")                # the image can be uploaded afterwards


def test_crash_mid_upload_is_recovered_at_startup(env):
    shared = os.urandom(4 * KB)
    keep = new_image(env)
    upload(env, keep, shared)
    iid = new_image(env)
    up = Upload(env.db, env.conf, env.store, iid)
    up.begin(None)
    up.feed(shared + os.urandom(8 * KB) + b"tail")   # 3 chunks stored, then "crash"
    # A chunk file whose reference never committed, and a half-written temp file.
    orphan = os.urandom(100)
    env.store.write(env.store.digest_of(orphan), orphan)
    os.makedirs(os.path.join(env.store.root, "ab"), exist_ok=True)
    tmp = os.path.join(env.store.root, "ab", ".tmp-x")
    open(tmp, "wb").close()
    result = chunks.recover(env.db, env.store)
    assert result["reset"] == [iid]
    with env.db.session() as s:
        assert s.get(m.Image, iid).status == "queued"
        assert s.get(m.Image, keep).status == "active"
    assert counts(env) == (1, 1)
    assert read_image(env, keep) == shared
    assert not os.path.exists(tmp)
    assert chunks.recover(env.db, env.store) == {"reset": [], "collected": 0}


def test_image_deleted_during_upload_stops_it(env):
    iid = new_image(env)
    up = Upload(env.db, env.conf, env.store, iid)
    up.begin(None)
    up.feed(os.urandom(4 * KB))
    with env.db.session() as s:
        chunks.release_image(s, env.store, iid)
        s.delete(s.get(m.Image, iid))
    with pytest.raises(errors.Conflict):
        up.feed(os.urandom(4 * KB))
    up.abort()
    assert counts(env) == (0, 0)


def test_virtual_size_from_qcow2_header():
    head = b"QFI\xfb" + b"\0" * 20 + (5 * 2**30).to_bytes(8, "big")
    assert virtual_size("qcow2", head, 1000) == 5 * 2**30
    assert virtual_size("qcow2", b"junk" * 10, 1000) is None
    assert virtual_size("raw", b"", 1000) == 1000
    assert virtual_size("vmdk", b"", 1000) is None


def test_import_file_is_idempotent(env):
    f = env.tmp / "disk.img"
    f.write_bytes(os.urandom(9 * KB))
    a = importer.import_file(env.db, env.conf, name="guest", path=str(f), disk_format="raw")
    b = importer.import_file(env.db, env.conf, name="guest", path=str(f), disk_format="raw")
    assert a == b
    f.write_bytes(os.urandom(9 * KB))
    c = importer.import_file(env.db, env.conf, name="guest", path=str(f), disk_format="raw")
    assert c != a
    with env.db.session() as s:
        img = s.get(m.Image, a)
        assert img.status == "active" and img.visibility == "public" and img.size == 9 * KB


def test_create_snapshot_image_and_visibility(env):
    ctx1 = types.SimpleNamespace(project_id="p1", is_admin=False)
    ctx2 = types.SimpleNamespace(project_id="p2", is_admin=False)
    admin = types.SimpleNamespace(project_id="adm", is_admin=True)
    with env.db.session() as s:
        iid = image_api.create_snapshot_image(s, ctx1, "snap", {"image_type": "snapshot",
                                                                "base_image_ref": "b",
                                                                "min_disk": 2})
    with env.db.session() as s:
        img = image_api.get_image(s, iid, ctx1)
        assert img.status == "queued" and img.visibility == "private" and img.min_disk == 2
        assert img.disk_format == "qcow2" and img.owner == "p1"
        assert image_api.properties_of(s, [iid])[iid] == {"image_type": "snapshot",
                                                          "base_image_ref": "b"}
        assert image_api.get_image(s, iid, ctx2) is None
        assert image_api.get_image(s, iid, admin) is not None
        img.visibility = "shared"
        s.add(m.ImageMember(image_id=iid, member="p2", status="pending"))
        s.flush()
        assert image_api.get_image(s, iid, ctx2) is not None
        assert image_api.get_image(s, "nope", admin) is None
