"""Version discovery at /identity and /identity/v3, as keystoneauth expects."""
from __future__ import annotations

from stratus.api.routing import RouteTable

routes = RouteTable()
VERSION_ID = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"


def version_doc(req) -> dict:
    return {"id": VERSION_ID, "status": "stable", "updated": UPDATED,
            "links": [{"rel": "self", "href": req.url_for("/v3/")}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


@routes.get("/", auth=False)
def versions(req):
    return 300, {"versions": {"values": [version_doc(req)]}}


@routes.get("/v3", auth=False)
def version_v3(req):
    return {"version": version_doc(req)}


routes.add("/v3/", ["GET"], auth=False)(version_v3)
