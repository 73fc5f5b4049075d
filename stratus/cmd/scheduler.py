"""``stratus scheduler explain``: why a server would land where it would.

Calls the admin-only ``os-scheduler-explain`` extension of the Compute API,
authenticating as the ``openstack`` CLI does (``--os-cloud`` / ``OS_CLOUD``
and clouds.yaml, or ``OS_*`` variables, through openstacksdk), and prints
the cell stage, each filter's hosts in / out with the removed hosts and
why, and the weights best first (``--json``: the raw document)::

    stratus scheduler explain --flavor m1.small [--image cirros]
        [--availability-zone az1] [--hint group=UUID --hint query='[">=","$free_ram_mb",1024]']
    stratus scheduler explain --server SERVER
"""
from __future__ import annotations

import json
import sys
from typing import Any

SHOWN_REMOVED = 8      # removed host names printed per filter (the rest are counted)


def register(sub) -> None:
    p = sub.add_parser("scheduler", help="scheduler tools (admin)")
    ssub = p.add_subparsers(dest="scheduler_command", required=True)
    e = ssub.add_parser("explain", help="explain where a server would be placed, and why")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--flavor", help="flavor name or ID of the would-be server")
    what.add_argument("--server", help="re-run the request of this existing server (name or ID)")
    e.add_argument("--image", help="image name or ID (checked against the flavor)")
    e.add_argument("--availability-zone", dest="availability_zone",
                   help="availability zone (admins may give zone:host)")
    e.add_argument("--hint", action="append", default=[], metavar="KEY=VALUE",
                   help="scheduler hint; repeat a key to give a list")
    e.add_argument("--project", help="explain for this project ID (default: your token's)")
    e.add_argument("--json", action="store_true", help="print the raw explanation document")
    e.add_argument("--os-cloud", dest="os_cloud", default=None,
                   help="cloud of clouds.yaml (default $OS_CLOUD, else the OS_* variables)")
    e.set_defaults(func=explain)


def parse_hints(items: list[str]) -> dict[str, Any]:
    """``["k=v", "k=w", "x=y"]`` -> ``{"k": ["v", "w"], "x": "y"}``."""
    hints: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--hint {item!r}: expected KEY=VALUE")
        key = key.strip()
        if key in hints:
            old = hints[key]
            hints[key] = (old if isinstance(old, list) else [old]) + [value]
        else:
            hints[key] = value
    return hints


def explain(args) -> int:
    try:
        hints = parse_hints(args.hint)
        conn = _connect(args.os_cloud)
        if args.server:
            server = conn.compute.find_server(args.server, ignore_missing=False,
                                              all_projects=True)
            r = conn.compute.get(f"/servers/{server.id}/os-scheduler-explain",
                                 raise_exc=False)
        else:
            server_body: dict[str, Any] = {
                "flavorRef": conn.compute.find_flavor(args.flavor, ignore_missing=False).id}
            if args.image:
                server_body["imageRef"] = conn.image.find_image(args.image,
                                                                ignore_missing=False).id
            if args.availability_zone:
                server_body["availability_zone"] = args.availability_zone
            body: dict[str, Any] = {"server": server_body, "os:scheduler_hints": hints}
            if args.project:
                body["project_id"] = args.project
            r = conn.compute.post("/os-scheduler-explain", json=body, raise_exc=False)
    except Exception as exc:  # noqa: BLE001 - auth, lookups, network: one clear line
        print(f"stratus scheduler explain: {exc}", file=sys.stderr)
        return 1
    if r.status_code != 200:
        print(f"stratus scheduler explain: HTTP {r.status_code}: {_message(r)}",
              file=sys.stderr)
        return 1
    doc = r.json()["explanation"]
    print(json.dumps(doc, indent=2, sort_keys=True) if args.json else render(doc))
    return 0


def _connect(cloud: str | None):
    try:
        import openstack
    except ImportError:
        raise RuntimeError("openstacksdk is not installed (pip install openstacksdk)") from None
    return openstack.connect(cloud=cloud) if cloud else openstack.connect()


def _message(r) -> str:
    try:
        body = r.json()
        (_, err), = body.items()
        return err.get("message") or r.text[:300]
    except Exception:  # noqa: BLE001 - not an OpenStack error body
        return r.text[:300]


# -- rendering (pure) --------------------------------------------------------------
def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain ASCII table like the openstack CLI's."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r]
                                           for r in rows]
    widths = [max(len(line) for row in cells for line in row[i].splitlines() or [""])
              for i in range(len(headers))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row):
        parts = [row[i].splitlines() or [""] for i in range(len(row))]
        height = max(len(p) for p in parts)
        return "\n".join("| " + " | ".join((p[k] if k < len(p) else "").ljust(widths[i])
                                           for i, p in enumerate(parts)) + " |"
                         for k in range(height))
    out = [rule, line(cells[0]), rule] + [line(r) for r in cells[1:]] + [rule]
    return "\n".join(out)


def _removed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_REMOVED])
    more = len(names) - SHOWN_REMOVED
    return shown + (f" (+{more} more)" if more > 0 else "")


def _filters(filters: list[dict]) -> str:
    return table(["filter", "in", "out", "removed hosts (reason)"],
                 [[f["name"], f["hosts_in"], len(f["survivors"]),
                   f"{_removed(f['removed'])}\n({f['reason']})" if f["removed"] else ""]
                  for f in filters])


def render(doc: dict) -> str:
    """The explanation document as text: summary, cells, filters, weights."""
    req = doc.get("request") or {}
    flavor = req.get("flavor") or {}
    out = [f"Driver: {doc.get('driver')}    hosts considered: {doc.get('hosts_considered')}",
           f"Request: flavor {flavor.get('name') or flavor.get('id')} "
           f"({req.get('vcpus')} vCPU, {req.get('memory_mb')} MB RAM, {req.get('disk_gb')} GB "
           f"disk), zone {req.get('availability_zone') or '-'}, "
           f"hints {json.dumps(req.get('scheduler_hints') or {}, sort_keys=True)}"]
    if doc.get("cells"):
        out += ["", "Cells (in the order tried):", table(
            ["rank", "cell", "hosts", "fitting", "free RAM MB", "outcome"],
            [[c["rank"], c["name"], c["hosts"], c["fitting_hosts"], c["free_ram_mb"],
              c["outcome"] + (f": {c['reason']}" if c.get("reason") else "")]
             for c in doc["cells"]])]
    where = f" (cell {doc['cell']})" if doc.get("cell") else ""
    tried = [c for c in doc.get("cells") or [] if c.get("filters")]
    if doc.get("cell") or len(tried) < 2:
        out += ["", f"Filters{where}:", _filters(doc.get("filters") or [])]
    else:                                   # nothing fits: every cell tried
        for c in tried:
            out += ["", f"Filters (cell {c['name']}):", _filters(c["filters"])]
    weights = doc.get("weights") or []
    if weights:
        out += ["", "Weights (best first):", table(
            ["host", "weight"], [[w["host"], f"{w['weight']:.4f}"] for w in weights])]
        if doc.get("driver") == "chance":
            out += ["", f"Would place on one of these {len(weights)} hosts at random{where}."]
        else:
            out += ["", f"Would place on {weights[0]['host']}{where}."]
    else:
        out += ["", f"No valid host was found. {doc.get('reason')}"]
    return "\n".join(out)
