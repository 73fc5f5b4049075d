"""QoS on VM taps with tc, in a host namespace: observe (``tc -j``), plan
(stratus/dataplane/qos_plan.py, pure), apply the difference.

VM ingress (tap egress): ``tc qdisc replace dev tap root handle 1: tbf``.
VM egress (tap ingress): an ``ingress`` qdisc on the tap with one u32
match-all filter redirecting (mirred) to the IFB device ``qfb<port[:11]>``,
whose root tbf shapes it.  An IFB is removed only after the tap's ingress
qdisc (so no filter ever redirects to a missing device).  A sync with
nothing to change runs no ``tc`` command that changes anything."""
from __future__ import annotations

import json
import logging

from stratus.dataplane import qos_plan
from stratus.dataplane.ip import ip, links, run

LOG = logging.getLogger(__name__)
FILTER_PREF = "49"
LATENCY = "50ms"


def tc(ns: str, *args: str, check: bool = True) -> str:
    return run(["tc", "-n", ns, *args], check=check)


def tc_json(ns: str, *args: str) -> list[dict]:
    out = run(["tc", "-n", ns, "-j", *args], check=False)
    try:
        return json.loads(out) if out.strip() else []
    except json.JSONDecodeError:
        return []


def observe(ns: str, taps: set[str], ifbs: set[str]) -> dict[str, dict]:
    """Per tap, what it enforces: one ``tc qdisc show`` for the namespace, and
    the filters only of taps that have an ingress qdisc."""
    by_dev: dict[str, list[dict]] = {}
    for q in tc_json(ns, "qdisc", "show"):
        by_dev.setdefault(q.get("dev", ""), []).append(q)
    have = {}
    for tap in sorted(taps):
        qdiscs = by_dev.get(tap, [])
        filters = tc_json(ns, "filter", "show", "dev", tap, "parent", "ffff:") \
            if any(q.get("kind") == "ingress" for q in qdiscs) else []
        ifb = qos_plan.ifb_name(tap)
        have[tap] = qos_plan.observe_tap(tap, qdiscs, filters,
                                         by_dev.get(ifb, []) if ifb in ifbs else None)
    return have


def _tbf(ns: str, dev: str, limit: tuple[int, int]) -> None:
    rate, burst = limit
    tc(ns, "qdisc", "replace", "dev", dev, "root", "handle", "1:", "tbf",
       "rate", f"{rate * 8}bit", "burst", f"{burst}b", "latency", LATENCY)


def apply(ns: str, change: qos_plan.Change, devices: dict) -> None:
    if change.op == "set" and change.direction == "ingress":
        _tbf(ns, change.tap, change.limit)
    elif change.op == "clear" and change.direction == "ingress":
        tc(ns, "qdisc", "del", "dev", change.tap, "root", check=False)
    elif change.op == "set":                       # VM egress through the IFB
        ifb = qos_plan.ifb_name(change.tap)
        if ifb not in devices:
            ip(ns, "link", "add", "name", ifb, "type", "ifb")
        ip(ns, "link", "set", ifb, "up")
        _tbf(ns, ifb, change.limit)
        filters = tc_json(ns, "filter", "show", "dev", change.tap, "parent", "ffff:")
        if qos_plan.redirects_to(filters) != ifb:
            tc(ns, "qdisc", "del", "dev", change.tap, "ingress", check=False)
            tc(ns, "qdisc", "add", "dev", change.tap, "handle", "ffff:", "ingress")
            tc(ns, "filter", "add", "dev", change.tap, "parent", "ffff:", "pref", FILTER_PREF,
               "protocol", "all", "u32", "match", "u32", "0", "0",
               "action", "mirred", "egress", "redirect", "dev", ifb)
    elif change.op == "clear":
        tc(ns, "qdisc", "del", "dev", change.tap, "ingress", check=False)
        ifb = qos_plan.ifb_name(change.tap)
        if ifb in devices:
            ip(ns, "link", "del", ifb)
            devices.pop(ifb, None)
    elif change.op == "remove_ifb":
        tap = qos_plan.TAP_PREFIX + change.tap[len(qos_plan.IFB_PREFIX):]
        if tap in devices:
            tc(ns, "qdisc", "del", "dev", tap, "ingress", check=False)
        if change.tap in devices:
            ip(ns, "link", "del", change.tap, check=False)
    else:
        raise ValueError(f"unknown QoS change {change!r}")


def sync(ns: str, state: dict) -> list[qos_plan.Change]:
    """Converge the taps of ``ns`` to the state's QoS; returns the changes made."""
    devices = links(ns)
    taps = {n for n, i in devices.items() if n.startswith(qos_plan.TAP_PREFIX)
            and i["kind"] in ("tun", "veth")}
    ifbs = {n for n, i in devices.items() if n.startswith(qos_plan.IFB_PREFIX)
            and i["kind"] == "ifb"}
    changes = qos_plan.plan(qos_plan.desired(state), observe(ns, taps, ifbs), taps, ifbs)
    failures = []
    for change in changes:
        try:
            apply(ns, change, devices)
        except Exception as exc:  # noqa: BLE001 - the others still apply; retried next sync
            LOG.warning("QoS change %r failed: %s", change, exc)
            failures.append(f"{change!r}: {exc}")
    if failures:
        raise RuntimeError("; ".join(failures))
    return changes
