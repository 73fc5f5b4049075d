"""A router's NAT as an nftables table ``ip stratus-nat`` (pure rendering).

* SNAT: traffic of the internal subnets leaving by the gateway device is
  rewritten to the gateway IP when ``enable_snat``.
* Floating IPs: 1:1 DNAT of the floating address to the fixed one (prerouting
  and output) and SNAT of the fixed address to the floating one.
* Hairpin: a VM reaching another VM's floating IP through the router is
  masqueraded to the router's own address so replies come back through it.
* Stale flows: a connection DNATed to a floating IP that is no longer
  associated (to that fixed IP) is dropped, so disassociation closes it
  without a conntrack tool.

The table carries a comment ``stratus:<digest>`` of its content; the router
sync replaces the whole table (one ``nft -f`` transaction) only when the
observed digest or rule count differs from the desired one, so a restart never
flushes NAT (established flows keep their conntrack state in any case)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

TABLE = "stratus-nat"
FAMILY = "ip"


@dataclass(frozen=True)
class NatSpec:
    body: str          # the chains, as nft reads them
    digest: str
    rules: int         # how many rules the chains hold

    @property
    def comment(self) -> str:
        return f"stratus:{self.digest}"

    def script(self) -> str:
        """One atomic transaction: create-if-missing, delete, recreate."""
        return (f"table {FAMILY} {TABLE}\n"
                f"delete table {FAMILY} {TABLE}\n"
                f"table {FAMILY} {TABLE} {{\n"
                f"\tcomment \"{self.comment}\"\n{self.body}}}\n")


def _chain(name: str, hook: str, kind: str, priority: str, rules: list[str]) -> str:
    lines = [f"\tchain {name} {{\n",
             f"\t\ttype {kind} hook {hook} priority {priority}; policy accept;\n"]
    lines += [f"\t\t{r}\n" for r in rules]
    lines.append("\t}\n")
    return "".join(lines)


def rules(router: dict, qg: str | None, qr_prefix: str = "qr-") -> dict[str, list[str]]:
    """chain name → rules for ``router`` (host state, stratus/network/l3_state.py)."""
    gw = router.get("gateway")
    fips = sorted(router.get("floating_ips") or [], key=lambda f: f["floating_ip_address"])
    pre, post, fwd = [], [], []
    if gw is not None and qg is not None:
        for f in fips:
            pre.append(f"ip daddr {f['floating_ip_address']} dnat to {f['fixed_ip_address']}")
        post.append(f'iifname "{qr_prefix}*" oifname "{qr_prefix}*" ct status dnat masquerade')
        for f in fips:
            post.append(f'ip saddr {f["fixed_ip_address"]} oifname "{qg}" snat to '
                        f'{f["floating_ip_address"]}')
        gw_ip = next((x["ip_address"] for x in gw["fixed_ips"]), None)
        if gw.get("enable_snat", True) and gw_ip:
            cidrs = sorted({x["cidr"] for i in router.get("interfaces") or []
                            for x in i["fixed_ips"]})
            for cidr in cidrs:
                post.append(f'ip saddr {cidr} oifname "{qg}" snat to {gw_ip}')
    if fips:
        pairs = ", ".join(f"{f['floating_ip_address']} . {f['fixed_ip_address']}" for f in fips)
        fwd.append(f"ct status dnat ct original ip daddr . ct reply ip saddr != {{ {pairs} }} "
                   "drop")
    else:
        fwd.append("ct status dnat drop")
    return {"prerouting": pre, "output": list(pre), "postrouting": post, "forward": fwd}


def render(router: dict, qg: str | None, qr_prefix: str = "qr-") -> NatSpec:
    r = rules(router, qg, qr_prefix)
    body = (_chain("prerouting", "prerouting", "nat", "dstnat", r["prerouting"]) +
            _chain("output", "output", "nat", "-100", r["output"]) +
            _chain("postrouting", "postrouting", "nat", "srcnat", r["postrouting"]) +
            _chain("forward", "forward", "filter", "filter", r["forward"]))
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return NatSpec(body=body, digest=digest, rules=sum(len(v) for v in r.values()))
