"""What every Swift handler shares: the request wrapper (authentication,
authorization against keystoneauth rules), response headers and errors in
Swift's form (plain text bodies, ``X-Trans-Id``, ``Content-Type`` always)."""
from __future__ import annotations

import datetime as dt
import email.utils
import math
import uuid
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from stratus.common import errors as common_errors
from stratus.objectstore import acl, errors, ingest, store

SERVICE = "object-store"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=UTF-8"


def x_timestamp(ts: float) -> str:
    return f"{ts:016.5f}"


def http_date(ts: float) -> str:
    return email.utils.formatdate(math.ceil(ts), usegmt=True)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


class SwiftRequest:
    """One request: path parts (unquoted), caller, timestamp of arrival."""

    def __init__(self, request: Request):
        self.raw = request
        self.runtime = request.scope["stratus.runtime"]
        self.ctx = request.scope["stratus.context"]
        self.method = request.method
        self.headers = request.headers
        self.query = request.query_params
        self.account = request.path_params.get("account")
        self.container = request.path_params.get("container")
        self.obj = request.path_params.get("obj")
        self.timestamp = store.now()
        self.trans_id = f"tx{uuid.uuid4().hex[:21]}-{int(self.timestamp):010x}"
        self.caller = acl.Caller()
        self.owner = False

    @property
    def db(self):
        return self.runtime.db

    @property
    def conf(self):
        return self.runtime.conf

    @property
    def oconf(self):
        return self.runtime.conf.object_store

    @property
    def backend(self):
        return ingest.backend_for(self.runtime.conf)

    def authenticate(self) -> None:
        """Fill the caller from X-Auth-Token; without one the caller is anonymous."""
        if self.headers.get("x-auth-token"):
            path = self.raw.url.path[len(SERVICE) + 1:] or "/"
            self.runtime.authenticate(self.ctx, self.headers, SERVICE, self.method, path)
            self.caller = acl.Caller.of(self.ctx)

    def authorize(self, method: str | None = None, container=None, obj=None,
                  acls: tuple[str, str] = ("", "")) -> acl.Decision:
        d = acl.decide(self.caller, store.project_of(self.account), method or self.method,
                       container, obj, acls[0], acls[1], self.oconf.operator_roles,
                       self.oconf.reseller_admin_roles)
        if not d.allowed:
            raise acl.deny(self.caller)
        self.owner = d.owner
        return d

    def authorize_container(self, s, method: str | None = None, container: str | None = None,
                            obj: str | None = None, need: bool = True):
        """Authorize an action on a container (or its objects); the row.
        NotFound after authorization when it is missing and ``need``."""
        name = container or self.container
        row = store.get_container(s, self.account, name)
        acls = (row.read_acl, row.write_acl) if row is not None else ("", "")
        self.authorize(method, name, obj, acls)
        if row is None and need:
            raise errors.NotFound("The resource could not be found.")
        return row


def base_headers(req: SwiftRequest, extra: dict | None = None) -> dict:
    h = {"X-Trans-Id": req.trans_id}  # x-openstack-request-id: the middleware's
    if extra:
        h.update(extra)
    return h


def reply(req: SwiftRequest, status: int, body: bytes | str = b"", headers: dict | None = None,
          content_type: str = HTML) -> Response:
    h = base_headers(req, headers)
    h.setdefault("Content-Type", content_type)
    if isinstance(body, str):
        body = body.encode()
    return Response(body, status_code=status, headers=h)


_HTML = {401: ("Unauthorized", "This server could not verify that you are authorized to "
                               "access the document you requested."),
         403: ("Forbidden", "Access was denied to this resource."),
         404: ("Not Found", "The resource could not be found.")}


def error_response(req: SwiftRequest | None, exc: common_errors.APIError) -> Response:
    """Swift's bodies: an HTML page for 401/403/404, else the message as text."""
    if exc.status in _HTML:
        body = "<html><h1>%s</h1><p>%s</p></html>" % _HTML[exc.status]
    else:
        body = exc.message
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Keystone uri="/identity"')
    if req is None:
        return Response(body, status_code=exc.status, headers=headers, media_type=HTML)
    return reply(req, exc.status, body if req.method != "HEAD" else b"", headers, HTML)


async def blocking(fn, *args, **kwargs):
    return await run_in_threadpool(fn, *args, **kwargs)


def unquote_path(value: str) -> str:
    return unquote(value)
