"""/v2/images/{id}/members: sharing an image with other projects.

Only ``shared`` images have members.  The owner adds and removes members; a
member project accepts or rejects the image itself (then sees it listed).
The owner sees every member, a member only itself.
"""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.image import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import image as m
from stratus.db.models.identity import utcnow
from stratus.image.api import MEMBER_STATUSES, isotime

routes = RouteTable()
MAX_MEMBERS = 128


def to_dict(mem: m.ImageMember) -> dict:
    return {"image_id": mem.image_id, "member_id": mem.member, "status": mem.status,
            "created_at": isotime(mem.created_at), "updated_at": isotime(mem.updated_at),
            "schema": "/v2/schemas/member"}


def _shared_image(req, s) -> m.Image:
    img = c.visible_image(req, s)
    if img.visibility != "shared":
        raise errors.Forbidden(f"Only shared images have members; image {img.id} is "
                               f"{img.visibility}.")
    return img


def _is_owner(req, img) -> bool:
    return req.ctx.is_admin or img.owner == req.ctx.project_id


def _member(req, s, img) -> m.ImageMember:
    member_id = req.path_params["member_id"]
    mem = s.get(m.ImageMember, (img.id, member_id))
    if mem is None or not (_is_owner(req, img) or member_id == req.ctx.project_id):
        raise errors.NotFound(f"{member_id} is not a member of image {img.id}.")
    return mem


@routes.post("/v2/images/{image_id}/members")
def add_member(req):
    body = req.json()
    member_id = body.get("member") if isinstance(body, dict) else None
    if not isinstance(member_id, str) or not member_id or len(member_id) > 255:
        raise errors.BadRequest("Member to be added not specified: the body must be "
                                "{\"member\": \"<project id>\"}.")
    with req.db.session() as s:
        img = _shared_image(req, s)
        c.authorize_owner(req, "add_member", img)
        if s.get(m.ImageMember, (img.id, member_id)) is not None:
            raise errors.Conflict(f"Member {member_id} already exists for image {img.id}.")
        count = s.query(m.ImageMember).filter(m.ImageMember.image_id == img.id).count()
        if count >= MAX_MEMBERS:
            raise errors.PayloadTooLarge(f"Maximum number of members ({MAX_MEMBERS}) "
                                         f"exceeded.")
        mem = m.ImageMember(image_id=img.id, member=member_id, status="pending",
                            created_at=utcnow(), updated_at=utcnow())
        s.add(mem)
        s.flush()
        return to_dict(mem)


@routes.get("/v2/images/{image_id}/members")
def list_members(req):
    with req.db.session() as s:
        img = _shared_image(req, s)
        req.authorize("get_members", c.target(img))
        q = select(m.ImageMember).where(m.ImageMember.image_id == img.id)
        if not _is_owner(req, img):
            q = q.where(m.ImageMember.member == req.ctx.project_id)
        members = [to_dict(x) for x in s.execute(q.order_by(m.ImageMember.created_at)).scalars()]
    return {"members": members, "schema": "/v2/schemas/members"}


@routes.get("/v2/images/{image_id}/members/{member_id}")
def show_member(req):
    with req.db.session() as s:
        img = _shared_image(req, s)
        req.authorize("get_member", c.target(img))
        return to_dict(_member(req, s, img))


@routes.put("/v2/images/{image_id}/members/{member_id}")
def update_member(req):
    body = req.json()
    status = body.get("status") if isinstance(body, dict) else None
    if status not in MEMBER_STATUSES:
        raise errors.BadRequest(f"Invalid status {status!r}: must be one of "
                                f"{', '.join(MEMBER_STATUSES)}.")
    with req.db.session() as s:
        img = _shared_image(req, s)
        mem = _member(req, s, img)
        req.authorize("modify_member", c.target(img, member_id=mem.member))
        if not req.ctx.is_admin and mem.member != req.ctx.project_id:
            raise errors.Forbidden("Only the member project can change its membership "
                                   "status.")
        mem.status, mem.updated_at = status, utcnow()
        s.flush()
        return to_dict(mem)


@routes.delete("/v2/images/{image_id}/members/{member_id}")
def delete_member(req):
    with req.db.session() as s:
        img = _shared_image(req, s)
        mem = _member(req, s, img)
        if not _is_owner(req, img):
            raise errors.Forbidden("Only the image owner can remove a member.")
        c.authorize_owner(req, "delete_member", img)
        s.delete(mem)
    return 204, None
