"""Turning upload results into the bench's figures and lines (pure).

goodput = bytes*8/seconds; ratio_vs_tcp = goodput / goodput of the ``http``
method in the same scenario (the plain TCP upload); link_share = goodput /
configured link rate; for ``stratus`` also protocol_goodput_mbps, the
client's own figure (handshake to commit, without the CLI's start and its
Keystone authentication)."""
from __future__ import annotations


def scenario_name(rate_mbps: float, rtt_ms: float, loss: float) -> str:
    """e.g. ``100mbit/100ms/1%`` or ``1000mbit/100ms/0%``."""
    return f"{rate_mbps:g}mbit/{rtt_ms:g}ms/{loss * 100:g}%"


def figures(results: dict[str, dict], rate_mbps: float) -> dict[str, dict]:
    """``results``: method -> client report.  Returns method -> {goodput_mbps,
    ratio_vs_tcp, link_share} for the methods that succeeded."""
    out = {}
    for method, r in results.items():
        if r.get("ok") and r.get("seconds"):
            out[method] = {"goodput_mbps": r["bytes"] * 8 / r["seconds"] / 1e6}
            if r.get("protocol_goodput_mbps"):
                out[method]["protocol_goodput_mbps"] = r["protocol_goodput_mbps"]
    tcp = out.get("http", {}).get("goodput_mbps")
    for f in out.values():
        f["ratio_vs_tcp"] = f["goodput_mbps"] / tcp if tcp else None
        f["link_share"] = f["goodput_mbps"] / rate_mbps
    return out


def _num(x, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def summary_line(scenario: str, method: str, f: dict) -> str:
    return (f"scenario={scenario} method={method} goodput_mbps={_num(f['goodput_mbps'], '.2f')} "
            f"ratio_vs_tcp={_num(f['ratio_vs_tcp'], '.2f')} "
            f"link_share={_num(f['link_share'], '.3f')}"
            + _protocol(f))


def _protocol(f: dict) -> str:
    """stratus only: the client's own goodput and its share of the link."""
    p = f.get("protocol_goodput_mbps")
    if not p:
        return ""
    share = p / f["goodput_mbps"] * f["link_share"]
    return f" protocol_goodput_mbps={p:.2f} protocol_link_share={share:.3f}"


def table_row(method: str, r: dict, f: dict | None) -> str:
    if f is None:
        why = r.get("skipped") and f"skipped: {r['skipped']}" or f"error: {r.get('error')}"
        return f"  {method:<16} {why}"
    return (f"  {method:<16} {r['bytes'] / 1e6:>9.1f} MB {r['seconds']:>7.2f} s "
            f"{f['goodput_mbps']:>9.2f} Mbit/s  x{_num(f['ratio_vs_tcp'], '.2f'):>7} vs http  "
            f"{f['link_share']:>6.1%} of link"
            + (f"  (protocol alone: {f['protocol_goodput_mbps']:.2f} Mbit/s)"
               if f.get("protocol_goodput_mbps") else ""))
