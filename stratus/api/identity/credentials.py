"""/v3/credentials (opaque blobs such as EC2 keys) and /v3/policies
(Keystone's policy-blob store; not the RBAC policy this server enforces)."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m

routes = RouteTable()
BLOB = {"type": "string", "maxLength": 65535}
CRED = c.entity_schema({"blob": BLOB, "type": {"type": "string", "minLength": 1,
                                               "maxLength": 255},
                        "user_id": c.ID, "project_id": c.NULLABLE_ID},
                       required=["blob", "type", "user_id"])
CRED_UPDATE = c.entity_schema(CRED["properties"], min_properties=1)
POLICY = c.entity_schema({"blob": BLOB, "type": {"type": "string", "maxLength": 255}},
                         required=["blob", "type"])
POLICY_UPDATE = c.entity_schema(POLICY["properties"], min_properties=1)


def cred_dict(req, cr: m.Credential) -> dict:
    return {**(cr.extra or {}), "id": cr.id, "user_id": cr.user_id, "project_id": cr.project_id,
            "type": cr.type, "blob": cr.blob, "links": c.link(req, f"/v3/credentials/{cr.id}")}


def _ec2_id(ref: dict) -> str:
    try:
        access = json.loads(ref["blob"]).get("access")
    except (ValueError, AttributeError):
        access = None
    if not access:
        raise errors.ValidationError("Invalid blob in credential: an ec2 credential's blob "
                                     "must be JSON with an 'access' key.")
    if not ref.get("project_id"):
        raise errors.ValidationError("Invalid input for field 'credential.project_id': required "
                                     "for ec2 credentials.")
    return hashlib.sha256(access.encode()).hexdigest()


def _cred_target(cr_or_ref) -> dict:
    get = (lambda k: cr_or_ref.get(k)) if isinstance(cr_or_ref, dict) else \
        (lambda k: getattr(cr_or_ref, k))
    return {"target": {"credential": {"user_id": get("user_id"),
                                      "project_id": get("project_id")}}}


@routes.post("/v3/credentials")
def create_credential(req):
    ref = c.validate(req.json(), "credential", CRED)
    req.authorize("identity:create_credential", _cred_target(ref))
    with req.db.session() as s:
        c.get_or_404(s, m.User, ref["user_id"], "user")
        cid = _ec2_id(ref) if ref["type"] == "ec2" else c.new_id()
        if s.get(m.Credential, cid) is not None:
            raise errors.Conflict(f"Conflict occurred attempting to store credential - "
                                  f"Duplicate ID, {cid}.")
        cr = m.Credential(id=cid, user_id=ref["user_id"], project_id=ref.get("project_id"),
                          type=ref["type"], blob=ref["blob"],
                          extra={k: v for k, v in ref.items() if k not in CRED["properties"]})
        s.add(cr)
        s.flush()
        return 201, {"credential": cred_dict(req, cr)}


@routes.get("/v3/credentials")
def list_credentials(req):
    with req.db.session() as s:
        q = c.apply_filters(select(m.Credential), m.Credential, req, ["user_id", "type"])
        engine = req.runtime.policies[req.service]
        # Filter per item, as Keystone does: a user sees only what they may get.
        visible = [cr for cr in s.scalars(q)
                   if engine.enforce("identity:list_credentials", _cred_target(cr),
                                     req.ctx.creds())]
        return {"credentials": [cred_dict(req, cr) for cr in visible],
                "links": c.collection_links(req)}


def _get_cred(req, s, rule) -> m.Credential:
    cr = c.get_or_404(s, m.Credential, req.path_params["credential_id"], "credential")
    req.authorize(rule, _cred_target(cr))
    return cr


@routes.get("/v3/credentials/{credential_id}")
def get_credential(req):
    with req.db.session() as s:
        return {"credential": cred_dict(req, _get_cred(req, s, "identity:get_credential"))}


@routes.patch("/v3/credentials/{credential_id}")
def update_credential(req):
    ref = c.validate(req.json(), "credential", CRED_UPDATE)
    with req.db.session() as s:
        cr = _get_cred(req, s, "identity:update_credential")
        if "user_id" in ref and ref["user_id"] != cr.user_id:
            req.authorize("identity:update_credential", _cred_target(ref))
            c.get_or_404(s, m.User, ref["user_id"], "user")
        for k in ("blob", "type", "user_id", "project_id"):
            if k in ref:
                setattr(cr, k, ref[k])
        if cr.type == "ec2":
            _ec2_id({"blob": cr.blob, "project_id": cr.project_id})
        return {"credential": cred_dict(req, cr)}


@routes.delete("/v3/credentials/{credential_id}")
def delete_credential(req):
    with req.db.session() as s:
        s.delete(_get_cred(req, s, "identity:delete_credential"))
    return 204, None


# -- /v3/policies --------------------------------------------------------------------
def policy_dict(req, p: m.PolicyBlob) -> dict:
    return {**(p.extra or {}), "id": p.id, "type": p.type, "blob": p.blob,
            "links": c.link(req, f"/v3/policies/{p.id}")}


@routes.post("/v3/policies")
def create_policy(req):
    ref = c.validate(req.json(), "policy", POLICY)
    req.authorize("identity:create_policy", {})
    with req.db.session() as s:
        p = m.PolicyBlob(id=c.new_id(), type=ref["type"], blob=ref["blob"],
                         extra={k: v for k, v in ref.items() if k not in ("blob", "type", "id")})
        s.add(p)
        s.flush()
        return 201, {"policy": policy_dict(req, p)}


@routes.get("/v3/policies")
def list_policies(req):
    req.authorize("identity:list_policies", {})
    with req.db.session() as s:
        q = c.apply_filters(select(m.PolicyBlob), m.PolicyBlob, req, ["type"])
        return {"policies": [policy_dict(req, p) for p in s.scalars(q)],
                "links": c.collection_links(req)}


@routes.get("/v3/policies/{policy_id}")
def get_policy(req):
    req.authorize("identity:get_policy", {})
    with req.db.session() as s:
        return {"policy": policy_dict(req, c.get_or_404(s, m.PolicyBlob,
                                                        req.path_params["policy_id"], "policy"))}


@routes.patch("/v3/policies/{policy_id}")
def update_policy(req):
    ref = c.validate(req.json(), "policy", POLICY_UPDATE)
    req.authorize("identity:update_policy", {})
    with req.db.session() as s:
        p = c.get_or_404(s, m.PolicyBlob, req.path_params["policy_id"], "policy")
        for k in ("blob", "type"):
            if k in ref:
                setattr(p, k, ref[k])
        return {"policy": policy_dict(req, p)}


@routes.delete("/v3/policies/{policy_id}")
def delete_policy(req):
    req.authorize("identity:delete_policy", {})
    with req.db.session() as s:
        s.delete(c.get_or_404(s, m.PolicyBlob, req.path_params["policy_id"], "policy"))
    return 204, None
