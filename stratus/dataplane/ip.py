"""Running ``ip`` (iproute2) and reading the kernel's answer as JSON.

Every data-plane module reads the kernel through here before it changes
anything, so each ``ensure`` applies only the difference."""
from __future__ import annotations

import json
import subprocess


class CommandError(RuntimeError):
    pass


def run(argv: list[str], check: bool = True) -> str:
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and cp.returncode != 0:
        raise CommandError(f"{' '.join(argv)}: exit {cp.returncode}: {cp.stderr.strip()}")
    return cp.stdout


def ip(ns: str | None, *args: str, check: bool = True) -> str:
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def ip_json(ns: str | None, *args: str) -> list[dict]:
    out = run(["ip", "-j", *(["-n", ns] if ns else []), *args])
    return json.loads(out) if out.strip() else []


def links(ns: str) -> dict[str, dict]:
    """name -> {"index", "kind", "master", "up", "mtu", "address"} of every link in ``ns``."""
    out = {}
    for link in ip_json(ns, "-d", "link", "show"):
        kind = (link.get("linkinfo") or {}).get("info_kind", "")
        out[link["ifname"]] = {"index": link.get("ifindex"), "kind": kind, "master": link.get("master"),
                               "up": "UP" in link.get("flags", []), "mtu": link.get("mtu"),
                               "address": link.get("address")}
    return out


def addresses(ns: str, dev: str) -> set[str]:
    """``a.b.c.d/len`` IPv4 addresses of ``dev``."""
    found = set()
    for link in ip_json(ns, "addr", "show", "dev", dev):
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                found.add(f"{a['local']}/{a['prefixlen']}")
    return found
