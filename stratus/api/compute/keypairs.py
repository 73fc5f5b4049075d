"""/v2.1/os-keypairs: per-user key pairs (import or generate), as nova.

Microversions: 2.2 adds ``type`` (ssh|x509) to the create body and to every
answer, create answers 201 and delete 204; 2.10 adds the ``user_id`` query
parameter (list/show/delete another user's key pairs) and ``user_id`` in the
create body, both subject to the policy (admins, or the user themself)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stratus.api.compute import microversion
from stratus.api.compute import res_common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import keypairs as domain
from stratus.compute import quotas
from stratus.db.models import compute as m

routes = RouteTable()
CREATE = {"type": "object",
          "properties": {"keypair": {
              "type": "object",
              "properties": {"name": {"type": "string"}, "public_key": {"type": "string"}},
              "required": ["name"], "additionalProperties": False}},
          "required": ["keypair"], "additionalProperties": False}
CREATE_V22 = {"type": "object",
              "properties": {"keypair": {
                  "type": "object",
                  "properties": {"name": {"type": "string"}, "public_key": {"type": "string"},
                                 "type": {"type": "string", "enum": ["ssh", "x509"]}},
                  "required": ["name"], "additionalProperties": False}},
              "required": ["keypair"], "additionalProperties": False}
CREATE_V210 = {"type": "object",
               "properties": {"keypair": {
                   "type": "object",
                   "properties": {"name": {"type": "string"}, "public_key": {"type": "string"},
                                  "type": {"type": "string", "enum": ["ssh", "x509"]},
                                  "user_id": {"type": "string"}},
                   "required": ["name"], "additionalProperties": False}},
               "required": ["keypair"], "additionalProperties": False}


def _user_of(req) -> str:
    """The user whose key pairs are meant: ``?user_id=`` from 2.10, else the caller."""
    if microversion.at_least(req, 2, 10) and req.query.get("user_id"):
        return req.query["user_id"]
    return req.ctx.user_id


def _target(req, user_id: str | None = None) -> dict:
    return {"user_id": user_id or req.ctx.user_id, "project_id": req.ctx.project_id}


def _full(req, k: m.KeyPair) -> dict:
    out = {"public_key": k.public_key, "name": k.name, "fingerprint": k.fingerprint,
           "user_id": k.user_id, "deleted": False, "created_at": c.isotime(k.created_at),
           "updated_at": None, "deleted_at": None, "id": k.id}
    if microversion.at_least(req, 2, 2):
        out["type"] = k.type or "ssh"
    return out


def _get_or_404(s, req, name: str, user_id: str | None = None) -> m.KeyPair:
    user_id = user_id or req.ctx.user_id
    k = domain.get_keypair(s, user_id, name)
    if k is None:
        raise errors.NotFound(f"Keypair {name} not found for user {user_id}")
    return k


@routes.get("/v2.1/os-keypairs")
def list_keypairs(req):
    user_id = _user_of(req)
    req.authorize("os_compute_api:os-keypairs:index", _target(req, user_id))
    typed = microversion.at_least(req, 2, 2)
    with req.db.session() as s:
        rows = s.scalars(select(m.KeyPair).where(m.KeyPair.user_id == user_id)
                         .order_by(m.KeyPair.name))
        out = []
        for k in rows:
            item = {"public_key": k.public_key, "name": k.name, "fingerprint": k.fingerprint}
            if typed:
                item["type"] = k.type or "ssh"
            out.append({"keypair": item})
        return {"keypairs": out}


@routes.get("/v2.1/os-keypairs/{name}")
def show_keypair(req):
    user_id = _user_of(req)
    req.authorize("os_compute_api:os-keypairs:show", _target(req, user_id))
    with req.db.session() as s:
        return {"keypair": _full(req, _get_or_404(s, req, req.path_params["name"], user_id))}


@routes.post("/v2.1/os-keypairs")
def create_keypair(req):
    if microversion.at_least(req, 2, 10):
        schema = CREATE_V210
    elif microversion.at_least(req, 2, 2):
        schema = CREATE_V22
    else:
        schema = CREATE
    body = c.validate(req.json(), schema)["keypair"]
    user_id = body.get("user_id") or req.ctx.user_id
    req.authorize("os_compute_api:os-keypairs:create", _target(req, user_id))
    name = domain.validate_name(body["name"])
    key_type = body.get("type", "ssh")
    private = None
    if "public_key" in body:
        public = body["public_key"].strip()
        fp = domain.x509_fingerprint(public) if key_type == "x509" else \
            domain.fingerprint(public)
    elif key_type == "x509":
        private, public, fp = domain.generate_x509(user_id)
    else:
        private, public, fp = domain.generate()
    with req.db.session() as s:
        used = quotas.count_key_pairs(s, user_id)
        limit = quotas.limits_for(s, req.conf, req.ctx.project_id, user_id)["key_pairs"]
        if 0 <= limit <= used:
            raise quotas.QuotaExceeded("Quota exceeded, too many key pairs.")
        if domain.get_keypair(s, user_id, name) is not None:
            raise errors.Conflict(f"Key pair '{name}' already exists.")
        k = m.KeyPair(user_id=user_id, name=name, fingerprint=fp, public_key=public,
                      type=key_type)
        s.add(k)
        try:
            s.flush()
        except IntegrityError:
            raise errors.Conflict(f"Key pair '{name}' already exists.") from None
        out = {"public_key": public, "name": name, "fingerprint": fp, "user_id": user_id}
    if private is not None:
        out["private_key"] = private
    if microversion.at_least(req, 2, 2):
        out["type"] = key_type
        return 201, {"keypair": out}
    return {"keypair": out}


@routes.delete("/v2.1/os-keypairs/{name}")
def delete_keypair(req):
    user_id = _user_of(req)
    req.authorize("os_compute_api:os-keypairs:delete", _target(req, user_id))
    with req.db.session() as s:
        s.delete(_get_or_404(s, req, req.path_params["name"], user_id))
    return (204 if microversion.at_least(req, 2, 2) else 202), None
