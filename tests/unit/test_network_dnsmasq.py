"""dnsmasq's files and command line (pure parts of stratus/dataplane/dnsmasq.py)."""
from __future__ import annotations

from stratus.dataplane import dnsmasq

SUBNET = {"id": "s1", "cidr": "10.0.0.0/26", "gateway_ip": "10.0.0.1",
          "dns_nameservers": ["192.0.2.53", "192.0.2.54"],
          "host_routes": [{"destination": "172.16.0.0/16", "nexthop": "10.0.0.9"}]}


def test_hosts_file_lists_ports_of_the_subnet_sorted_by_mac():
    ports = [{"id": "b", "mac_address": "fa:16:3e:00:00:02",
              "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.6"}]},
             {"id": "a", "mac_address": "fa:16:3e:00:00:01",
              "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"},
                            {"subnet_id": "s2", "ip_address": "10.9.0.5"}]}]
    assert dnsmasq.hosts_file(SUBNET, ports) == (
        "fa:16:3e:00:00:01,host-10-0-0-5,10.0.0.5\n"
        "fa:16:3e:00:00:02,host-10-0-0-6,10.0.0.6\n")


def test_opts_file_router_dns_classless_routes_with_default_and_mtu():
    assert dnsmasq.opts_file(SUBNET, 1450).splitlines() == [
        "tag:subnet0,option:dns-server,192.0.2.53,192.0.2.54",
        "tag:subnet0,option:router,10.0.0.1",
        "tag:subnet0,option:classless-static-route,172.16.0.0/16,10.0.0.9,0.0.0.0/0,10.0.0.1",
        "tag:subnet0,option:mtu,1450"]


def test_opts_file_without_gateway_sends_an_empty_router_option():
    sub = {**SUBNET, "gateway_ip": None, "dns_nameservers": [], "host_routes": []}
    assert dnsmasq.opts_file(sub, None) == "tag:subnet0,option:router\n"


def test_argv_static_range_and_files():
    files = {"pid": "/s/pid", "host": "/s/host", "opts": "/s/opts"}
    argv = dnsmasq.argv("qdhcp-x", "ns-abc", SUBNET, files, 600)
    assert "--dhcp-range=set:subnet0,10.0.0.0,static,255.255.255.192,600s" in argv
    assert "--interface=ns-abc" in argv and "--dhcp-hostsfile=/s/host" in argv
    assert "--port=0" in argv      # DHCP only: no DNS server in the namespace


def test_names():
    assert dnsmasq.namespace("0123456789abcdef", "shost-h1") == "qdhcp-01234567-h1"
    assert dnsmasq.ns_dev("0123456789abcdef") == "ns-0123456789a"


def test_namespaces_of_a_host_match_its_name_exactly(monkeypatch):
    # Host "b" must never claim (and a teardown never delete) the namespaces of "a-b".
    monkeypatch.setattr(dnsmasq.netns, "list_all", lambda: [
        "qdhcp-0123abcd-b", "qdhcp-4567cdef-a-b", "qdhcp-89abcdef-bb", "shost-b",
        "qdhcp-0123abcd-b-x"])
    assert dnsmasq.namespaces("shost-b") == {"qdhcp-0123abcd-b"}
    assert dnsmasq.namespaces("shost-a-b") == {"qdhcp-4567cdef-a-b"}
