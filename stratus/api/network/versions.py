"""Version documents: ``/network/`` lists v2.0, ``/network/v2.0/`` its resources."""
from __future__ import annotations

from stratus.api.routing import RouteTable

routes = RouteTable()
RESOURCES = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"),
             ("quota", "quotas"), ("extension", "extensions"))


@routes.get("/", auth=False)
def versions(req):
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"rel": "self", "href": req.url_for("/v2.0/")}]}]}


@routes.get("/v2.0/")
@routes.get("/v2.0")
def resources(req):
    return {"resources": [{"name": n, "collection": c,
                           "links": [{"rel": "self", "href": req.url_for(f"/v2.0/{c}")}]}
                          for n, c in RESOURCES]}
