"""The QoS planner (pure): desired tap limits from policy rules and flavor
quota:vif_* specs (the stricter wins), observation of tc's JSON, and the
changes: none, set, change, clear, removal of IFB devices."""
from __future__ import annotations

from stratus.dataplane import qos_plan as q
from stratus.dataplane.qos_plan import Change

TAP, IFB = "tapaaaaaaaa-bb", "qfbaaaaaaaa-bb"


def port(rules=(), quota=None, owner="compute:nova"):
    return {"id": "aaaaaaaa-bbbb", "tap": TAP, "device_owner": owner,
            "qos_rules": list(rules), "vif_quota": quota or {}}


def bw(kbps, burst=0, direction="egress"):
    return {"type": "bandwidth_limit", "max_kbps": kbps, "max_burst_kbps": burst,
            "direction": direction}


def test_no_limit_wants_nothing():
    assert q.desired({"ports": [port()]}) == {}
    assert q.desired({"ports": [port([bw(0)])]}) == {}          # 0: no limit
    assert q.desired({"ports": [port([bw(1000)], owner="network:dhcp")]}) == {}


def test_policy_rule_units_and_default_burst():
    # kbit/s -> bytes/s; burst kbit -> bytes; 0 burst -> 80 % of the rate
    assert q.limits_of_port(port([bw(10000, 1000)])) == {"egress": (1250000, 125000)}
    assert q.limits_of_port(port([bw(10000)])) == {"egress": (1250000, 1000000)}
    assert q.limits_of_port(port([bw(8, 0, "ingress")])) == {"ingress": (1000, q.MIN_BURST)}
    both = q.limits_of_port(port([bw(1000, 100), bw(2000, 200, "ingress")]))
    assert both == {"egress": (125000, 12500), "ingress": (250000, 25000)}


def test_flavor_quota_is_kilobytes_and_maps_outbound_to_egress():
    quota = {"quota:vif_outbound_average": "1000", "quota:vif_outbound_burst": "100",
             "quota:vif_inbound_average": "500", "quota:vif_inbound_peak": "900"}
    assert q.limits_of_port(port(quota=quota)) == {
        "egress": (1000000, 100000), "ingress": (500000, 400000)}
    assert q.limits_of_port(port(quota={"quota:vif_inbound_average": "x"})) == {}


def test_the_stricter_of_policy_and_flavor_wins_per_direction():
    quota = {"quota:vif_outbound_average": "100",     # 800 kbit/s: stricter than 1000
             "quota:vif_inbound_average": "1000"}     # 8000 kbit/s: looser than 2000
    got = q.limits_of_port(port([bw(1000), bw(2000, 0, "ingress")], quota))
    assert got["egress"][0] == 100000 and got["ingress"][0] == 250000


def test_observe_tap_from_tc_json():
    tbf = {"kind": "tbf", "root": True, "options": {"rate": 1250000, "burst": 125000}}
    ingress = {"kind": "ingress", "handle": "ffff:"}
    redirect = [{"options": {"actions": [{"kind": "mirred", "mirred_action": "redirect",
                                          "to_dev": IFB}]}}]
    assert q.observe_tap(TAP, [], [], None) == {}
    assert q.observe_tap(TAP, [tbf], [], None) == {"ingress": (1250000, 125000)}
    assert q.observe_tap(TAP, [ingress], redirect, [tbf]) == {"egress": (1250000, 125000)}
    # half-made egress (no IFB, or a redirect elsewhere): (0, 0)
    assert q.observe_tap(TAP, [ingress], redirect, None) == {"egress": (0, 0)}
    other = [{"options": {"actions": [{"kind": "mirred", "mirred_action": "redirect",
                                       "to_dev": "x"}]}}]
    assert q.observe_tap(TAP, [ingress], other, [tbf]) == {"egress": (0, 0)}


def test_plan_set_change_nothing_clear_and_ifb_removal():
    want = {TAP: {"egress": (1000, 3000), "ingress": (2000, 3000)}}
    assert q.plan(want, {TAP: {}}, {TAP}, set()) == [
        Change("set", TAP, "egress", (1000, 3000)), Change("set", TAP, "ingress", (2000, 3000))]
    # already so (burst rounded by the kernel within tolerance): nothing to do
    have = {TAP: {"egress": (1000, 3001), "ingress": (2000, 2990)}}
    assert q.plan(want, have, {TAP}, {IFB}) == []
    # a changed rate
    have = {TAP: {"egress": (1500, 3000), "ingress": (2000, 3000)}}
    assert q.plan(want, have, {TAP}, {IFB}) == [Change("set", TAP, "egress", (1000, 3000))]
    # removed policy: both cleared; the IFB goes with the egress clear's removal
    have = {TAP: {"egress": (1000, 3000), "ingress": (2000, 3000)}}
    assert q.plan({}, have, {TAP}, {IFB}) == [
        Change("clear", TAP, "egress"), Change("clear", TAP, "ingress"),
        Change("remove_ifb", IFB)]
    # a tap that is gone: its leftover IFB is removed; a wanted tap missing: nothing
    assert q.plan(want, {}, set(), {IFB}) == [Change("remove_ifb", IFB)]
    # only ingress wanted: an IFB is not kept
    assert q.plan({TAP: {"ingress": (2000, 3000)}}, {TAP: {"ingress": (2000, 3000)}},
                  {TAP}, {IFB}) == [Change("remove_ifb", IFB)]


def test_same_tolerates_kernel_rounding_only():
    assert q.same((1000, 100000), (1000, 101000))
    assert not q.same((1000, 100000), (1000, 110000))
    assert not q.same((1000, 100000), (1001, 100000))
