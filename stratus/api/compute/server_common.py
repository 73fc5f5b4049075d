"""Helpers shared by the servers API modules: loading a server the caller may
see, and gathering what the view builder needs (metadata, faults, addresses)
for many servers in a few queries."""
from __future__ import annotations

from sqlalchemy import select

from stratus.api.compute import server_views as views
from stratus.api.compute.microversion import version_of
from stratus.common import errors
from stratus.db.models.compute import Instance, InstanceFault, InstanceMetadata


def links_of(req) -> views.Links:
    return views.Links(req.url_for("").rstrip("/"))


def get_instance(session, req, server_id: str, rule: str | None = None,
                 for_update: bool = False) -> Instance:
    """The live server ``server_id``; 404 when it does not exist, is deleted
    or belongs to another project (unless the caller is an admin), then the
    policy check of ``rule`` against its project."""
    q = select(Instance).where(Instance.uuid == server_id, Instance.deleted == 0)
    if for_update:
        q = q.with_for_update()
    inst = session.scalar(q)
    if inst is None or (inst.project_id != req.ctx.project_id and not req.ctx.is_admin):
        raise errors.NotFound(f"Instance {server_id} could not be found.")
    if rule:
        req.authorize(rule, {"project_id": inst.project_id, "user_id": inst.user_id})
    return inst


def metadata_of(session, uuid: str) -> dict:
    return metadata_for(session, [uuid])[uuid]


def metadata_for(session, uuids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {u: {} for u in uuids}
    if uuids:
        for row in session.scalars(select(InstanceMetadata)
                                   .where(InstanceMetadata.instance_uuid.in_(uuids))):
            out[row.instance_uuid][row.key] = row.value
    return out


def faults_of(session, uuids: list[str]) -> dict[str, InstanceFault]:
    """The latest fault of each server that has one."""
    out: dict[str, InstanceFault] = {}
    if uuids:
        for f in session.scalars(select(InstanceFault)
                                 .where(InstanceFault.instance_uuid.in_(uuids))
                                 .order_by(InstanceFault.id)):
            out[f.instance_uuid] = f
    return out


def addresses_of(session, uuids: list[str]) -> dict[str, dict]:
    from stratus.network import ports
    return ports.addresses_for(session, uuids)


def render_detail(session, req, rows: list[Instance]) -> list[dict]:
    uuids = [i.uuid for i in rows]
    metadata = metadata_for(session, uuids)
    faults = faults_of(session, uuids)
    addresses = addresses_of(session, uuids)
    links = links_of(req)
    return [views.detail(i, links, metadata=metadata[i.uuid], addresses=addresses.get(i.uuid, {}),
                         fault=faults.get(i.uuid), is_admin=req.ctx.is_admin,
                         version=version_of(req)) for i in rows]
