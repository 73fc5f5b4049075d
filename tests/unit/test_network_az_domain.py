"""Network availability zones: the pure parts (hint validation, zone states,
filters, preference) and, on a real SQLite database, the zone list, hint
validation against the hosts, router placement by hint and the zones a
network and a router report."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from starlette.datastructures import QueryParams

from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models import compute as cm
from stratus.db.models import network as m
from stratus.network import availability_zones as az
from stratus.network import networks, ports, routers, subnets
from stratus.network.ipam import HTTPBadRequest, InvalidInput

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def conf():
    return Config(overrides={"network": {"vni_ranges": "5:9"}})


@pytest.fixture
def s(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/az.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        yield session
    db.dispose()


def node(s, host, seen=0, disabled=False, zone=None):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    n = cm.ComputeNode(uuid=str(uuid.uuid4()), host=host, disabled=disabled,
                       service_id=uuid.uuid4().int % 10 ** 6,
                       last_seen_up=now - dt.timedelta(seconds=seen))
    s.add(n)
    if zone:
        agg = cm.Aggregate(uuid=str(uuid.uuid4()), name=f"agg-{host}")
        s.add(agg)
        s.flush()
        s.add_all([cm.AggregateMetadata(aggregate_id=agg.id, key="availability_zone",
                                        value=zone),
                   cm.AggregateHost(aggregate_id=agg.id, host=host)])
    s.flush()
    return n


class N:   # a ComputeNode as zone_states reads it
    def __init__(self, host, seen=0, disabled=False, forced_down=False):
        self.host, self.disabled, self.forced_down = host, disabled, forced_down
        self.last_seen_up = None if seen is None else NOW - dt.timedelta(seconds=seen)


# -- pure -------------------------------------------------------------------------------
def test_hints_are_a_list_of_unique_strings_that_fits_255_characters():
    assert az.check_hints([]) == []
    assert az.check_hints(["nova", "z1"]) == ["nova", "z1"]
    for bad, why in (("nova", "is not a list"), ([1], "'1' is not a valid string"),
                     (["a", "b", "a"], "Duplicate items in the list: 'a'")):
        with pytest.raises(HTTPBadRequest, match=why) as e:
            az.check_hints(bad)
        assert "availability_zone_hints" in e.value.message
    fits = ["z" * 60, "y" * 60, "x" * 60, "w" * 59]
    assert len(json.dumps(fits)) == 255 and az.check_hints(fits) == fits
    with pytest.raises(InvalidInput, match="Too many availability_zone_hints"):
        az.check_hints(fits[:-1] + ["w" * 60])


def test_a_zone_is_available_when_an_enabled_host_of_it_is_up():
    nodes = [N("a"), N("b", seen=100), N("c", disabled=True), N("d", seen=None),
             N("e", forced_down=True), N("f"), N("g", seen=10)]
    host_zones = {"b": {"z1"}, "c": {"z2"}, "d": {"z3"}, "e": {"z3"}, "f": {"z1"},
                  "g": {"z4", "z5"}}
    states = az.zone_states(nodes, host_zones, "nova", 60, NOW)
    assert states == {"nova": True, "z1": True, "z2": False, "z3": False, "z4": True,
                      "z5": True}
    assert az.zone_states([N("b", seen=100)], host_zones, "nova", 60, NOW) == {"z1": False}
    assert az.zone_list({"z": False, "a": True}) == [
        {"name": "a", "resource": "network", "state": "available"},
        {"name": "a", "resource": "router", "state": "available"},
        {"name": "z", "resource": "network", "state": "unavailable"},
        {"name": "z", "resource": "router", "state": "unavailable"}]


def test_filters_by_name_resource_and_state_as_neutron_and_openstacksdk_send_them():
    items = az.zone_list({"nova": True, "z1": False, "z2": True})

    def names(qs):
        return [(z["name"], z["resource"]) for z in az.filter_zones(items, QueryParams(qs))]
    assert len(names("")) == 6
    assert names("name=z1") == [("z1", "network"), ("z1", "router")]
    assert names("name=z1&name=z2&resource=router") == [("z1", "router"), ("z2", "router")]
    assert names("state=unavailable") == [("z1", "network"), ("z1", "router")]
    assert names("state=available&resource=network") == [("nova", "network"),
                                                          ("z2", "network")]
    # openstacksdk: name -> availability_zone, resource -> agent_type
    assert names("availability_zone=nova&agent_type=router") == [("nova", "router")]
    assert names("agent_type=DHCP agent&name=z2") == [("z2", "network")]
    assert names("name=nope") == [] and names("state=bogus") == []
    assert len(names("color=red")) == 6   # unknown filters are ignored


def test_prefer_keeps_hosts_of_hinted_zones_else_all():
    zones = {"a": {"nova"}, "b": {"z1"}, "c": {"z2"}}
    assert az.prefer(["a", "b", "c"], zones, []) == ["a", "b", "c"]
    assert az.prefer(["a", "b", "c"], zones, ["z1", "z2"]) == ["b", "c"]
    assert az.prefer(["a", "b"], zones, ["z2"]) == ["a", "b"]   # nobody there: all


# -- on the database --------------------------------------------------------------------
def test_zone_list_and_hint_validation_follow_the_hosts(s, conf):
    assert az.list_zones(s, conf) == []
    with pytest.raises(az.AvailabilityZoneNotFound) as e:
        az.validate(s, conf, ["nova"], "network")
    assert e.value.status == 404 and e.value.message == "AvailabilityZone nova could not " \
        "be found."
    node(s, "a")
    node(s, "b", zone="z1", seen=3600)
    node(s, "c", zone="z2", disabled=True)
    got = {(z["name"], z["resource"]): z["state"] for z in az.list_zones(s, conf)}
    assert got == {("nova", "network"): "available", ("nova", "router"): "available",
                   ("z1", "network"): "unavailable", ("z1", "router"): "unavailable",
                   ("z2", "network"): "unavailable", ("z2", "router"): "unavailable"}
    assert [z["name"] for z in az.list_zones(s, conf, QueryParams("state=available"))] == \
        ["nova", "nova"]
    az.validate(s, conf, ["nova", "z1", "z2"], "router")   # down zones exist
    with pytest.raises(az.AvailabilityZoneNotFound, match="z9"):
        az.validate(s, conf, ["z1", "z9"], "network")


def test_routers_go_to_hinted_zones_and_report_where_they_run(s, conf):
    node(s, "a")
    node(s, "b", zone="z1")
    node(s, "c", zone="z2", seen=3600)
    busy = routers.create_router(s, conf, project_id="p")
    assert busy.host == "a"
    r1 = routers.create_router(s, conf, project_id="p", availability_zone_hints=["nova"])
    assert r1.host == "a"        # "b" has fewer routers but is not in the hinted zone
    r2 = routers.create_router(s, conf, project_id="p", availability_zone_hints=["z2"])
    assert r2.host == "b"        # z2's only host is down: any up host, fewest routers
    r3 = routers.create_router(s, conf, project_id="p", availability_zone_hints=["z2", "z1"])
    assert r3.host == "b" and r3.availability_zone_hints == ["z2", "z1"]
    assert az.router_zones(s, conf, [r1, r2, r3]) == {r1.id: ["nova"], r2.id: ["z1"],
                                                      r3.id: ["z1"]}


def test_an_unplaced_router_waits_for_a_host_of_its_zone(s, conf):
    r = routers.create_router(s, conf, project_id="p", availability_zone_hints=["z1"])
    assert r.host is None and az.router_zones(s, conf, [r]) == {r.id: []}
    node(s, "a")
    node(s, "b", zone="z1")
    assert routers.place_unplaced(s, conf) == 1
    assert r.host == "b"


def test_a_network_is_in_the_zones_of_the_hosts_where_it_has_ports(s, conf):
    node(s, "a")
    node(s, "b", zone="z1")
    net = networks.create_network(s, conf, project_id="p", name="n")
    subnets.create_subnet(s, net, project_id="p", cidr="10.0.0.0/24")
    other = networks.create_network(s, conf, project_id="p", name="o")
    assert az.network_zones(s, conf, [net.id, other.id]) == {net.id: [], other.id: []}
    for host in ("a", "b"):
        dev = str(uuid.uuid4())
        ports.new_port(s, network_id=net.id, project_id="p", device_id=dev,
                       device_owner="compute:nova")
        ports.bind_ports(s, dev, host)
    assert az.network_zones(s, conf, [net.id, other.id]) == {net.id: ["nova", "z1"],
                                                             other.id: []}
    dhcp = {p.host_id for p in s.query(m.Port).filter(m.Port.network_id == net.id,
                                                      m.Port.device_owner == "network:dhcp")}
    assert dhcp == {"a", "b"}    # each host serving the network runs its DHCP
