"""The metadata service's listener: HTTP/1.0 on a unix socket
(``[metadata] socket_path``, default ``<state_path>/metadata.sock``, mode
0600), served by threads of the API process.  Only the host proxies
(stratus/metadata/proxy.py, root on this machine) can connect; the public API
port never serves metadata.  GET and HEAD only."""
from __future__ import annotations

import logging
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from stratus.metadata import service

LOG = logging.getLogger(__name__)


def socket_path(conf) -> str:
    return conf.metadata.socket_path or os.path.join(conf.state_path, "metadata.sock")


class _Handler(BaseHTTPRequestHandler):
    server_version = "stratus-metadata"

    def do_GET(self):  # noqa: N802 - http.server naming
        status, ctype, body = service.answer(
            self.server.db, {k.lower(): v for k, v in self.headers.items()},
            urlsplit(self.path).path, secret=self.server.secret)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def address_string(self):
        return "proxy"

    def log_message(self, fmt, *args):
        LOG.debug("metadata: " + fmt, *args)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class MetadataServer:
    """``start()``/``stop()`` like the other background roles."""

    def __init__(self, conf, db, path: str | None = None):
        self.path = path or socket_path(conf)
        self.db, self.secret = db, conf.metadata.metadata_proxy_shared_secret
        self._server: _Server | None = None

    def start(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)                 # a stale socket of a previous run
        old = os.umask(0o177)                    # the socket is born 0600
        try:
            self._server = _Server(self.path, _Handler)
        finally:
            os.umask(old)
        self._server.db, self._server.secret = self.db, self.secret
        threading.Thread(target=self._server.serve_forever, name="metadata",
                         daemon=True).start()
        LOG.info("metadata service on unix socket %s", self.path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
