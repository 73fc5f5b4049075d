"""The client side of one upload, run INSIDE the client namespace:

    python -m bench.transfer.client '<json job>'

The job: method (http | swiftclient | swiftclient-seg | stratus), auth_url,
username, password, project, container, object, file, size, md5,
clouds_yaml.  It authenticates against Keystone over the emulated link like
any client (the object-store URL comes from the token's catalog), uploads,
checks the stored object (HEAD: length, and ETag = MD5 for single objects)
and prints one JSON object: {"ok": true, "seconds": t, "bytes": n, ...} or
{"ok": false, "skipped": reason} / {"ok": false, "error": ...}.

``tcp_cc`` (optional) is the congestion control of every TCP connection.
``seconds`` times only the upload itself (the object PUT, the segmented
upload, or the whole ``stratus transfer put`` command, which also includes
that process's start and its own authentication: a conservative figure).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import quote, urlsplit

BLOCK = 1 << 20
TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)


def use_congestion_control(name: str) -> None:
    """Make every TCP socket this process connects use ``name`` (set before
    connect, whatever library opens it): the namespaces' default is the
    host's, and a namespace may not change its default to CUBIC."""
    base = socket.socket

    class _Socket(base):
        def connect(self, address):
            if self.type == socket.SOCK_STREAM and self.family in (socket.AF_INET,
                                                                   socket.AF_INET6):
                self.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, name.encode())
            return super().connect(address)

    socket.socket = _Socket


class Skip(Exception):
    pass


def keystone_token(job: dict) -> tuple[str, dict]:
    """Project-scoped password token: (token, token body)."""
    u = urlsplit(job["auth_url"])
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": job["username"], "domain": {"id": "default"}, "password": job["password"]}}},
        "scope": {"project": {"name": job["project"], "domain": {"id": "default"}}}}}
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    c.request("POST", u.path.rstrip("/") + "/auth/tokens", json.dumps(body),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status != 201:
        raise RuntimeError(f"keystone answered {r.status}: {data[:200]!r}")
    return r.getheader("X-Subject-Token"), json.loads(data)["token"]


def endpoint(token: dict, service_type: str) -> str:
    for svc in token.get("catalog", []):
        if svc["type"] == service_type:
            for ep in svc["endpoints"]:
                if ep["interface"] == "public":
                    return ep["url"]
    raise Skip(f"not available (no {service_type!r} in the catalog)")


def _request(url: str, method: str, token: str, body=None, headers=None, blocksize=BLOCK):
    u = urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=600, blocksize=blocksize)
    c.request(method, u.path, body=body, headers={"X-Auth-Token": token, **(headers or {})})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def storage(job: dict) -> tuple[str, str]:
    token, body = keystone_token(job)
    return token, endpoint(body, "object-store")


def ensure_container(url: str, token: str, container: str) -> None:
    r, data = _request(f"{url}/{quote(container)}", "PUT", token)
    if r.status not in (201, 202):
        raise RuntimeError(f"container PUT answered {r.status}: {data[:200]!r}")


def verify(url: str, token: str, job: dict, single: bool) -> None:
    r, _ = _request(f"{url}/{quote(job['container'])}/{quote(job['object'])}", "HEAD", token)
    if r.status != 200:
        raise RuntimeError(f"HEAD of the uploaded object answered {r.status}")
    length = int(r.getheader("Content-Length", "-1"))
    if length != job["size"]:
        raise RuntimeError(f"stored object has {length} bytes, uploaded {job['size']}")
    etag = (r.getheader("ETag") or "").strip('"')
    if single and etag != job["md5"]:
        raise RuntimeError(f"stored ETag {etag} != MD5 {job['md5']}")


def run_http(job: dict) -> dict:
    token, url = storage(job)
    ensure_container(url, token, job["container"])
    with open(job["file"], "rb") as f:
        t0 = time.monotonic()
        r, data = _request(f"{url}/{quote(job['container'])}/{quote(job['object'])}", "PUT",
                           token, body=f, headers={"Content-Length": str(job["size"]),
                                                   "Content-Type": "application/octet-stream"})
        seconds = time.monotonic() - t0
    if r.status != 201:
        raise RuntimeError(f"object PUT answered {r.status}: {data[:200]!r}")
    verify(url, token, job, single=True)
    return {"seconds": seconds}


def _swift_options(job: dict) -> dict:
    return {"auth_version": "3", "os_options": {
        "project_name": job["project"], "user_domain_id": "default",
        "project_domain_id": "default"}}


def run_swiftclient(job: dict) -> dict:
    from swiftclient.client import Connection
    token, url = storage(job)                 # fails early (Skip) without object-store
    conn = Connection(authurl=job["auth_url"], user=job["username"], key=job["password"],
                      retries=0, timeout=600, **_swift_options(job))
    conn.put_container(job["container"])
    with open(job["file"], "rb") as f:
        t0 = time.monotonic()
        etag = conn.put_object(job["container"], job["object"], contents=f,
                               content_length=job["size"], chunk_size=BLOCK)
        seconds = time.monotonic() - t0
    if etag != job["md5"]:
        raise RuntimeError(f"put_object returned ETag {etag}, expected {job['md5']}")
    verify(url, token, job, single=True)
    return {"seconds": seconds}


def run_swiftclient_seg(job: dict) -> dict:
    from swiftclient.service import SwiftService, SwiftUploadObject
    token, url = storage(job)
    threads = job.get("segment_threads", 8)
    seg = max(BLOCK, -(-job["size"] // threads))
    opts = {"auth": job["auth_url"], "user": job["username"], "key": job["password"],
            "auth_version": "3", "os_project_name": job["project"],
            "os_user_domain_id": "default", "os_project_domain_id": "default",
            "segment_size": seg, "segment_threads": threads, "object_uu_threads": 1,
            "retries": 0, "use_slo": False}
    with SwiftService(options=opts) as svc:
        t0 = time.monotonic()
        results = list(svc.upload(job["container"],
                                  [SwiftUploadObject(job["file"], object_name=job["object"])]))
        seconds = time.monotonic() - t0
    bad = [r for r in results if not r.get("success")]
    if bad:
        raise RuntimeError(f"segmented upload failed: {bad[0].get('error')!r}")
    verify(url, token, job, single=False)
    return {"seconds": seconds, "segments": -(-job["size"] // seg), "threads": threads}


def run_stratus(job: dict) -> dict:
    exe = job.get("stratus") or shutil.which("stratus")
    cp = subprocess.run([exe, "transfer", "--help"], capture_output=True, text=True)
    if cp.returncode != 0:
        raise Skip("not available (no `stratus transfer` command)")
    token, url = storage(job)
    ensure_container(url, token, job["container"])
    transfer_url = endpoint(keystone_token(job)[1], "object-transfer")
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": job["clouds_yaml"], "OS_CLOUD": "stratus"}
    # As the TCP methods, start with the token and the endpoint in hand (they
    # log in before their clock starts); the clock covers starting the CLI.
    login = ["--endpoint", transfer_url, "--os-token", token] if job.get("token_in_hand", True) \
        else []
    t0 = time.monotonic()
    cp = subprocess.run([exe, "transfer", "put", job["file"],
                         f"{job['container']}/{job['object']}", *login],
                        capture_output=True, text=True, env=env, timeout=job.get("timeout", 900))
    seconds = time.monotonic() - t0
    if cp.returncode != 0:
        raise RuntimeError(f"stratus transfer put exited {cp.returncode}: "
                           f"{(cp.stderr or cp.stdout).strip()[-400:]}")
    verify(url, token, job, single=True)
    out = {"seconds": seconds, "output": cp.stdout.strip()[-300:]}
    # the protocol's own figure (the client's last line): handshake to commit,
    # without this process's start and its Keystone authentication
    m = re.search(r"([\d.]+) Mbit/s goodput", cp.stdout)
    if m:
        out["protocol_goodput_mbps"] = float(m.group(1))
    return out


METHODS = {"http": run_http, "swiftclient": run_swiftclient,
           "swiftclient-seg": run_swiftclient_seg, "stratus": run_stratus}


def main() -> int:
    job = json.loads(sys.argv[1])
    if job.get("tcp_cc"):
        use_congestion_control(job["tcp_cc"])
    try:
        out = {"ok": True, "bytes": job["size"], **METHODS[job["method"]](job)}
    except Skip as exc:
        out = {"ok": False, "skipped": str(exc)}
    except Exception as exc:  # reported in the bench's table, not a crash
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    print(json.dumps(out), flush=True)
    return 0


def md5_of(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(BLOCK), b""):
            h.update(chunk)
    return h.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
