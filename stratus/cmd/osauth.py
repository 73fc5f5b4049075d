"""A light OpenStack login for ``stratus transfer``: the transfer endpoint and a
token without importing openstacksdk / keystoneauth (~200 ms of start-up).

The settings come from stratus/cmd/os_settings.py (what ``openstack.config``
would read); this module POSTs ``{auth_url}/v3/auth/tokens`` with ``urllib``.
Only the common cases are handled: password (project or system scope),
``token`` and ``v3applicationcredential``.  For anything else :func:`resolve` /
:func:`endpoint` return None and the caller uses ``openstack.config``, so
unusual settings (and the exact wording of their errors) keep working as
before.  HTTP errors are raised with keystoneauth's class names and wording
(``Unauthorized: ... (HTTP 401) (Request-ID: ...)``)."""
from __future__ import annotations

import json
import os

from stratus.cmd.os_settings import Settings, resolve  # noqa: F401  (resolve: public here too)

def request_body(s: Settings) -> dict:
    """The JSON body of POST /v3/auth/tokens for these settings."""
    a = s.auth

    def domain(prefix: str) -> dict:
        if a.get(f"{prefix}_domain_id"):
            return {"id": a[f"{prefix}_domain_id"]}
        return {"name": a[f"{prefix}_domain_name"]} if a.get(f"{prefix}_domain_name") else {}

    def user() -> dict:
        if a.get("user_id"):
            return {"id": a["user_id"]}
        u = {"name": a.get("username")}
        if domain("user"):
            u["domain"] = domain("user")
        return u

    if s.method == "password":
        ident = {"methods": ["password"],
                 "password": {"user": {**user(), "password": a["password"]}}}
    elif s.method == "token":
        ident = {"methods": ["token"], "token": {"id": a["token"]}}
    else:
        cred = {"secret": a["application_credential_secret"]}
        if a.get("application_credential_id"):
            cred["id"] = a["application_credential_id"]
        else:
            cred.update(name=a.get("application_credential_name"), user=user())
        ident = {"methods": ["application_credential"], "application_credential": cred}
    body: dict = {"identity": ident}
    if a.get("project_id"):
        body["scope"] = {"project": {"id": a["project_id"]}}
    elif a.get("project_name"):
        body["scope"] = {"project": {"name": a["project_name"]}}
        if domain("project"):
            body["scope"]["project"]["domain"] = domain("project")
    elif a.get("system_scope"):
        body["scope"] = {"system": {a["system_scope"]: True}}
    return {"auth": body}


def find_endpoint(catalog: list, interface: str, region: str) -> str | None:
    """The first object-transfer URL for ``interface`` (and ``region`` when set)
    in a v3 catalog, as keystoneauth's ``url_for`` picks it."""
    if interface.endswith("URL"):
        interface = interface[:-3]
    for service in catalog or []:
        if service.get("type") != "object-transfer":
            continue
        for ep in service.get("endpoints") or []:
            if ep.get("interface") != interface:
                continue
            if region and region != (ep.get("region_id") or ep.get("region")):
                continue
            return ep.get("url")
    return None


class HttpError(Exception):
    """An Identity error, worded as keystoneauth words it."""
    http_status, message = 0, "HTTP Error"

    def __init__(self, status: int, message: str | None, request_id: str | None):
        self.http_status, self.message = status, message or self.message
        text = f"{self.message} (HTTP {status})"
        super().__init__(text + (f" (Request-ID: {request_id})" if request_id else ""))


# keystoneauth1.exceptions.http class names (stratus transfer prints the name)
_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
          405: "MethodNotAllowed", 409: "Conflict", 413: "RequestEntityTooLarge",
          429: "TooManyRequests", 500: "InternalServerError", 501: "HttpNotImplemented",
          502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


def http_error(status: int, headers, body: bytes) -> HttpError:
    """keystoneauth's ``from_response``: class by status, message from the body."""
    message = None
    if (headers.get("Content-Type") or "").startswith("application/json"):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            message = doc["error"].get("message")
        elif isinstance(doc, dict) and isinstance(doc.get("errors"), list):
            errors = doc["errors"]
            if errors:
                message = ("Multiple error responses, showing first only: "
                           if len(errors) > 1 else "") + str(errors[0].get("title"))
        elif doc is not None:
            message = "Unrecognized schema in response body."
    name = _NAMES.get(status) or ("HttpServerError" if status >= 500 else
                                  "HTTPClientError" if status >= 400 else "HttpError")
    cls = type(name, (HttpError,), {"message": name})
    return cls(status, message, headers.get("x-openstack-request-id"))


class EndpointNotFound(Exception):
    """No object-transfer endpoint in the catalog (keystoneauth's name and words)."""


def _ssl_context(verify):
    import ssl
    if verify is False:
        return ssl._create_unverified_context()
    if isinstance(verify, str):
        path = verify
    else:    # requests: $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE, else certifi's bundle
        path = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if not path:
            try:
                import certifi
                path = certifi.where()
            except ImportError:
                path = None
    if path and os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def login(s: Settings) -> tuple[str, dict] | None:
    """POST {auth_url}/auth/tokens: (token, token body).  Raises :class:`HttpError`
    subclasses like keystoneauth; None when the light path cannot tell (no answer
    from the server, an unversioned URL without /v3), for the caller's fallback."""
    import urllib.error
    import urllib.request
    url = s.auth_url + "/auth/tokens"
    req = urllib.request.Request(url, data=json.dumps(request_body(s)).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json",
                                          "User-Agent": "stratus-transfer"})
    ctx = _ssl_context(s.verify) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=s.timeout, context=ctx) as r:
            token, body = r.headers.get("X-Subject-Token"), r.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and not s.versioned or exc.code < 400:
            return None      # let version discovery find the real v3 base
        raise http_error(exc.code, exc.headers, exc.read()) from None
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(getattr(exc, "reason", exc), TimeoutError):
            raise            # waiting again through the SDK would only double the wait
        return None          # openstack.config tries again and reports it in its words
    if not token:
        return None
    return token, json.loads(body)


def endpoint(cloud: str | None, region_name: str | None, interface: str = "public",
             override: str | None = None, environ=None):
    """``stratus transfer``'s Endpoint(host, port, token), or None when these
    settings need openstack.config.  Raises HttpError, EndpointNotFound and
    TransferError (a catalog URL that is not stratus-udp://) like the SDK path."""
    settings = resolve(cloud, region_name, environ)
    if settings is None:
        return None
    got = login(settings)
    if got is None:
        return None
    token, body = got
    from stratus.transfer.client import Endpoint
    if override:
        return Endpoint.parse(override, token)
    url = find_endpoint((body.get("token") or {}).get("catalog") or [], interface,
                        settings.region_name)
    if url is None:
        where = f" in {settings.region_name} region" if settings.region_name else ""
        raise EndpointNotFound(f"{interface} endpoint for object-transfer service{where} "
                               "not found")
    return Endpoint.parse(url, token)
