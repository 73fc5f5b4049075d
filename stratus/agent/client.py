"""The host agent's HTTP client of the control plane: Keystone password
authentication (token re-issued on 401), the agent API and Glance image data.
Hosts talk to the control plane only through this."""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterator

import httpx

LOG = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Client:
    def __init__(self, endpoint: str, auth: dict[str, str], timeout: float = 30.0):
        """``endpoint`` is the cloud's base URL (http://host:port); ``auth`` holds
        auth_url, username, password, project_name, user_domain_name,
        project_domain_name."""
        self.endpoint = endpoint.rstrip("/")
        self.auth = auth
        self.http = httpx.Client(timeout=timeout, trust_env=False)
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    # -- authentication ----------------------------------------------------------
    def _authenticate(self) -> str:
        a = self.auth
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": a["username"], "password": a["password"],
            "domain": {"name": a.get("user_domain_name") or "Default"}}}},
            "scope": {"project": {"name": a.get("project_name") or "admin",
                                  "domain": {"name": a.get("project_domain_name")
                                             or "Default"}}}}}
        url = (a.get("auth_url") or f"{self.endpoint}/identity/v3").rstrip("/")
        r = self.http.post(f"{url}/auth/tokens", json=body)
        if r.status_code != 201:
            raise ApiError(r.status_code, f"authentication as {a['username']} failed: "
                                          f"{r.text[:200]}")
        return r.headers["X-Subject-Token"]

    def token(self, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None:
                self._token = self._authenticate()
            return self._token

    def request(self, method: str, path: str, *, ok=(200, 201, 202, 204), **kwargs
                ) -> httpx.Response:
        for attempt in (0, 1):
            headers = {**kwargs.pop("headers", {}), "X-Auth-Token": self.token(fresh=attempt > 0)}
            r = self.http.request(method, f"{self.endpoint}{path}", headers=headers, **kwargs)
            if r.status_code != 401:
                break
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "X-Auth-Token"}
        if r.status_code not in ok:
            raise ApiError(r.status_code, r.text[:300])
        return r

    def _json(self, method: str, path: str, body: Any = None, **kw) -> Any:
        r = self.request(method, path, json=body, **kw) if body is not None \
            else self.request(method, path, **kw)
        return r.json() if r.content else None

    # -- agent API ------------------------------------------------------------------
    def register(self, host: str, host_info: dict, config: dict, host_ip: str | None = None,
                 stats: dict | None = None, tunnel_ip: str | None = None) -> dict:
        return self._json("PUT", f"/agent/v1/hosts/{host}",
                          {"host_info": host_info, "config": config, "host_ip": host_ip,
                           "stats": stats or {}, "tunnel_ip": tunnel_ip or None})

    def state(self, host: str, since: int | None = None) -> dict:
        params = {} if since is None else {"since": since}
        return self._json("GET", f"/agent/v1/hosts/{host}/state", params=params)

    def status(self, uuid: str, body: dict) -> dict | None:
        """Reports; returns None when the API refused it because the instance's
        task changed meanwhile (409) or it is gone (404)."""
        try:
            return self._json("POST", f"/agent/v1/instances/{uuid}/status", body)
        except ApiError as exc:
            if exc.status in (404, 409):
                LOG.info("status of %s not recorded: %s", uuid, exc)
                return None
            raise

    def deleted(self, uuid: str) -> None:
        try:
            self.request("POST", f"/agent/v1/instances/{uuid}/deleted")
        except ApiError as exc:
            if exc.status != 404:   # already gone: done
                raise

    def lookup(self, uuids: list[str]) -> dict[str, dict]:
        """uuid -> {"state": "live"|"deleted"|"unknown", "host"} for VMs this
        host runs that its state does not list."""
        return self._json("POST", "/agent/v1/instances/lookup", {"uuids": uuids})["instances"]

    def build_failed(self, uuid: str, reason: str) -> None:
        self._json("POST", f"/agent/v1/instances/{uuid}/build-failed", {"reason": reason})

    # -- image data -------------------------------------------------------------------
    def download_image(self, image_id: str) -> Iterator[bytes]:
        """Streams ``GET /image/v2/images/{id}/file``."""
        for attempt in (0, 1):
            headers = {"X-Auth-Token": self.token(fresh=attempt > 0)}
            with self.http.stream("GET", f"{self.endpoint}/image/v2/images/{image_id}/file",
                                  headers=headers) as r:
                if r.status_code == 401 and attempt == 0:
                    continue
                if r.status_code != 200:
                    r.read()
                    raise ApiError(r.status_code, r.text[:300])
                yield from r.iter_bytes(1 << 20)
                return

    def upload_image(self, image_id: str, path: str) -> None:
        """Streams a file to ``PUT /image/v2/images/{id}/file``."""
        def chunks():
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    yield block
        for attempt in (0, 1):
            headers = {"X-Auth-Token": self.token(fresh=attempt > 0),
                       "Content-Type": "application/octet-stream"}
            r = self.http.put(f"{self.endpoint}/image/v2/images/{image_id}/file",
                              headers=headers, content=chunks(), timeout=600.0)
            if r.status_code == 401 and attempt == 0:
                continue
            if r.status_code not in (200, 201, 204):
                raise ApiError(r.status_code, r.text[:300])
            return
