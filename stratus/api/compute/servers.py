"""/v2.1/servers: create, list, list detail, show, update, delete."""
from __future__ import annotations

import dataclasses
import logging

from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

from stratus.api import pagination
from stratus.api.compute import server_create, server_list
from stratus.api.compute import server_schema as schema
from stratus.api.compute import server_views as views
from stratus.api.compute.microversion import at_least, version_of
from stratus.api.compute.server_common import (addresses_of, faults_of, get_instance,
                                               links_of, metadata_of, render_detail)
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.compute import actions
from stratus.compute import servers as domain
from stratus.db.models.compute import Instance

LOG = logging.getLogger(__name__)
routes = RouteTable()


def schedule(runtime, uuids: list[str]) -> None:
    """Hand new instances to the scheduler (after the commit).  A failure is
    logged: the scheduling sweep retries instances left in ``scheduling``."""
    try:
        from stratus.scheduler import service
        service.schedule(runtime.db, runtime.conf, uuids)
    except Exception:  # noqa: BLE001 - the sweep retries; never lose the API answer
        LOG.exception("scheduling %s failed; the sweep will retry", uuids)


@routes.post("/v2.1/servers")
def create_server(req):
    req.authorize("os_compute_api:servers:create", {"project_id": req.ctx.project_id})
    body = req.json()
    with req.db.session() as s:
        instances, reservation_id, admin_pass = server_create.create(s, req.conf, req.ctx, body)
        first = instances[0]
        links = links_of(req)
        return_rid = schema.bool_value((body.get("server") or {}).get(
            "return_reservation_id", False), "return_reservation_id")
        if return_rid:
            answer = {"reservation_id": reservation_id}
        else:
            answer = {"server": views.create_response(first, links, admin_pass)}
        uuids = [i.uuid for i in instances]
        location = links.server(first.uuid)[0]["href"]
    # The session committed on leaving the block: now schedule.
    return JSONResponse(answer, status_code=202, headers={"Location": location},
                        background=BackgroundTask(schedule, req.runtime, uuids))


def _listing(req, detail: bool):
    rule = "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index"
    req.authorize(rule, {"project_id": req.ctx.project_id})
    if server_list.all_tenants(req.query):
        req.authorize(rule + ":get_all_tenants", {"project_id": req.ctx.project_id})
    page = pagination.parse(req.query, req.conf.DEFAULT.osapi_max_limit,
                            [("created_at", "desc"), ("id", "desc")],
                            server_list.SORT_KEYS)
    regex = server_list.name_regex(req.query.get("name"))
    ip = server_list.name_regex(req.query.get("ip"), "ip")
    # ip6: an admin filter; from 2.5 everyone's (nova's "move the ipv6 filter").
    ip6 = server_list.name_regex(req.query.get("ip6"), "ip6") \
        if req.ctx.is_admin or at_least(req, 2, 5) else None
    with req.db.session() as s:
        q = server_list.build_query(req.ctx, req.query)
        links = links_of(req)
        if regex is None and ip is None and ip6 is None:
            rows = list(s.scalars(pagination.apply(s, q, Instance, page, "uuid")))
        else:
            unlimited = dataclasses.replace(page, limit=None)
            rows = [i for i in s.scalars(pagination.apply(s, q, Instance, unlimited, "uuid"))
                    if regex is None or regex.search(i.display_name)]
            if ip is not None or ip6 is not None:
                addrs = addresses_of(s, [i.uuid for i in rows])
                rows = [i for i in rows if any(server_list.ip_matches(a, ip, ip6)
                                               for lst in addrs[i.uuid].values() for a in lst)]
            rows = rows[:page.limit]
        if detail:
            items = render_detail(s, req, rows)
        else:
            items = [views.minimal(i, links) for i in rows]
    body = {"servers": items}
    nxt = pagination.next_link(req.url_for("/v2.1/servers" + ("/detail" if detail else "")),
                               req.query, items, page)
    if nxt:
        body["servers_links"] = [{"rel": "next", "href": nxt}]
    return body


@routes.get("/v2.1/servers")
def list_servers(req):
    return _listing(req, detail=False)


@routes.get("/v2.1/servers/detail")
def list_servers_detail(req):
    return _listing(req, detail=True)


@routes.get("/v2.1/servers/{server_id}")
def show_server(req):
    with req.db.session() as s:
        inst = get_instance(s, req, req.path_params["server_id"], "os_compute_api:servers:show")
        return {"server": render_detail(s, req, [inst])[0]}


@routes.put("/v2.1/servers/{server_id}")
def update_server(req):
    server = schema.validate(schema.body_of(req.json(), "server"), schema.SERVER_UPDATE,
                             "server")
    with req.db.session() as s:
        inst = get_instance(s, req, req.path_params["server_id"], "os_compute_api:servers:update")
        if "name" in server:
            inst.display_name = server["name"]
        if "accessIPv4" in server:
            inst.access_ip_v4 = schema.access_ip(server["accessIPv4"])
        if "accessIPv6" in server:
            inst.access_ip_v6 = schema.access_ip(server["accessIPv6"])
        if "OS-DCF:diskConfig" in server:
            inst.request_spec = {**(inst.request_spec or {}),
                                 "disk_config": server["OS-DCF:diskConfig"]}
        inst.updated_at = domain.now()
        s.flush()
        return {"server": views.basic(inst, links_of(req), metadata=metadata_of(s, inst.uuid),
                                      addresses=addresses_of(s, [inst.uuid])[inst.uuid],
                                      fault=faults_of(s, [inst.uuid]).get(inst.uuid),
                                      is_admin=req.ctx.is_admin, version=version_of(req))}


@routes.delete("/v2.1/servers/{server_id}")
def delete_server(req):
    with req.db.session() as s:
        inst = get_instance(s, req, req.path_params["server_id"], "os_compute_api:servers:delete")
        domain.check_unlocked(inst, req.ctx)
        actions.record(s, req.ctx, inst.uuid, "delete")
        if domain.request_delete(s, inst):
            actions.finish(s, inst.uuid, req.ctx.request_id)
    return 204, None


@routes.get("/v2.1/servers/{server_id}/ips")
def list_ips(req):
    """Nova's ``ips`` index: the server's addresses per network, without the
    OS-EXT-IPS extension keys."""
    with req.db.session() as s:
        inst = get_instance(s, req, req.path_params["server_id"], "os_compute_api:ips:index")
        return {"addresses": views.plain_addresses(addresses_of(s, [inst.uuid])[inst.uuid])}


@routes.get("/v2.1/servers/{server_id}/ips/{network_label}")
def show_ips(req):
    """The server's addresses on one network (by label): ``{label: [...]}``."""
    label = req.path_params["network_label"]
    with req.db.session() as s:
        inst = get_instance(s, req, req.path_params["server_id"], "os_compute_api:ips:show")
        addresses = views.plain_addresses(addresses_of(s, [inst.uuid])[inst.uuid])
    if label not in addresses:
        raise errors.NotFound("Instance is not a member of specified network")
    return {label: addresses[label]}


@routes.get("/v2.1/servers/{server_id}/os-server-password")
def show_password(req):
    """The encrypted password a guest posted to the metadata service; there
    is no metadata service yet, so no guest ever set one: empty, as Nova
    answers for a server without one."""
    with req.db.session() as s:
        get_instance(s, req, req.path_params["server_id"],
                     "os_compute_api:os-server-password:show")
    return {"password": ""}


@routes.delete("/v2.1/servers/{server_id}/os-server-password")
def clear_password(req):
    with req.db.session() as s:
        get_instance(s, req, req.path_params["server_id"],
                     "os_compute_api:os-server-password:clear")
    return 204, None
