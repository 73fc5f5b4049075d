"""One log line per request: method, path, status, duration, request id, user.

The host agents poll ``GET /agent/v1/hosts/{host}/state`` every second or so;
their successful GETs under ``/agent/`` are logged at DEBUG only (seen with
``[DEFAULT] debug = true``), so they do not bury the requests that matter.
Everything else, agent writes and failed polls included, is logged at INFO."""
from __future__ import annotations

import logging
import time

LOG = logging.getLogger("stratus.access")


def is_routine_poll(scope, status: int) -> bool:
    """A host agent's successful read (its state poll): GET under /agent/, 200."""
    return scope["method"] == "GET" and status == 200 and \
        (scope["path"] == "/agent" or scope["path"].startswith("/agent/"))


class AccessLogMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = [0]

        async def capture(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            ctx = scope.get("stratus.context")
            qs = scope.get("query_string", b"").decode("latin-1")
            level = logging.DEBUG if is_routine_poll(scope, status[0]) else logging.INFO
            LOG.log(level, "%s %s %s%s %s %.1fms user=%s",
                    ctx.request_id if ctx else "-", scope["method"], scope["path"],
                    f"?{qs}" if qs else "", status[0], (time.perf_counter() - start) * 1000,
                    ctx.user_id if ctx and ctx.user_id else "-")
