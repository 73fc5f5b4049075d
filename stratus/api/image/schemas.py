"""/v2/schemas/{image,images,member,members}."""
from __future__ import annotations

from stratus.api.routing import RouteTable
from stratus.image import schemas

routes = RouteTable()


@routes.get("/v2/schemas/image")
def image(req):
    return schemas.image()


@routes.get("/v2/schemas/images")
def images(req):
    return schemas.images()


@routes.get("/v2/schemas/member")
def member(req):
    return schemas.member()


@routes.get("/v2/schemas/members")
def members(req):
    return schemas.members()
