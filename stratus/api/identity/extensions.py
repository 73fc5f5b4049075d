"""Two small Keystone extensions Tempest exercises: OS-EP-FILTER endpoint
groups (saved endpoint filters) and OS-OAUTH1 consumer registration.  The
OAuth1 delegation flow itself is not served (see docs/feature-matrix.md)."""
from __future__ import annotations

import base64
import os

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity.passwords import hash_password

routes = RouteTable()
FILTERS = {"type": "object", "properties": {"interface": {"enum": ["public", "internal",
                                                                   "admin"]},
                                            "service_id": c.ID, "region_id": c.ID},
           "additionalProperties": False}
GROUP = c.entity_schema({"name": c.NAME_255, "description": c.DESCRIPTION, "filters": FILTERS},
                        required=["name", "filters"], extra=False)
GROUP_UPDATE = c.entity_schema(GROUP["properties"], min_properties=1, extra=False)
CONSUMER = c.entity_schema({"description": c.DESCRIPTION})
EPF = "/v3/OS-EP-FILTER/endpoint_groups"


def group_dict(req, g: m.EndpointGroup) -> dict:
    return {"id": g.id, "name": g.name, "description": g.description or "",
            "filters": g.filters, "links": c.link(req, f"{EPF}/{g.id}")}


@routes.post(EPF)
def create_endpoint_group(req):
    ref = c.validate(req.json(), "endpoint_group", GROUP)
    req.authorize("identity:create_endpoint_group", {})
    with req.db.session() as s:
        g = m.EndpointGroup(id=c.new_id(), name=ref["name"], description=ref.get("description"),
                            filters=ref["filters"])
        s.add(g)
        s.flush()
        return 201, {"endpoint_group": group_dict(req, g)}


@routes.get(EPF)
def list_endpoint_groups(req):
    req.authorize("identity:list_endpoint_groups", {})
    with req.db.session() as s:
        q = select(m.EndpointGroup).order_by(m.EndpointGroup.name)
        if req.query.get("name"):
            q = q.where(m.EndpointGroup.name == req.query["name"])
        return {"endpoint_groups": [group_dict(req, g) for g in s.scalars(q)],
                "links": c.collection_links(req)}


@routes.get(EPF + "/{group_id}")
def get_endpoint_group(req):
    req.authorize("identity:get_endpoint_group", {})
    with req.db.session() as s:
        g = c.get_or_404(s, m.EndpointGroup, req.path_params["group_id"], "endpoint group")
        body = {"endpoint_group": group_dict(req, g)}
    if req.method == "HEAD":  # Keystone answers HEAD here with 200, not 204
        return 200, None
    return body


routes.head(EPF + "/{group_id}")(get_endpoint_group)


@routes.patch(EPF + "/{group_id}")
def update_endpoint_group(req):
    ref = c.validate(req.json(), "endpoint_group", GROUP_UPDATE)
    req.authorize("identity:update_endpoint_group", {})
    with req.db.session() as s:
        g = c.get_or_404(s, m.EndpointGroup, req.path_params["group_id"], "endpoint group")
        for k in ("name", "description", "filters"):
            if k in ref:
                setattr(g, k, ref[k])
        return {"endpoint_group": group_dict(req, g)}


@routes.delete(EPF + "/{group_id}")
def delete_endpoint_group(req):
    req.authorize("identity:delete_endpoint_group", {})
    with req.db.session() as s:
        s.delete(c.get_or_404(s, m.EndpointGroup, req.path_params["group_id"], "endpoint group"))
    return 204, None


# -- OS-OAUTH1 consumers ---------------------------------------------------------
OAUTH = "/v3/OS-OAUTH1/consumers"


def consumer_dict(req, cs: m.OAuthConsumer) -> dict:
    return {**(cs.extra or {}), "id": cs.id, "description": cs.description,
            "links": c.link(req, f"{OAUTH}/{cs.id}")}


@routes.post(OAUTH)
def create_consumer(req):
    ref = c.validate(req.json(), "consumer", CONSUMER)
    if "secret" in ref or "id" in ref:
        raise errors.ValidationError("A consumer's id and secret are generated.")
    req.authorize("identity:create_consumer", {})
    secret = base64.urlsafe_b64encode(os.urandom(24)).rstrip(b"=").decode()
    with req.db.session() as s:
        cs = m.OAuthConsumer(id=c.new_id(), description=ref.get("description"),
                             secret_hash=hash_password(secret,
                                                       req.conf.identity.password_hash_rounds),
                             extra={k: v for k, v in ref.items() if k != "description"})
        s.add(cs)
        s.flush()
        body = consumer_dict(req, cs)
    body["secret"] = secret
    return 201, {"consumer": body}


@routes.get(OAUTH)
def list_consumers(req):
    req.authorize("identity:list_consumers", {})
    with req.db.session() as s:
        return {"consumers": [consumer_dict(req, cs) for cs in s.scalars(select(m.OAuthConsumer))],
                "links": c.collection_links(req)}


@routes.get(OAUTH + "/{consumer_id}")
def get_consumer(req):
    req.authorize("identity:get_consumer", {})
    with req.db.session() as s:
        return {"consumer": consumer_dict(req, c.get_or_404(
            s, m.OAuthConsumer, req.path_params["consumer_id"], "consumer"))}


@routes.patch(OAUTH + "/{consumer_id}")
def update_consumer(req):
    ref = c.validate(req.json(), "consumer", CONSUMER)
    if "secret" in ref or ("id" in ref and ref["id"] != req.path_params["consumer_id"]):
        raise errors.ValidationError("A consumer's id and secret cannot be changed.")
    req.authorize("identity:update_consumer", {})
    with req.db.session() as s:
        cs = c.get_or_404(s, m.OAuthConsumer, req.path_params["consumer_id"], "consumer")
        if "description" in ref:
            cs.description = ref["description"]
        cs.extra = {**(cs.extra or {}), **{k: v for k, v in ref.items()
                                           if k not in ("description", "id")}}
        return {"consumer": consumer_dict(req, cs)}


@routes.delete(OAUTH + "/{consumer_id}")
def delete_consumer(req):
    req.authorize("identity:delete_consumer", {})
    with req.db.session() as s:
        s.delete(c.get_or_404(s, m.OAuthConsumer, req.path_params["consumer_id"], "consumer"))
    return 204, None
