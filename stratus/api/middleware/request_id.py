"""Gives every request an id and a fresh RequestContext, and returns the id in
``x-openstack-request-id`` (plus ``x-compute-request-id`` under /compute, as Nova
does).  An incoming ``x-openstack-request-id`` of the form ``req-<uuid>`` is kept
so a caller can follow one request across services."""
from __future__ import annotations

import re
import uuid

from stratus.api.context import RequestContext

_VALID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class RequestIdMiddleware:
    def __init__(self, app, runtime):
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = None
        for k, v in scope["headers"]:
            if k == b"x-openstack-request-id":
                incoming = v.decode("latin-1")
        rid = incoming if incoming and _VALID.match(incoming) else f"req-{uuid.uuid4()}"
        scope["stratus.runtime"] = self.runtime
        scope["stratus.context"] = RequestContext(request_id=rid)
        extra = [(b"x-openstack-request-id", rid.encode())]
        if scope["path"].startswith("/compute"):
            extra.append((b"x-compute-request-id", rid.encode()))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_id)
