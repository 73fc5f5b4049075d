"""Listing images: sort/paging parameters and who sees what (Glance rules)."""
from __future__ import annotations

import types

import pytest
from starlette.datastructures import QueryParams

from stratus.common import errors
from stratus.db.base import Base, Database
from stratus.db.models import image as m
from stratus.image import api as image_api
from stratus.image import query


def ctx(project, admin=False):
    return types.SimpleNamespace(project_id=project, is_admin=admin)


def q(s: str) -> QueryParams:
    return QueryParams(s)


def test_parse_page_defaults_and_sort_forms():
    p = query.parse_page(q(""))
    assert p.limit == query.DEFAULT_LIMIT and p.sort == [("created_at", "desc")]
    assert query.parse_page(q("limit=5000")).limit == query.MAX_LIMIT
    assert query.parse_page(q("sort=name:asc,size")).sort == [("name", "asc"), ("size", "desc")]
    assert query.parse_page(q("sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc")).sort \
        == [("name", "asc"), ("size", "desc")]
    assert query.parse_page(q("sort_key=name&sort_key=id&sort_dir=asc")).sort == \
        [("name", "asc"), ("id", "asc")]
    assert query.parse_page(q("sort_dir=asc")).sort == [("created_at", "asc")]


@pytest.mark.parametrize("qs", ["limit=-1", "limit=abc", "sort_key=bogus", "sort_dir=up",
                                "sort=name:sideways", "sort=name&sort_key=size",
                                "sort_key=a&sort_key=b&sort_dir=asc&sort_dir=desc&sort_dir=asc"])
def test_parse_page_rejects_nonsense(qs):
    with pytest.raises(errors.BadRequest):
        query.parse_page(q(qs))


@pytest.fixture
def session(tmp_path):
    import stratus.db.models  # noqa: F401
    db = Database(f"sqlite:///{tmp_path}/q.sqlite")
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        def add(name, owner, visibility, **kw):
            return image_api.new_image(s, owner=owner, fields={
                "name": name, "visibility": visibility, **kw}, tags=kw.pop("tags", None)).id
        ids = {
            "pub": add("pub", "p1", "public"),
            "priv1": add("priv1", "p1", "private"),
            "shared1": add("shared1", "p1", "shared"),
            "comm1": add("comm1", "p1", "community"),
            "hidden": add("hidden", "p1", "public", os_hidden=True),
            "priv2": add("priv2", "p2", "private"),
        }
        s.add(m.ImageMember(image_id=ids["shared1"], member="p2", status="pending"))
        s.flush()
        yield types.SimpleNamespace(s=s, ids=ids)
    db.dispose()


def names(env, qs, who):
    stmt = query.select_images(q(qs), who)
    return sorted(i.name for i in env.s.execute(stmt).scalars())


def test_default_listing_per_caller(session):
    assert names(session, "", ctx("p1")) == ["comm1", "priv1", "pub", "shared1"]
    assert names(session, "", ctx("p2")) == ["priv2", "pub"]            # pending: not listed
    assert names(session, "", ctx("x", admin=True)) == \
        ["comm1", "priv1", "priv2", "pub", "shared1"]


def test_member_status_and_visibility_filters(session):
    assert names(session, "member_status=pending", ctx("p2")) == ["priv2", "pub", "shared1"]
    assert names(session, "visibility=shared&member_status=all", ctx("p2")) == ["shared1"]
    assert names(session, "visibility=community", ctx("p2")) == ["comm1"]
    assert names(session, "visibility=private", ctx("p2")) == ["priv2"]
    assert names(session, "os_hidden=true", ctx("p2")) == ["hidden"]
    session.s.query(m.ImageMember).update({"status": "accepted"})
    assert names(session, "", ctx("p2")) == ["priv2", "pub", "shared1"]


def test_column_and_property_filters(session):
    s, ids = session.s, session.ids
    s.add(m.ImageProperty(image_id=ids["pub"], name="os_distro", value="debian"))
    s.add(m.ImageTag(image_id=ids["priv1"], value="gold"))
    s.flush()
    assert names(session, "os_distro=debian", ctx("p1")) == ["pub"]
    assert names(session, "tag=gold", ctx("p1")) == ["priv1"]
    assert names(session, "name=in:pub,priv1", ctx("p1")) == ["priv1", "pub"]
    with pytest.raises(errors.BadRequest):
        names(session, "status=nonsense", ctx("p1"))
    with pytest.raises(errors.BadRequest):
        names(session, "size_min=big", ctx("p1"))
    with pytest.raises(errors.BadRequest):
        names(session, "visibility=everyone", ctx("p1"))


def test_get_image_visibility(session):
    ids = session.ids
    assert image_api.get_image(session.s, ids["shared1"], ctx("p2")) is not None  # member
    assert image_api.get_image(session.s, ids["comm1"], ctx("p2")) is not None
    assert image_api.get_image(session.s, ids["priv1"], ctx("p2")) is None
    assert image_api.get_image(session.s, ids["priv2"], ctx("p1", admin=True)) is not None
