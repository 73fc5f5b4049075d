"""/v2/images/{id}/tags/{tag}: add (PUT) and remove (DELETE) one tag."""
from __future__ import annotations

from sqlalchemy import delete

from stratus.api.image import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import image as m
from stratus.db.models.identity import utcnow
from stratus.image import validation

routes = RouteTable()
MAX_TAGS = 128


@routes.put("/v2/images/{image_id}/tags/{tag}")
def add_tag(req):
    tag = validation.check_tag(req.path_params["tag"])
    with req.db.session() as s:
        img = c.visible_image(req, s)
        c.authorize_owner(req, "modify_image", img)
        if s.get(m.ImageTag, (img.id, tag)) is None:
            count = s.query(m.ImageTag).filter(m.ImageTag.image_id == img.id).count()
            if count >= MAX_TAGS:
                raise errors.PayloadTooLarge(f"Maximum number of tags ({MAX_TAGS}) exceeded.")
            s.add(m.ImageTag(image_id=img.id, value=tag))
            img.updated_at = utcnow()
    return 204, None


@routes.delete("/v2/images/{image_id}/tags/{tag}")
def delete_tag(req):
    tag = req.path_params["tag"]
    with req.db.session() as s:
        img = c.visible_image(req, s)
        c.authorize_owner(req, "modify_image", img)
        res = s.execute(delete(m.ImageTag).where(m.ImageTag.image_id == img.id,
                                                 m.ImageTag.value == tag))
        if not res.rowcount:
            raise errors.NotFound(f"Tag {tag} not found on image {img.id}.")
        img.updated_at = utcnow()
    return 204, None
