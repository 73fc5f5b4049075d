import itertools

import pytest
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.datastructures import QueryParams

from stratus.api import pagination
from stratus.common import errors


class B(DeclarativeBase):
    pass


class Row(B):
    __tablename__ = "row"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(Integer)


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    B.metadata.create_all(engine)
    with Session(engine) as s:
        # duplicates in name and size so ties must be broken by id
        for i in range(23):
            s.add(Row(id=f"id{i:02d}", name="abc"[i % 3], size=i % 5))
        s.commit()
        yield s


def all_pages(session, query, limit):
    seen, marker = [], None
    for _ in range(100):
        q = dict(query, limit=str(limit))
        if marker:
            q["marker"] = marker
        page = pagination.parse(QueryParams(q), 1000, [("name", "asc")], {"name", "size", "id"})
        rows = list(session.scalars(pagination.apply(session, select(Row), Row, page)))
        seen.extend(r.id for r in rows)
        if len(rows) < limit:
            return seen
        marker = rows[-1].id
    raise AssertionError("pagination did not terminate")


@pytest.mark.parametrize("keys,dirs", [
    (k, d) for n in (1, 2) for k in itertools.permutations(["name", "size", "id"], n)
    for d in itertools.product(["asc", "desc"], repeat=n)])
@pytest.mark.parametrize("limit", [1, 4, 7, 23, 50])
def test_pages_cover_every_row_once_in_order(session, keys, dirs, limit):
    query = [("sort_key", k) for k in keys] + [("sort_dir", d) for d in dirs]
    params = {}
    for k, v in query:
        params.setdefault(k, []).append(v)
    # QueryParams needs a list of pairs to keep repeated keys
    def run(extra):
        return QueryParams(query + list(extra.items()))
    seen, marker = [], None
    while True:
        extra = {"limit": str(limit), **({"marker": marker} if marker else {})}
        page = pagination.parse(run(extra), 1000, [("name", "asc")], {"name", "size", "id"})
        rows = list(session.scalars(pagination.apply(session, select(Row), Row, page)))
        seen.extend(rows)
        if len(rows) < limit:
            break
        marker = rows[-1].id
    assert len(seen) == 23 and len({r.id for r in seen}) == 23
    # the concatenation of pages is sorted by the requested keys
    def key(r):
        return tuple((getattr(r, k) if d == "asc" else _neg(getattr(r, k)))
                     for k, d in zip(keys, dirs))
    assert [key(r) for r in seen] == sorted(key(r) for r in seen)


def _neg(v):
    return -v if isinstance(v, int) else tuple(-ord(ch) for ch in v)


def test_limit_is_capped_by_max_limit():
    page = pagination.parse(QueryParams({"limit": "5000"}), 1000, [("id", "asc")], {"id"})
    assert page.limit == 1000
    assert pagination.parse(QueryParams({}), 50, [("id", "asc")], {"id"}).limit == 50


@pytest.mark.parametrize("query,needle", [
    ({"limit": "x"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"sort_key": "password"}, "sort_key"), ({"sort_key": "id", "sort_dir": "up"}, "sort_dir"),
])
def test_bad_parameters_are_400_naming_the_parameter(query, needle):
    with pytest.raises(errors.BadRequest) as exc:
        pagination.parse(QueryParams(query), 1000, [("id", "asc")], {"id", "name"})
    assert needle in exc.value.message


def test_unknown_marker_is_400(session):
    page = pagination.parse(QueryParams({"marker": "nope"}), 1000, [("id", "asc")], {"id"})
    with pytest.raises(errors.BadRequest, match="marker"):
        pagination.apply(session, select(Row), Row, page)


def test_next_link_only_for_full_pages():
    page = pagination.PageRequest(2, None, [("id", "asc")])
    q = QueryParams({"limit": "2", "name": "a"})
    assert pagination.next_link("http://x/servers", q, [{"id": "1"}], page) is None
    link = pagination.next_link("http://x/servers", q, [{"id": "1"}, {"id": "2"}], page)
    assert link == "http://x/servers?limit=2&name=a&marker=2"


def test_filter_exact(session):
    stmt = pagination.filter_exact(select(Row), Row, {"name": "a", "bogus": 1}, ["name", "size"])
    assert {r.name for r in session.scalars(stmt)} == {"a"}
