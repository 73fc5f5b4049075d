"""The VLAN data plane's pure plan (stratus/dataplane/vlan_plan.py) and the
lab's provider fabric shape: subinterface names, mappings, the changes for
every kind of difference, and nothing for a host that is already right."""
from __future__ import annotations

import pytest

from stratus.dataplane.bridge import bridge_name
from stratus.dataplane.vlan_plan import (Link, desired, owned, parse_mappings, plan,
                                         subinterface_name)
from stratus.lab.plan import PROVIDER_INTERFACE, physical_interface_mappings
from stratus.lab.plan import plan as lab_plan

NET_A, NET_B, NET_X = "a" * 8 + "-1111", "b" * 8 + "-2222", "c" * 8 + "-3333"


def net(nid, vid, physnet="physnet1", mtu=1500, ntype="vlan"):
    return {"id": nid, "mtu": mtu, "network_type": ntype, "physical_network": physnet,
            "segmentation_id": vid, "subnets": []}


STATE = {"networks": [net(NET_A, 101), net(NET_B, 102),
                      net(NET_X, 7, physnet=None, ntype="vxlan")]}
MAP = {"physnet1": "ph0"}


def right(name_vid_net):
    """Observed links of a host that is exactly right."""
    links = {"ph0": Link(kind="veth"), "lo": Link()}
    for vid, nid in name_vid_net:
        links[f"ph0.{vid}"] = Link(kind="vlan", lower="ph0", vid=vid, master=bridge_name(nid),
                                   mtu=1500)
        links[bridge_name(nid)] = Link(kind="bridge")
    return links


def test_subinterface_names_follow_the_linux_bridge_agent():
    assert subinterface_name("eth1", 100) == "eth1.100"
    assert subinterface_name("ph0", 4094) == "ph0.4094"
    assert subinterface_name("enp0s31f6xy", 100) == "enp0s31f6xy.100"      # exactly 15
    long = subinterface_name("enp0s31f6xyzw", 4094)
    assert len(long) == 15 and long.endswith(".4094") and long.startswith("enp0")
    assert long != subinterface_name("enp0s31f6xyzv", 4094)     # the hash tells them apart
    assert subinterface_name("enp0s31f6xyzw", 4094) == long     # and is stable


def test_mappings_parse_and_bad_ones_name_the_entry():
    assert parse_mappings(["physnet1:eth1", " physnet2 : ph0 "]) == {"physnet1": "eth1",
                                                                    "physnet2": "ph0"}
    assert parse_mappings([]) == {}
    for bad, words in [("physnet1", "not 'physnet:interface'"), (":eth1", "not"),
                       ("p:", "not"), ("p:a:b", "not"), ("p:" + "x" * 16, "longer than 15")]:
        with pytest.raises(ValueError, match=words):
            parse_mappings([bad])
    with pytest.raises(ValueError, match="mapped twice"):
        parse_mappings(["p:eth1", "p:eth2"])


def test_desired_has_one_subinterface_per_vlan_network_and_reports_unmapped():
    wanted, unmapped = desired(STATE, MAP)
    assert set(wanted) == {"ph0.101", "ph0.102"}
    assert wanted["ph0.101"] == {"lower": "ph0", "vid": 101, "master": bridge_name(NET_A),
                                 "mtu": 1500, "network_id": NET_A,
                                 "physical_network": "physnet1"}
    assert unmapped == []
    wanted, unmapped = desired(STATE, {"physnet9": "eth9"})
    assert wanted == {} and [c.op for c in unmapped] == ["unmapped", "unmapped"]
    assert unmapped[0].args == {"physical_network": "physnet1"}


def test_fresh_host_creates_enslaves_and_ups_each_subinterface():
    wanted, _ = desired(STATE, MAP)
    changes = plan(wanted, {"ph0": Link(kind="veth"), bridge_name(NET_A): Link(kind="bridge")})
    assert [(c.op, c.device) for c in changes] == [
        ("create", "ph0.101"), ("set_link", "ph0.101"),
        ("create", "ph0.102"), ("set_link", "ph0.102")]
    assert changes[0].args == {"lower": "ph0", "vid": 101}
    assert changes[1].args == {"master": bridge_name(NET_A), "mtu": 1500, "up": True}


def test_a_host_that_is_right_gets_no_change():
    wanted, unmapped = desired(STATE, MAP)
    assert plan(wanted, right([(101, NET_A), (102, NET_B)]), unmapped) == []


def test_only_what_differs_is_set():
    wanted, _ = desired(STATE, MAP)
    observed = right([(101, NET_A), (102, NET_B)])
    observed["ph0.101"] = Link(kind="vlan", lower="ph0", vid=101, master=None, mtu=1500)
    observed["ph0.102"] = Link(kind="vlan", lower="ph0", vid=102, master=bridge_name(NET_B),
                               mtu=1400, up=False)
    changes = plan(wanted, observed)
    assert [(c.op, c.device, c.args) for c in changes] == [
        ("set_link", "ph0.101", {"master": bridge_name(NET_A)}),
        ("set_link", "ph0.102", {"mtu": 1500, "up": True})]


def test_stale_subinterfaces_go_but_never_an_operators_own():
    observed = right([(101, NET_A), (102, NET_B)])
    observed["ph0.55"] = Link(kind="vlan", lower="ph0", vid=55, master=None)    # bridge gone
    observed["ph0.56"] = Link(kind="vlan", lower="ph0", vid=56, master="brqdeadbeef00")
    observed["ph0.10"] = Link(kind="vlan", lower="ph0", vid=10, addressed=True)  # management
    observed["ph0.11"] = Link(kind="vlan", lower="ph0", vid=11, master="br-ops")
    observed["mgmt"] = Link(kind="vlan", lower="ph0", vid=12)                    # not our name
    observed["ph0.13"] = Link(kind="vlan", lower="ph0", vid=99)                 # not our name
    wanted, _ = desired({"networks": [net(NET_A, 101)]}, MAP)
    assert [(c.op, c.device) for c in plan(wanted, observed)] == [
        ("delete", "ph0.102"), ("delete", "ph0.55"), ("delete", "ph0.56")]
    assert owned("ph0.55", observed["ph0.55"]) and not owned("mgmt", observed["mgmt"])


def test_nothing_wanted_removes_every_stratus_subinterface():
    observed = right([(101, NET_A), (102, NET_B)])
    assert [(c.op, c.device) for c in plan({}, observed)] == [("delete", "ph0.101"),
                                                             ("delete", "ph0.102")]


def test_missing_interface_and_a_foreign_device_with_our_name_are_reported():
    wanted, _ = desired(STATE, MAP)
    changes = plan(wanted, {"lo": Link()})
    assert {c.op for c in changes} == {"missing_interface"}
    assert changes[0].args == {"interface": "ph0", "physical_network": "physnet1"}
    observed = right([(102, NET_B)])
    observed["ph0.101"] = Link(kind="veth")
    changes = plan(wanted, observed)
    assert [(c.op, c.device) for c in changes] == [("name_taken", "ph0.101")]


def test_a_subinterface_with_the_wrong_identity_is_recreated():
    wanted, _ = desired({"networks": [net(NET_A, 101)]}, MAP)
    observed = right([(101, NET_A)])
    # our name for (ph0, 101) but the kernel says another lower link (ph1 renamed...)
    observed["ph1"] = Link(kind="veth")
    observed["ph0.101"] = Link(kind="vlan", lower="ph1", vid=101, master=bridge_name(NET_A))
    assert [c.op for c in plan(wanted, observed)] == ["name_taken"]


def test_lab_hosts_get_a_provider_port_and_the_agents_mapping():
    lab = lab_plan(3, "abcdef", "10.0.0.0/16")
    assert lab.provider_bridge == "phys0"
    ports = [h.provider_port for h in lab.hosts]
    assert ports == ["ph-abcdef1", "ph-abcdef2", "ph-abcdef3"]
    assert len(set(ports) | {h.fabric_port for h in lab.hosts}) == 6
    assert all(len(p) <= 15 for p in ports)
    assert parse_mappings(physical_interface_mappings()) == {"physnet1": PROVIDER_INTERFACE}
