"""Version discovery: GET /image/ (300 Multiple Choices) and /image/versions."""
from __future__ import annotations

from stratus.api.routing import RouteTable

routes = RouteTable()
# Glance 2.x API minor versions; 2.16 is the newest stable one we speak.
CURRENT = "v2.16"
OLDER = ["v2.15", "v2.14", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.7",
         "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"]


def document(req) -> dict:
    href = req.url_for("/v2/")
    def one(vid, status):
        return {"id": vid, "status": status, "links": [{"rel": "self", "href": href}]}
    return {"versions": [one(CURRENT, "CURRENT")] + [one(v, "SUPPORTED") for v in OLDER]}


@routes.get("/", auth=False)
def root(req):
    return 300, document(req)


@routes.get("/versions", auth=False)
def versions(req):
    return 200, document(req)
