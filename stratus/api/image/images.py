"""/v2/images: create, list, show, update (JSON-patch), delete, and the
deactivate/reactivate actions."""
from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import delete, update

from stratus.api import pagination
from stratus.api.image import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import image as m
from stratus.db.models.identity import utcnow
from stratus.image import api as image_api
from stratus.image import chunks, patch, query, validation

routes = RouteTable()


def _check_visibility_change(req, img_target: dict, visibility: str) -> None:
    if visibility == "public":
        req.authorize("publicize_image", img_target)
    elif visibility == "community":
        req.authorize("communitize_image", img_target)


@routes.post("/v2/images")
def create_image(req):
    fields, props, tags = validation.check_create(req.json())
    owner = fields.pop("owner", None) or req.ctx.project_id
    target = {"project_id": owner, "owner": owner}
    req.authorize("add_image", {"project_id": req.ctx.project_id, "owner": owner})
    if owner != req.ctx.project_id:
        req.authorize("set_image_owner", target)
    _check_visibility_change(req, target, fields.get("visibility", "shared"))
    with req.db.session() as s:
        if fields.get("id") and s.get(m.Image, fields["id"]) is not None:
            raise errors.Conflict(f"Image with identifier {fields['id']} already exists!")
        img = image_api.new_image(s, owner=owner, fields=fields, properties=props, tags=tags)
        body = c.body_of(req, s, img)
    return 201, body, {"Location": req.url_for(f"/v2/images/{img.id}")}


@routes.get("/v2/images")
def list_images(req):
    req.authorize("get_images", {})
    page = query.parse_page(req.query)
    stmt = query.select_images(req.query, req.ctx)
    with req.db.session() as s:
        if page.marker and image_api.get_image(s, page.marker, req.ctx) is None:
            raise errors.BadRequest(f"marker [{page.marker}] not found")
        rows = list(s.execute(pagination.apply(s, stmt, m.Image, page)).scalars())
        images = image_api.image_dicts(s, rows)
    params = [(k, v) for k, v in req.query.multi_items() if k != "marker"]
    body = {"images": images, "schema": "/v2/schemas/images",
            "first": "/v2/images" + (f"?{urlencode(params)}" if params else "")}
    if images and len(images) == page.limit:
        body["next"] = "/v2/images?" + urlencode(params + [("marker", images[-1]["id"])])
    return body


@routes.add("/v2/images/", ["GET", "DELETE", "PATCH", "PUT"])
def no_image_id(req):
    """``/v2/images/`` (an empty image id) names no image, as in Glance."""
    raise errors.NotFound("No image found with ID ''")


@routes.get("/v2/images/{image_id}")
def show_image(req):
    req.authorize("get_image", {})
    with req.db.session() as s:
        return c.body_of(req, s, c.visible_image(req, s))


def _state(s, img: m.Image) -> patch.ImageState:
    core = {k: getattr(img, k) for k in validation.WRITABLE_CORE}
    return patch.ImageState(core, image_api.properties_of(s, [img.id])[img.id],
                            image_api.tags_of(s, [img.id])[img.id])


@routes.patch("/v2/images/{image_id}")
def update_image(req):
    ctype = (req.headers.get("content-type") or "").split(";")[0].strip()
    if ctype not in patch.MEDIA_TYPES:
        raise errors.UnsupportedMediaType(
            f"Unsupported Content-Type {ctype or '(none)'}: use {patch.V21}.",
            headers={"Accept-Patch": ", ".join(patch.MEDIA_TYPES)})
    changes = req.json()
    with req.db.session() as s:
        img = c.visible_image(req, s)
        c.authorize_owner(req, "modify_image", img)
        old = _state(s, img)
        new = patch.apply(old, changes, ctype)
        t = c.target(img)
        if new.core["visibility"] != old.core["visibility"]:
            _check_visibility_change(req, t, new.core["visibility"])
        if new.core["owner"] != old.core["owner"]:
            req.authorize("set_image_owner", t)
        for k, v in new.core.items():
            setattr(img, k, v)
        if new.properties != old.properties:
            s.execute(delete(m.ImageProperty).where(m.ImageProperty.image_id == img.id))
            for k, v in new.properties.items():
                s.add(m.ImageProperty(image_id=img.id, name=k, value=v))
        if new.tags != old.tags:
            s.execute(delete(m.ImageTag).where(m.ImageTag.image_id == img.id))
            for tag in new.tags:
                s.add(m.ImageTag(image_id=img.id, value=tag))
        img.updated_at = utcnow()
        s.flush()
        return c.body_of(req, s, img)


@routes.delete("/v2/images/{image_id}")
def delete_image(req):
    with req.db.session() as s:
        img = c.visible_image(req, s)
        c.authorize_owner(req, "delete_image", img)
        if img.protected:
            raise errors.Forbidden(f"Image {img.id} is protected and cannot be deleted.")
        chunks.release_image(s, c.store(req), img.id)
        s.delete(img)
    return 204, None


def _transition(req, rule: str, frm: tuple[str, ...], to: str):
    with req.db.session() as s:
        img = c.visible_image(req, s)
        c.authorize_owner(req, rule, img)
        if img.status == to:
            return 204, None
        if img.status not in frm:
            raise errors.Forbidden(f"Not allowed to {rule} image in status '{img.status}'")
        s.execute(update(m.Image).where(m.Image.id == img.id, m.Image.status == img.status)
                  .values(status=to, updated_at=utcnow()))
    return 204, None


@routes.post("/v2/images/{image_id}/actions/deactivate")
def deactivate(req):
    return _transition(req, "deactivate", ("active",), "deactivated")


@routes.post("/v2/images/{image_id}/actions/reactivate")
def reactivate(req):
    return _transition(req, "reactivate", ("deactivated",), "active")
