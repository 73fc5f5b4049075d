"""/v2.1/servers/{id}/metadata: list, replace (PUT), merge (POST), and one
item: show, set, delete.  The ``metadata_items`` quota bounds the total."""
from __future__ import annotations

from sqlalchemy import delete, select

from stratus.api.compute import server_schema as schema
from stratus.api.compute.server_common import get_instance, metadata_of
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import quotas
from stratus.db.models.compute import InstanceMetadata

routes = RouteTable()
P = "os_compute_api:server-metadata:"
BASE = "/v2.1/servers/{server_id}/metadata"


def _server(s, req, rule: str):
    return get_instance(s, req, req.path_params["server_id"], P + rule)


def _write(s, req, uuid: str, items: dict, replace: bool) -> dict:
    current = {} if replace else metadata_of(s, uuid)
    merged = {**current, **items}
    quotas.check_metadata(s, req.conf, req.ctx, len(merged))
    if replace:
        s.execute(delete(InstanceMetadata).where(InstanceMetadata.instance_uuid == uuid))
    for key, value in items.items():
        row = None if replace else s.get(InstanceMetadata, (uuid, key))
        if row is None:
            s.add(InstanceMetadata(instance_uuid=uuid, key=key, value=value))
        else:
            row.value = value
    s.flush()
    return merged


def _metadata_body(req) -> dict:
    body = req.json()
    return schema.metadata_of(schema.body_of(body, "metadata"))


@routes.get(BASE)
def list_metadata(req):
    with req.db.session() as s:
        inst = _server(s, req, "index")
        return {"metadata": metadata_of(s, inst.uuid)}


@routes.put(BASE)
def replace_metadata(req):
    items = _metadata_body(req)
    with req.db.session() as s:
        inst = _server(s, req, "update_all")
        return {"metadata": _write(s, req, inst.uuid, items, replace=True)}


@routes.post(BASE)
def update_metadata(req):
    items = _metadata_body(req)
    with req.db.session() as s:
        inst = _server(s, req, "create")
        return {"metadata": _write(s, req, inst.uuid, items, replace=False)}


@routes.get(BASE + "/{key}")
def show_metadata_item(req):
    key = req.path_params["key"]
    with req.db.session() as s:
        inst = _server(s, req, "show")
        row = s.get(InstanceMetadata, (inst.uuid, key))
        if row is None:
            raise errors.NotFound("Metadata item was not found")
        return {"meta": {key: row.value}}


@routes.put(BASE + "/{key}")
def set_metadata_item(req):
    key = req.path_params["key"]
    meta = schema.body_of(req.json(), "meta")
    schema.metadata_of(meta)
    if len(meta) != 1:
        raise errors.BadRequest("Request body contains too many items")
    if key not in meta:
        raise errors.BadRequest("Request body and URI mismatch")
    with req.db.session() as s:
        inst = _server(s, req, "update")
        _write(s, req, inst.uuid, meta, replace=False)
        return {"meta": meta}


@routes.delete(BASE + "/{key}")
def delete_metadata_item(req):
    key = req.path_params["key"]
    with req.db.session() as s:
        inst = _server(s, req, "delete")
        found = s.scalar(select(InstanceMetadata).where(
            InstanceMetadata.instance_uuid == inst.uuid, InstanceMetadata.key == key))
        if found is None:
            raise errors.NotFound("Metadata item was not found")
        s.delete(found)
    return 204, None
