"""Version documents of the Compute API (GET /compute/, /compute/v2/,
/compute/v2.1/), as nova serves them: the legacy v2.0 (SUPPORTED, no
microversions) and v2.1 (CURRENT, min/max microversion of what we implement)."""
from __future__ import annotations

from stratus.api.compute.microversion import MAX_VERSION, MIN_VERSION
from stratus.api.routing import RouteTable

routes = RouteTable()
MEDIA_TYPES = [{"base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1"}]


def _v20(base: str) -> dict:
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/v2/"}]}


def _v21(base: str) -> dict:
    return {"id": "v2.1", "status": "CURRENT", "version": str(MAX_VERSION),
            "min_version": str(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/v2.1/"}]}


def _detail(doc: dict, base: str) -> dict:
    """One version's own document: adds the describedby link and media types."""
    return {**doc, "links": doc["links"] + [
        {"rel": "describedby", "type": "text/html",
         "href": "https://docs.openstack.org/"}], "media-types": MEDIA_TYPES}


def _base(req) -> str:
    return req.url_for("")


@routes.get("/", auth=False)
def list_versions(req):
    base = _base(req)
    return {"versions": [_v20(base), _v21(base)]}


@routes.get("/v2", auth=False)
@routes.get("/v2/", auth=False)
def show_v20(req):
    base = _base(req)
    return {"version": _detail(_v20(base), base)}


@routes.get("/v2.1", auth=False)
@routes.get("/v2.1/", auth=False)
def show_v21(req):
    base = _base(req)
    return {"version": _detail(_v21(base), base)}
