"""Pure parts of the object store: listings, ranges, ACL decisions, SLO
manifests, segment slicing, metadata and expiry headers."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from stratus.api.object_store import slo
from stratus.objectstore import acl, constraints, errors, listing, ranges
from stratus.objectstore.segments import Piece, slice_pieces

NAMES = sorted(["a", "a/1", "a/2", "a/b/1", "b", "b/1", "c", "c/", "d/x/y", "e\u00e9", "z"])


def fetch(lower, upper, prefix, limit, reverse):
    names = [n for n in NAMES if (lower is None or n > lower) and (upper is None or n < upper)
             and n.startswith(prefix)]
    names = sorted(names, key=lambda n: n.encode(), reverse=reverse)
    return [(n, None) for n in names[:limit]]


def names(entries):
    return [e[1] for e in entries]


@pytest.mark.parametrize("kw,expected", [
    ({}, NAMES),
    ({"prefix": "a/"}, ["a/1", "a/2", "a/b/1"]),
    ({"delimiter": "/"}, ["a", "a/", "b", "b/", "c", "c/", "d/", "e\u00e9", "z"]),
    ({"prefix": "a/", "delimiter": "/"}, ["a/1", "a/2", "a/b/"]),
    ({"marker": "b"}, ["b/1", "c", "c/", "d/x/y", "e\u00e9", "z"]),
    ({"marker": "b", "end_marker": "d"}, ["b/1", "c", "c/"]),
    ({"limit": 2}, ["a", "a/1"]),
    ({"limit": 3, "delimiter": "/"}, ["a", "a/", "b"]),
    ({"reverse": True, "limit": 3}, ["z", "e\u00e9", "d/x/y"]),
    ({"reverse": True, "delimiter": "/"}, ["z", "e\u00e9", "d/", "c/", "c", "b/", "b", "a/", "a"]),
    ({"reverse": True, "marker": "c", "end_marker": "a/2"}, ["b/1", "b", "a/b/1"]),
    ({"prefix": "d/", "delimiter": "/"}, ["d/x/"]),
    ({"prefix": "nothing"}, []),
])
def test_listing(kw, expected):
    kw.setdefault("limit", 100)
    assert names(listing.collect(fetch, **kw)) == expected


def test_listing_subdir_kind():
    out = listing.collect(fetch, limit=100, prefix="a/", delimiter="/")
    assert out[-1] == ("subdir", "a/b/", None)


def test_listing_params():
    assert listing.parse_params({}, 10)["limit"] == 10
    assert listing.parse_params({"limit": "3", "reverse": "on"}, 10) == {
        "limit": 3, "reverse": True, "prefix": "", "delimiter": "", "marker": "",
        "end_marker": ""}
    for bad in ({"limit": "x"}, {"limit": "-1"}, {"limit": "11"}, {"delimiter": "ab"}):
        with pytest.raises(ValueError):
            listing.parse_params(bad, 10)


@pytest.mark.parametrize("header,size,expected", [
    (None, 10, None),
    ("bytes=0-3", 10, [(0, 3)]),
    ("bytes=5-", 10, [(5, 9)]),
    ("bytes=-3", 10, [(7, 9)]),
    ("bytes=-30", 10, [(0, 9)]),
    ("bytes=8-100", 10, [(8, 9)]),
    ("bytes=0-0,5-6", 10, [(0, 0), (5, 6)]),
    ("bytes=20-30,1-2", 10, [(1, 2)]),
    ("bytes=3-1", 10, None),       # invalid: ignored
    ("items=0-1", 10, None),
    ("bytes=a-b", 10, None),
    ("bytes=", 10, None),
])
def test_ranges(header, size, expected):
    assert ranges.parse(header, size) == expected


@pytest.mark.parametrize("header,size", [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0),
                                         ("bytes=20-30,40-", 10)])
def test_ranges_unsatisfiable(header, size):
    with pytest.raises(ranges.Unsatisfiable):
        ranges.parse(header, size)


def test_slice_pieces_across_segments():
    pieces = [Piece("a", 0, 4), Piece("b", 10, 3), Piece("c", 0, 5)]
    assert slice_pieces(pieces, 0, 11) == pieces
    assert slice_pieces(pieces, 3, 5) == [Piece("a", 3, 1), Piece("b", 10, 2)]
    assert slice_pieces(pieces, 6, 8) == [Piece("b", 12, 1), Piece("c", 0, 2)]
    assert slice_pieces(pieces, 11, 11) == [Piece("c", 4, 1)]


OWNER = acl.Caller("u1", "alice", "p1", "proj1", ["member"])
READER = acl.Caller("u1", "alice", "p1", "proj1", ["reader"])
OTHER = acl.Caller("u2", "bob", "p2", "proj2", ["member"])
ANON = acl.Caller()


@pytest.mark.parametrize("caller,method,container,obj,read,write,allowed", [
    (OWNER, "PUT", "c", None, "", "", True),
    (OWNER, "GET", None, None, "", "", True),
    (READER, "GET", "c", "o", "", "", False),
    (OTHER, "GET", None, None, "", "", False),
    (OTHER, "GET", "c", "o", "", "", False),
    (OTHER, "GET", "c", "o", "p2:*", "", True),
    (OTHER, "GET", "c", None, "p2:u2", "", True),       # listing with a read ACL
    (OTHER, "GET", "c", "o", "p2:u3", "", False),
    (OTHER, "GET", "c", "o", "*:u2", "", True),
    (OTHER, "GET", "c", "o", "proj2:bob", "", True),
    (OTHER, "PUT", "c", "o", "p2:*", "", False),         # read ACL does not grant writes
    (OTHER, "PUT", "c", "o", "", "p2:*", True),
    (OTHER, "DELETE", "c", "o", "", "*:*", True),
    (OTHER, "PUT", "c", None, "", "p2:*", False),        # container writes: owners only
    (OTHER, "POST", "c", None, "p2:*", "p2:*", False),
    (ANON, "GET", "c", "o", ".r:*", "", True),
    (ANON, "GET", "c", None, ".r:*", "", False),         # listing needs .rlistings
    (ANON, "GET", "c", None, ".r:*,.rlistings", "", True),
    (ANON, "PUT", "c", "o", ".r:*", "*:*", False),
    (ANON, "GET", "c", "o", ".r:*,.r:-*", "", False),
    (OTHER, "GET", "c", "o", "member", "", True),        # a role name
    (acl.Caller("u9", "op", "p9", "x", ["reseller_admin"]), "DELETE", "c", None, "", "", True),
])
def test_acl_decide(caller, method, container, obj, read, write, allowed):
    d = acl.decide(caller, "p1", method, container, obj, read, write)
    assert d.allowed is allowed
    assert d.owner is (allowed and caller in (OWNER,) or "reseller_admin" in caller.roles)


def test_acl_deny_status():
    assert acl.deny(ANON).status == 401
    assert acl.deny(OTHER).status == 403


def test_acl_clean():
    assert acl.clean("x-container-read", " .r:*, p:u ,, .rlistings") == ".r:*,p:u,.rlistings"
    for header, bad in (("x-container-read", ".r:"), ("x-container-read", ".bad:x"),
                        ("x-container-write", ".r:*")):
        with pytest.raises(errors.BadRequest):
            acl.clean(header, bad)


def test_slo_manifest_parse_and_etag():
    segs = slo.parse_manifest(b'[{"path": "/c/a", "etag": "x", "size_bytes": 3},'
                              b' {"path": "c/b", "range": "1-2"}]', 10)
    assert segs[0]["path"] == "/c/a" and segs[1]["path"] == "/c/b"
    assert segs[1]["range"] == [1, 2]
    segs = [{"etag": "aa", "range": None}, {"etag": "bb", "range": None}]
    assert slo.slo_etag(segs) == hashlib.md5(b"aabb").hexdigest()


@pytest.mark.parametrize("body,words", [
    (b"nope", "valid JSON"), (b"{}", "list"), (b"[]", "at least one"),
    (b'[{"path": "/c"}]', "Index 0: path does not refer to an object"),
    (b'[{"path": "/c/o", "foo": 1}]', 'extraneous keys "foo"'),
    (b'[{"path": "/c/o"}, {"path": "/c/o"}, {"path": "/c/o"}]', "segments must be <= 2"),
    (b'[{"path": "/c/o", "range": "5-1"}]', "invalid range"),
])
def test_slo_manifest_errors(body, words):
    with pytest.raises(errors.BadRequest) as exc:
        slo.parse_manifest(body, 2)
    assert words in exc.value.message


LIMITS = SimpleNamespace(max_meta_name_length=8, max_meta_value_length=8, max_meta_count=2,
                         max_meta_overall_size=15)


def test_meta_updates_and_limits():
    set_, remove = constraints.meta_updates(
        {"X-Object-Meta-A": "1", "X-Remove-Object-Meta-B": "x", "X-Object-Meta-C": "",
         "Content-Disposition": "inline", "X-Other": "y"}, "object", ("content-disposition",))
    assert set_ == {"x-object-meta-a": "1", "x-object-meta-c": "",  # objects keep ""
                    "content-disposition": "inline"}
    assert remove == {"x-object-meta-b"}
    set_, remove = constraints.meta_updates({"X-Container-Meta-C": ""}, "container")
    assert (set_, remove) == ({}, {"x-container-meta-c"})  # containers: "" removes
    constraints.check_meta({"x-object-meta-a": "1"}, "object", LIMITS)
    for meta, words in (({"x-object-meta-": "1"}, "cannot be empty"),
                        ({"x-object-meta-toolongname": "1"}, "name too long"),
                        ({"x-object-meta-a": "123456789"}, "value longer"),
                        ({"x-object-meta-a": "1", "x-object-meta-b": "1",
                          "x-object-meta-c": "1"}, "Too many"),
                        ({"x-object-meta-a": "12345678", "x-object-meta-b": "12345678"},
                         "too large")):
        with pytest.raises(errors.BadRequest) as exc:
            constraints.check_meta(meta, "object", LIMITS)
        assert words in exc.value.message


def test_delete_at_headers():
    assert constraints.delete_at({}, 100.5) is None
    assert constraints.delete_at({"x-delete-after": "10"}, 100.5) == 111.0
    assert constraints.delete_at({"x-delete-at": "200"}, 100.5) == 200.0
    for headers, words in (({"x-delete-after": "x"}, "Non-integer X-Delete-After"),
                           ({"x-delete-after": "-1"}, "in past"),
                           ({"x-delete-at": "50"}, "X-Delete-At in past"),
                           ({"x-delete-at": "soon"}, "Non-integer X-Delete-At")):
        with pytest.raises(errors.BadRequest) as exc:
            constraints.delete_at(headers, 100.5)
        assert words in exc.value.message


def test_catalog_renders_project_id():
    from stratus.identity.catalog import for_scope
    swift = {"id": "s", "type": "object-store", "name": "swift", "endpoints": [
        {"id": "e1", "interface": "public", "region": "R", "region_id": "R",
         "url": "http://h/object-store/v1/AUTH_%(project_id)s"},
        {"id": "e2", "interface": "admin", "region": "R", "region_id": "R",
         "url": "http://h/v1/AUTH_$(tenant_id)s"}]}
    plain = {"id": "k", "type": "identity", "name": "keystone", "endpoints": [
        {"id": "e3", "interface": "public", "region": "R", "region_id": "R",
         "url": "http://h/identity"}]}
    catalog = [plain, swift]
    scoped = for_scope(catalog, "p1")
    assert [e["url"] for e in scoped[1]["endpoints"]] == [
        "http://h/object-store/v1/AUTH_p1", "http://h/v1/AUTH_p1"]
    assert scoped[0] == plain
    assert "%(project_id)s" in catalog[1]["endpoints"][0]["url"]   # the shared copy is intact
    assert for_scope(catalog, None)[1]["endpoints"] == []         # no project: left out
    assert for_scope([plain], "p1") is not None and for_scope([plain], "p1")[0] is plain
