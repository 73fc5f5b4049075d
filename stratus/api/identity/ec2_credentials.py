"""/v3/users/{user_id}/credentials/OS-EC2: EC2-style access/secret key pairs,
stored as ``ec2`` credentials (the id is the SHA-256 of the access key, as in
Keystone, so /v3/credentials shows the same rows).  Signature-based
authentication with them (/v3/ec2tokens) is not served yet."""
from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity import assignments

routes = RouteTable()
BASE = "/v3/users/{user_id}/credentials/OS-EC2"
CREATE = {"type": "object", "properties": {"tenant_id": c.ID}, "required": ["tenant_id"],
          "additionalProperties": True}


def to_dict(req, cr: m.Credential) -> dict:
    blob = json.loads(cr.blob)
    return {"user_id": cr.user_id, "tenant_id": cr.project_id, "access": blob.get("access"),
            "secret": blob.get("secret"), "trust_id": blob.get("trust_id"),
            "links": c.link(req, f"/v3/users/{cr.user_id}/credentials/OS-EC2/"
                                 f"{blob.get('access')}")}


@routes.post(BASE)
def create_ec2(req):
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("tenant_id"), str):
        raise errors.ValidationError("Invalid input for field 'tenant_id': a project id is "
                                     "required.")
    user_id = req.path_params["user_id"]
    req.authorize("identity:ec2_create_credential", {"user_id": user_id})
    with req.db.session() as s:
        c.get_or_404(s, m.User, user_id, "user")
        proj = c.get_or_404(s, m.Project, body["tenant_id"], "project", is_domain=False)
        if not assignments.effective_role_ids(s, user_id, project=proj):
            raise errors.Forbidden(f"User {user_id} has no role on project {proj.id}.")
        access, secret = uuid.uuid4().hex, uuid.uuid4().hex
        cr = m.Credential(id=hashlib.sha256(access.encode()).hexdigest(), user_id=user_id,
                          project_id=proj.id, type="ec2",
                          blob=json.dumps({"access": access, "secret": secret,
                                           "trust_id": None}), extra={})
        s.add(cr)
        s.flush()
        return 201, {"credential": to_dict(req, cr)}


@routes.get(BASE)
def list_ec2(req):
    user_id = req.path_params["user_id"]
    req.authorize("identity:ec2_list_credentials", {"user_id": user_id})
    with req.db.session() as s:
        rows = s.scalars(select(m.Credential).where(m.Credential.user_id == user_id,
                                                    m.Credential.type == "ec2"))
        return {"credentials": [to_dict(req, cr) for cr in rows],
                "links": c.collection_links(req)}


def _get(req, s, rule: str) -> m.Credential:
    access = req.path_params["access"]
    cr = s.get(m.Credential, hashlib.sha256(access.encode()).hexdigest())
    if cr is None or cr.type != "ec2" or cr.user_id != req.path_params["user_id"]:
        raise errors.NotFound(f"Could not find credential: {access}.")
    req.authorize(rule, {"target": {"credential": {"user_id": cr.user_id}}})
    return cr


@routes.get(BASE + "/{access}")
def get_ec2(req):
    with req.db.session() as s:
        return {"credential": to_dict(req, _get(req, s, "identity:ec2_get_credential"))}


@routes.delete(BASE + "/{access}")
def delete_ec2(req):
    with req.db.session() as s:
        s.delete(_get(req, s, "identity:ec2_delete_credential"))
    return 204, None
