"""POST /v2.1/servers/{id}/remote-consoles (microversion 2.6; ``mks``/``webmks``
from 2.8), as nova.  This cloud serves no interactive console (only the
serial log, GET through os-getConsoleOutput), so every valid request is
answered as nova answers when the console type is not enabled: 400
"Unavailable console type <type>." (409 while the server has no host yet).
Below 2.6 the resource does not exist (404)."""
from __future__ import annotations

import copy

from stratus.api.compute import microversion
from stratus.api.compute import res_common as c
from stratus.api.compute.server_common import get_instance
from stratus.api.routing import RouteTable
from stratus.common import errors

routes = RouteTable()
RULE = "os_compute_api:os-remote-consoles"

# nova's schemas/remote_consoles.py create_v26 / create_v28.
CREATE_V26 = {
    "type": "object",
    "properties": {"remote_console": {
        "type": "object",
        "properties": {
            "protocol": {"type": "string", "enum": ["vnc", "spice", "rdp", "serial"]},
            "type": {"type": "string", "enum": ["novnc", "xvpvnc", "rdp-html5",
                                                "spice-html5", "serial"]},
        },
        "required": ["protocol", "type"], "additionalProperties": False}},
    "required": ["remote_console"], "additionalProperties": False}
CREATE_V28 = copy.deepcopy(CREATE_V26)
CREATE_V28["properties"]["remote_console"]["properties"]["protocol"]["enum"].append("mks")
CREATE_V28["properties"]["remote_console"]["properties"]["type"]["enum"].append("webmks")


@routes.post("/v2.1/servers/{server_id}/remote-consoles")
def create_remote_console(req):
    if not microversion.at_least(req, 2, 6):
        raise errors.NotFound("The resource could not be found.")
    schema = CREATE_V28 if microversion.at_least(req, 2, 8) else CREATE_V26
    body = c.validate(req.json(), schema)["remote_console"]
    server_id = req.path_params["server_id"]
    with req.db.session() as s:
        inst = get_instance(s, req, server_id, RULE)
        if not inst.host:
            raise errors.Conflict(f"Instance {inst.uuid} is not ready")
    # No vnc/spice/rdp/serial/mks proxy runs here: nova's ConsoleTypeUnavailable.
    raise errors.BadRequest(f"Unavailable console type {body['type']}.")
