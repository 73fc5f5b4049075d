"""/v2.1/os-keypairs: per-user key pairs (import or generate), as nova 2.1."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

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


def _target(req) -> dict:
    return {"user_id": req.ctx.user_id, "project_id": req.ctx.project_id}


def _full(k: m.KeyPair) -> dict:
    return {"public_key": k.public_key, "name": k.name, "fingerprint": k.fingerprint,
            "user_id": k.user_id, "deleted": False, "created_at": c.isotime(k.created_at),
            "updated_at": None, "deleted_at": None, "id": k.id}


def _get_or_404(s, req, name: str) -> m.KeyPair:
    k = domain.get_keypair(s, req.ctx.user_id, name)
    if k is None:
        raise errors.NotFound(f"Keypair {name} not found for user {req.ctx.user_id}")
    return k


@routes.get("/v2.1/os-keypairs")
def list_keypairs(req):
    req.authorize("os_compute_api:os-keypairs:index", _target(req))
    with req.db.session() as s:
        rows = s.scalars(select(m.KeyPair).where(m.KeyPair.user_id == req.ctx.user_id)
                         .order_by(m.KeyPair.name))
        return {"keypairs": [{"keypair": {"public_key": k.public_key, "name": k.name,
                                          "fingerprint": k.fingerprint}} for k in rows]}


@routes.get("/v2.1/os-keypairs/{name}")
def show_keypair(req):
    req.authorize("os_compute_api:os-keypairs:show", _target(req))
    with req.db.session() as s:
        return {"keypair": _full(_get_or_404(s, req, req.path_params["name"]))}


@routes.post("/v2.1/os-keypairs")
def create_keypair(req):
    req.authorize("os_compute_api:os-keypairs:create", _target(req))
    body = c.validate(req.json(), CREATE)["keypair"]
    name = domain.validate_name(body["name"])
    private = None
    if "public_key" in body:
        public = body["public_key"].strip()
        fp = domain.fingerprint(public)
    else:
        private, public, fp = domain.generate()
    user_id = req.ctx.user_id
    with req.db.session() as s:
        used = quotas.count_key_pairs(s, user_id)
        limit = quotas.limits_for(s, req.conf, req.ctx.project_id, user_id)["key_pairs"]
        if 0 <= limit <= used:
            raise quotas.QuotaExceeded("Quota exceeded, too many key pairs.")
        if domain.get_keypair(s, user_id, name) is not None:
            raise errors.Conflict(f"Key pair '{name}' already exists.")
        k = m.KeyPair(user_id=user_id, name=name, fingerprint=fp, public_key=public,
                      type="ssh")
        s.add(k)
        try:
            s.flush()
        except IntegrityError:
            raise errors.Conflict(f"Key pair '{name}' already exists.") from None
        out = {"public_key": public, "name": name, "fingerprint": fp, "user_id": user_id}
    if private is not None:
        out["private_key"] = private
    return {"keypair": out}


@routes.delete("/v2.1/os-keypairs/{name}")
def delete_keypair(req):
    req.authorize("os_compute_api:os-keypairs:delete", _target(req))
    with req.db.session() as s:
        s.delete(_get_or_404(s, req, req.path_params["name"]))
    return 202, None
