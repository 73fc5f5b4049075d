"""/v2/info/import and /v2/info/stores: what this Image service supports.

Only direct upload (``PUT /v2/images/{id}/file``) is implemented; the interoperable
import workflow (stage + import) is not, so no import method is advertised."""
from __future__ import annotations

from stratus.api.routing import RouteTable

routes = RouteTable()


@routes.get("/v2/info/import")
def import_info(req):
    return {"import-methods": {"description": "Import methods available.",
                               "type": "array", "value": []}}


@routes.get("/v2/info/stores")
def stores(req):
    return {"stores": [{"id": "chunks", "default": True,
                        "description": "Content-addressed chunk store on local disk"}]}
