"""QoS on VM taps as a pure function: desired limits from the host state,
observed limits from ``tc -j`` output, and the changes between them.

Directions are the VM's (Neutron's): ``egress`` is traffic the VM sends, which
*enters* the tap (tap ingress: redirected to an IFB device ``qfb<port[:11]>``
whose root qdisc is a tbf — the kernel's police action is not assumed);
``ingress`` is traffic towards the VM, which *leaves* the tap (tap egress:
root tbf).  A limit is ``(rate bytes/s, burst bytes)``.

Sources, the stricter (lower rate) winning per direction:
- the port's effective QoS policy (``port["qos_rules"]``: Neutron
  bandwidth_limit rules, kbit/s and kbit; burst 0 → 80 % of the rate, as
  Neutron's Linux bridge agent);
- the instance flavor's ``quota:vif_outbound_average`` / ``_burst`` (VM egress)
  and ``quota:vif_inbound_average`` / ``_burst`` (VM ingress) in
  ``port["vif_quota"]``: KB/s and KB, libvirt's semantics (``_peak`` is
  accepted but not enforced: tbf here has no peak bucket)."""
from __future__ import annotations

from dataclasses import dataclass

from stratus.dataplane.bridge import TAP_PREFIX

IFB_PREFIX = "qfb"
DIRECTIONS = ("egress", "ingress")
DEFAULT_BURST_RATIO = 0.8          # Neutron's qos_consts.DEFAULT_BURST_RATE
MIN_BURST = 3000                   # bytes: two full frames at least
TOLERANCE = 0.02                   # the kernel stores bursts in ticks: small rounding


@dataclass(frozen=True)
class Change:
    op: str            # set | clear | remove_ifb
    tap: str           # the tap (remove_ifb: the IFB device)
    direction: str = ""
    limit: tuple[int, int] | None = None

    def __repr__(self):
        return f"{self.op}({self.tap} {self.direction} {self.limit or ''})".replace(" )", ")")


def ifb_name(tap: str) -> str:
    return IFB_PREFIX + tap[len(TAP_PREFIX):]


def _bytes(rate_kbit: int, burst_kbit: int) -> tuple[int, int]:
    rate = int(rate_kbit) * 125
    burst = int(burst_kbit) * 125 if burst_kbit else int(rate * DEFAULT_BURST_RATIO)
    return rate, max(burst, MIN_BURST, rate // 250)


def limits_of_port(port: dict) -> dict[str, tuple[int, int]]:
    """{direction: (rate B/s, burst B)} this port wants (directions without a limit absent)."""
    found: dict[str, list[tuple[int, int]]] = {d: [] for d in DIRECTIONS}
    for rule in port.get("qos_rules") or []:
        if rule.get("type", "bandwidth_limit") == "bandwidth_limit" and rule.get("max_kbps"):
            found[rule.get("direction") or "egress"].append(
                _bytes(rule["max_kbps"], rule.get("max_burst_kbps") or 0))
    quota = port.get("vif_quota") or {}
    for direction, side in (("egress", "outbound"), ("ingress", "inbound")):
        try:
            avg = int(float(quota.get(f"quota:vif_{side}_average") or 0))
            burst = int(float(quota.get(f"quota:vif_{side}_burst") or 0))
        except ValueError:
            continue                     # a malformed spec limits nothing
        if avg > 0:
            found[direction].append(_bytes(avg * 8, burst * 8))
    return {d: min(v) for d, v in found.items() if v}


def desired(state: dict) -> dict[str, dict[str, tuple[int, int]]]:
    """{tap: {direction: limit}} for every VM port of the state with a limit."""
    out = {}
    for p in state.get("ports", []):
        if p.get("device_owner", "").startswith("compute:"):
            limits = limits_of_port(p)
            if limits:
                out[p.get("tap") or TAP_PREFIX + p["id"][:11]] = limits
    return out


def _tbf(qdiscs: list[dict]) -> tuple[int, int] | None:
    for q in qdiscs:
        if q.get("kind") == "tbf" and q.get("root"):
            o = q.get("options") or {}
            return int(o.get("rate", 0)), int(o.get("burst", 0))
    return None


def redirects_to(filters: list[dict]) -> str | None:
    """The device the tap's ingress filter redirects everything to, if any."""
    for f in filters:
        for a in (f.get("options") or {}).get("actions", []):
            if a.get("kind") == "mirred" and a.get("mirred_action") == "redirect":
                return a.get("to_dev")
    return None


def observe_tap(tap: str, tap_qdiscs: list[dict], tap_filters: list[dict],
                ifb_qdiscs: list[dict] | None) -> dict[str, tuple[int, int]]:
    """What a tap's tc state enforces, from ``tc -j qdisc show`` of the tap,
    ``tc -j filter show ... parent ffff:`` and the IFB's qdiscs (None: no IFB)."""
    out = {}
    if (limit := _tbf(tap_qdiscs)) is not None:
        out["ingress"] = limit
    if any(q.get("kind") == "ingress" for q in tap_qdiscs):
        limit = _tbf(ifb_qdiscs or []) if redirects_to(tap_filters) == ifb_name(tap) else None
        # half-made (no IFB, no redirect, no tbf): (0, 0) matches no wanted limit,
        # so it is redone if wanted and cleared if not
        out["egress"] = limit or (0, 0)
    return out


def same(want: tuple[int, int], have: tuple[int, int]) -> bool:
    return want[0] == have[0] and abs(want[1] - have[1]) <= max(64, want[1] * TOLERANCE)


def plan(want: dict, have: dict, taps: set[str], ifbs: set[str]) -> list[Change]:
    """Changes taking ``have`` (observed, per tap) to ``want``; only for taps
    that exist (``taps``); IFB devices of no limited tap are removed."""
    changes = []
    for tap in sorted(taps):
        w, h = want.get(tap, {}), have.get(tap, {})
        for d in DIRECTIONS:
            if d in w and (d not in h or not same(w[d], h[d])):
                changes.append(Change("set", tap, d, w[d]))
            elif d not in w and d in h:
                changes.append(Change("clear", tap, d))
    keep = {ifb_name(t) for t in taps if "egress" in want.get(t, {})}
    changes += [Change("remove_ifb", i) for i in sorted(ifbs - keep)]
    return changes
