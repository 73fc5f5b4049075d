"""/v2.1/images: Nova's image proxy (deprecated at 2.36, present at 2.1) over
this cloud's Image service, and /v2.1/images/{id}/metadata.

As nova/api/openstack/compute/images.py and image_metadata.py with the
glance v2 backend: the listing takes Nova's filters (``name``, ``status``,
``changes-since``, ``server`` (id or URL), ``type``, ``minRam``,
``minDisk``, ``property-*``) plus ``limit``/``marker``; visibility and
permissions are the Image service's own (its ``get_images``/``get_image``/
``delete_image``/``modify_image`` policies).  Bodies follow
nova/api/openstack/compute/views/images.py; ``metadata`` is the image's
extra properties.  Snapshots taken by ``createImage`` carry
``instance_uuid`` and so show their ``server``.
"""
from __future__ import annotations

from starlette.datastructures import QueryParams

from stratus.api import pagination
from stratus.api.compute import server_list
from stratus.api.compute import server_schema as schema
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import quotas
from stratus.db.models import image as m
from stratus.db.models.identity import utcnow
from stratus.image import api as image_api
from stratus.image import query as image_query

routes = RouteTable()

STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
          "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
META_ITEM = {"type": "object", "minProperties": 1, "maxProperties": 1,
             "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string",
                                                                 "maxLength": 255}},
             "additionalProperties": False}


def _policy(req, rule: str, img: m.Image | None = None) -> None:
    target = {} if img is None else {"project_id": img.owner, "owner": img.owner,
                                     "visibility": img.visibility}
    req.runtime.authorize("image", rule, target, req.ctx)


def _image_url(req) -> str:
    return f"{req.runtime.public_url(req.raw)}/image"


def _links(req, image_id: str) -> list[dict]:
    base = req.url_for("").rstrip("/")
    return [{"rel": "self", "href": f"{base}/v2.1/images/{image_id}"},
            {"rel": "bookmark", "href": f"{base}/images/{image_id}"},
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{_image_url(req)}/images/{image_id}"}]


def _basic(req, img: m.Image) -> dict:
    return {"id": img.id, "name": img.name, "links": _links(req, img.id)}


def _detail(req, img: m.Image, props: dict) -> dict:
    body = {"id": img.id, "name": img.name, "minRam": int(img.min_ram or 0),
            "minDisk": int(img.min_disk or 0), "metadata": dict(props),
            "created": image_api.isotime(img.created_at),
            "updated": image_api.isotime(img.updated_at),
            "status": STATUS.get(img.status, "UNKNOWN"),
            "progress": PROGRESS.get(img.status, 0),
            "OS-EXT-IMG-SIZE:size": img.size, "links": _links(req, img.id)}
    server = props.get("instance_uuid")
    if server is not None:
        base = req.url_for("").rstrip("/")
        body["server"] = {"id": server, "links": [
            {"rel": "self", "href": f"{base}/v2.1/servers/{server}"},
            {"rel": "bookmark", "href": f"{base}/servers/{server}"}]}
    auto = props.get("auto_disk_config")
    if auto is not None:
        body["OS-DCF:diskConfig"] = "AUTO" if auto.strip().lower() in (
            "1", "t", "true", "on", "y", "yes") else "MANUAL"
    return body


def _glance_query(query) -> QueryParams:
    """Nova's filters as the Image service's listing reads them."""
    items: list[tuple[str, str]] = []
    for name, value in query.multi_items():
        if name == "name":
            items.append(("name", value))
        elif name == "status":
            items.append(("status", value.lower()))
        elif name == "server":
            items.append(("instance_uuid", value.rstrip("/").rsplit("/", 1)[-1]))
        elif name == "type":
            items.append(("image_type", value))
        elif name.startswith("property-") and len(name) > len("property-"):
            items.append((name[len("property-"):], value))
    return QueryParams(items)


def _int_param(query, name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError:
        raise errors.BadRequest(f"Invalid {name} value: {query[name]!r} is not an "
                                "integer.") from None


def _listing(req, detail: bool):
    _policy(req, "get_images")
    q = req.query
    limit = _int_param(q, "limit")
    if limit is not None and limit < 0:
        raise errors.BadRequest("limit param must be positive")
    marker = q.get("marker") or None
    stmt = image_query.select_images(_glance_query(q), req.ctx)
    status = q.get("status")
    if status is not None and status.lower() not in image_api.STATUSES:
        stmt = stmt.where(m.Image.id.is_(None))  # Nova: an unknown status matches nothing
    since = q.get("changes-since")
    if since:
        stmt = stmt.where(m.Image.updated_at >= server_list.parse_time(since, "changes-since"))
    for param, col in (("minRam", m.Image.min_ram), ("minDisk", m.Image.min_disk)):
        value = _int_param(q, param)
        if value is not None:
            stmt = stmt.where(col >= value)
    page = pagination.PageRequest(limit, marker, [("created_at", "desc")])
    with req.db.session() as s:
        if marker and image_api.get_image(s, marker, req.ctx) is None:
            raise errors.BadRequest(f"marker [{marker}] not found")
        rows = list(s.execute(pagination.apply(s, stmt, m.Image, page)).scalars())
        if detail:
            props = image_api.properties_of(s, [i.id for i in rows])
            items = [_detail(req, i, props[i.id]) for i in rows]
        else:
            items = [_basic(req, i) for i in rows]
    body = {"images": items}
    if limit and len(items) == limit:
        nxt = pagination.next_link(req.url_for("/v2.1/images" + ("/detail" if detail else "")),
                                   q, items, page)
        if nxt:
            body["images_links"] = [{"rel": "next", "href": nxt}]
    return body


@routes.get("/v2.1/images")
def list_images(req):
    return _listing(req, detail=False)


@routes.get("/v2.1/images/detail")
def list_images_detail(req):
    return _listing(req, detail=True)


def _image(req, s, image_id: str) -> m.Image:
    img = image_api.get_image(s, image_id, req.ctx)
    if img is None:
        raise errors.NotFound("Image not found.")
    return img


@routes.get("/v2.1/images/{image_id}")
def show_image(req):
    _policy(req, "get_image")
    with req.db.session() as s:
        img = _image(req, s, req.path_params["image_id"])
        return {"image": _detail(req, img, image_api.properties_of(s, [img.id])[img.id])}


@routes.delete("/v2.1/images/{image_id}")
def delete_image(req):
    from stratus.api.image import common as image_common
    from stratus.image import chunks
    with req.db.session() as s:
        img = _image(req, s, req.path_params["image_id"])
        try:
            _policy(req, "delete_image", img)
        except errors.Forbidden:
            raise errors.Forbidden("You are not allowed to delete the image.") from None
        if img.protected:
            raise errors.Forbidden("You are not allowed to delete the image.")
        chunks.release_image(s, image_common.store(req), img.id)
        s.delete(img)
    return 204, None


# ------------------------------------------------------------------ metadata
def _props(s, img: m.Image) -> dict[str, str]:
    return image_api.properties_of(s, [img.id])[img.id]


def _writable(req, s) -> m.Image:
    img = _image(req, s, req.path_params["image_id"])
    try:
        _policy(req, "modify_image", img)
    except errors.Forbidden:
        raise errors.Forbidden("You are not allowed to modify the image.") from None
    return img


def _store_props(req, s, img: m.Image, props: dict[str, str]) -> dict[str, str]:
    """Make ``props`` the image's extra properties (quota: metadata_items)."""
    reserved = [k for k in props if k in image_api.CORE or k in image_api.RESERVED]
    if reserved:
        raise errors.Forbidden(f"Attribute '{reserved[0]}' is reserved.")
    quotas.check_metadata(s, req.conf, req.ctx, len(props))
    s.query(m.ImageProperty).filter_by(image_id=img.id).delete()
    for k, v in props.items():
        s.add(m.ImageProperty(image_id=img.id, name=k, value=v))
    img.updated_at = utcnow()
    s.flush()
    return dict(props)


@routes.get("/v2.1/images/{image_id}/metadata")
def list_metadata(req):
    _policy(req, "get_image")
    with req.db.session() as s:
        return {"metadata": _props(s, _image(req, s, req.path_params["image_id"]))}


@routes.post("/v2.1/images/{image_id}/metadata")
def update_metadata(req):
    meta = schema.metadata_of(schema.body_of(req.json(), "metadata"))
    with req.db.session() as s:
        img = _writable(req, s)
        return {"metadata": _store_props(req, s, img, {**_props(s, img), **meta})}


@routes.put("/v2.1/images/{image_id}/metadata")
def set_metadata(req):
    meta = schema.metadata_of(schema.body_of(req.json(), "metadata"))
    with req.db.session() as s:
        img = _writable(req, s)
        return {"metadata": _store_props(req, s, img, dict(meta))}


@routes.get("/v2.1/images/{image_id}/metadata/{key}")
def show_metadata_item(req):
    _policy(req, "get_image")
    key = req.path_params["key"]
    with req.db.session() as s:
        props = _props(s, _image(req, s, req.path_params["image_id"]))
    if key not in props:
        raise errors.NotFound("Invalid metadata key")
    return {"meta": {key: props[key]}}


@routes.put("/v2.1/images/{image_id}/metadata/{key}")
def set_metadata_item(req):
    key = req.path_params["key"]
    meta = schema.validate(schema.body_of(req.json(), "meta"), META_ITEM, "meta")
    if key not in meta:
        raise errors.BadRequest("Request body and URI mismatch")
    with req.db.session() as s:
        img = _writable(req, s)
        _store_props(req, s, img, {**_props(s, img), key: meta[key]})
    return {"meta": {key: meta[key]}}


@routes.delete("/v2.1/images/{image_id}/metadata/{key}")
def delete_metadata_item(req):
    key = req.path_params["key"]
    with req.db.session() as s:
        img = _writable(req, s)
        props = _props(s, img)
        if key not in props:
            raise errors.NotFound("Invalid metadata key")
        del props[key]
        s.query(m.ImageProperty).filter_by(image_id=img.id, name=key).delete()
        img.updated_at = utcnow()
    return 204, None


@routes.add("/v2.1/images/", ["DELETE", "PUT", "POST"])
def no_image_id(req):
    """``/images/`` (an empty image id) names no image."""
    raise errors.NotFound("Image not found.")
