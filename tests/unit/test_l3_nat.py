"""NAT rule generation (stratus/dataplane/nat.py): golden outputs for SNAT,
floating IPs, no gateway and SNAT off; the digest follows the content."""
from __future__ import annotations

from stratus.dataplane import nat

ROUTER = {"gateway": {"fixed_ips": [{"ip_address": "172.24.4.10"}], "enable_snat": True},
          "interfaces": [{"fixed_ips": [{"cidr": "10.0.0.0/26"}]},
                         {"fixed_ips": [{"cidr": "10.1.0.0/24"}]}],
          "floating_ips": [{"floating_ip_address": "172.24.4.21", "fixed_ip_address": "10.1.0.7"},
                           {"floating_ip_address": "172.24.4.20", "fixed_ip_address": "10.0.0.5"}]}

GOLDEN = """table ip stratus-nat
delete table ip stratus-nat
table ip stratus-nat {
\tcomment "stratus:DIGEST"
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr 172.24.4.20 dnat to 10.0.0.5
\t\tip daddr 172.24.4.21 dnat to 10.1.0.7
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr 172.24.4.20 dnat to 10.0.0.5
\t\tip daddr 172.24.4.21 dnat to 10.1.0.7
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tiifname "qr-*" oifname "qr-*" ct status dnat masquerade
\t\tip saddr 10.0.0.5 oifname "qg-x" snat to 172.24.4.20
\t\tip saddr 10.1.0.7 oifname "qg-x" snat to 172.24.4.21
\t\tip saddr 10.0.0.0/26 oifname "qg-x" snat to 172.24.4.10
\t\tip saddr 10.1.0.0/24 oifname "qg-x" snat to 172.24.4.10
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct status dnat ct original ip daddr . ct reply ip saddr != { 172.24.4.20 . 10.0.0.5, 172.24.4.21 . 10.1.0.7 } drop
\t}
}
"""


def test_golden_snat_and_floating_ips():
    spec = nat.render(ROUTER, "qg-x")
    assert spec.script() == GOLDEN.replace("DIGEST", spec.digest)
    assert spec.rules == 10


def test_snat_off_keeps_floating_ips():
    r = {**ROUTER, "gateway": {**ROUTER["gateway"], "enable_snat": False}}
    post = nat.rules(r, "qg-x")["postrouting"]
    assert post == ['iifname "qr-*" oifname "qr-*" ct status dnat masquerade',
                    'ip saddr 10.0.0.5 oifname "qg-x" snat to 172.24.4.20',
                    'ip saddr 10.1.0.7 oifname "qg-x" snat to 172.24.4.21']


def test_no_gateway_no_nat_and_stale_flows_dropped():
    r = {**ROUTER, "gateway": None, "floating_ips": []}
    assert nat.rules(r, None) == {"prerouting": [], "output": [], "postrouting": [],
                                  "forward": ["ct status dnat drop"]}


def test_digest_follows_content():
    a, b = nat.render(ROUTER, "qg-x"), nat.render(ROUTER, "qg-x")
    assert a == b
    c = nat.render({**ROUTER, "floating_ips": ROUTER["floating_ips"][:1]}, "qg-x")
    assert c.digest != a.digest and c.rules == a.rules - 3
