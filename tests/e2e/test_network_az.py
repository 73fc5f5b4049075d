"""Network availability zones end to end against the live cloud: the zone list
(raw HTTP with its filters, openstacksdk, the `openstack availability zone
list --network` CLI), ``availability_zone_hints`` on networks and routers
(openstacksdk and the CLI for the everyday path, raw HTTP for bad input) and
the ``availability_zones`` they report.

A second zone comes from a host inserted into the server's database as a
registered agent leaves it, but one that never heart-beat (down), put in an
aggregate with a zone of its own through the Compute API: being down, no
router or server of another test can land on it."""
from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from conftest import compute_client, network_client as neutron, unique, wait_for
from stratus.db.models import compute as cm

pytestmark = pytest.mark.e2e
ALIASES = {"availability_zone", "availability_zone_filter", "network_availability_zone",
           "router_availability_zone"}


def err(r: httpx.Response, status: int, type_: str, *mentions) -> None:
    what = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:400]}"
    assert r.status_code == status, what
    e = r.json()["NeutronError"]
    assert e["type"] == type_, what
    for m in mentions:
        assert m.lower() in e["message"].lower(), f"message lacks {m!r}: {what}"


@pytest.fixture(scope="module")
def demo(live_cloud):
    with neutron(live_cloud, live_cloud.token("demo", live_cloud.demo_password,
                                              project="demo")) as c:
        yield c


@pytest.fixture(scope="module")
def host_up(demo):
    """The server's own host has registered (its agent starts after the API)."""
    def up():
        r = demo.get("availability_zones", params={"name": "nova", "state": "available"})
        return len(r.json()["availability_zones"]) == 2
    wait_for(up, timeout=60, what="the host of zone nova to be up")


@pytest.fixture(scope="module")
def down_zone(live_cloud, host_up):
    """(host, zone): a down host alone in its zone; all removed afterwards."""
    host, zone = unique("azhost"), unique("az")
    engine = create_engine(f"sqlite:///{live_cloud.state_dir}/stratus.sqlite")
    with Session(engine) as s:
        node = cm.ComputeNode(uuid=str(uuid.uuid4()), host=host, cpu_info={}, stats={},
                              service_id=uuid.uuid4().int % 2_000_000_000, last_seen_up=None)
        s.add(node)
        s.commit()
        node_id = node.id
    nova = compute_client(live_cloud, live_cloud.admin_token())
    agg = None
    try:
        r = nova.post("os-aggregates", json={"aggregate": {"name": zone,
                                                           "availability_zone": zone}})
        assert r.status_code == 200, r.text
        agg = r.json()["aggregate"]["id"]
        r = nova.post(f"os-aggregates/{agg}/action", json={"add_host": {"host": host}})
        assert r.status_code == 200, r.text
        yield host, zone
    finally:
        if agg is not None:
            nova.post(f"os-aggregates/{agg}/action", json={"remove_host": {"host": host}})
            nova.delete(f"os-aggregates/{agg}")
        nova.close()
        with Session(engine) as s:
            s.execute(delete(cm.ComputeNode).where(cm.ComputeNode.id == node_id))
            s.commit()
        engine.dispose()


def zone_set(items) -> set:
    return {(z["name"], z["resource"], z["state"]) for z in items}


def test_zone_list_filters_sdk_and_cli(live_cloud, demo, down_zone):
    _, zone = down_zone
    aliases = {e["alias"] for e in demo.get("extensions").json()["extensions"]}
    assert ALIASES <= aliases
    assert demo.get("extensions/network_availability_zone").status_code == 200
    items = demo.get("availability_zones").json()["availability_zones"]   # not admin
    assert all(set(z) == {"name", "resource", "state"} for z in items), items
    assert {("nova", "network", "available"), ("nova", "router", "available"),
            (zone, "network", "unavailable"), (zone, "router", "unavailable")} \
        <= zone_set(items)

    def listed(**params):
        r = demo.get("availability_zones", params=params)
        assert r.status_code == 200, r.text
        return zone_set(r.json()["availability_zones"])
    assert listed(name=zone) == {(zone, "network", "unavailable"),
                                 (zone, "router", "unavailable")}
    assert listed(name=[zone, "nova"], resource="router", state="unavailable") == \
        {(zone, "router", "unavailable")}
    assert listed(name=unique("nozone")) == set()
    # the names openstacksdk's query mapping uses (its proxy drops the query today)
    assert listed(availability_zone=zone, agent_type="network") == \
        {(zone, "network", "unavailable")}
    assert [z["name"] for z in demo.get("availability_zones", params={
        "name": zone, "fields": "name"}).json()["availability_zones"]] == [zone, zone]

    conn = live_cloud.sdk("stratus-demo")
    try:
        sdk = {(z.name, z.resource, z.state) for z in conn.network.availability_zones()}
        assert (zone, "router", "unavailable") in sdk and ("nova", "network", "available") in sdk
    finally:
        conn.close()

    rows = live_cloud.openstack("availability", "zone", "list", "--network", "--long",
                                cloud="stratus-demo")
    mine = {(r["Zone Name"], r["Zone Resource"], r["Zone Status"]) for r in rows}
    assert {(zone, "network", "not available"), ("nova", "router", "available")} <= mine


def test_network_hints(live_cloud, demo, down_zone):
    _, zone = down_zone
    conn = live_cloud.sdk("stratus-demo")
    made = []
    try:
        net = conn.network.create_network(name=unique("aznet"),
                                          availability_zone_hints=[zone, "nova"])
        made.append(net.id)
        assert net.availability_zone_hints == [zone, "nova"]
        assert net.availability_zones == []          # no port bound anywhere yet
        shown = conn.network.get_network(net.id)
        assert shown.availability_zone_hints == [zone, "nova"]
        cli = live_cloud.openstack("network", "create", "--availability-zone-hint", "nova",
                                   unique("aznet"), cloud="stratus-demo")
        made.append(cli["id"])
        assert cli["availability_zone_hints"] == ["nova"]
        # the demo project's private network carries router1's interface, on a host
        # of the default zone
        private = demo.get("networks", params={"name": "private"}).json()["networks"][0]
        assert private["availability_zones"] == ["nova"]
        assert private["availability_zone_hints"] == []

        missing = unique("nozone")
        err(demo.post("networks", json={"network": {"name": "x", "availability_zone_hints":
                                                    ["nova", missing]}}),
            404, "AvailabilityZoneNotFound", f"AvailabilityZone {missing} could not be found")
        err(demo.post("networks", json={"network": {"availability_zone_hints": "nova"}}),
            400, "HTTPBadRequest", "not a list")
        err(demo.post("networks", json={"network": {"availability_zone_hints":
                                                    ["nova", "nova"]}}),
            400, "HTTPBadRequest", "Duplicate items")
        err(demo.post("networks", json={"network": {"availability_zone_hints": [3]}}),
            400, "HTTPBadRequest", "not a valid string")
        err(demo.put(f"networks/{net.id}", json={"network": {
            "availability_zone_hints": ["nova"]}}), 400, "HTTPBadRequest",
            "availability_zone_hints")
        assert not demo.get("networks", params={"name": "x"}).json()["networks"]
    finally:
        for nid in made:
            conn.network.delete_network(nid)
        conn.close()


def test_router_hints_and_zones(live_cloud, demo, down_zone):
    _, zone = down_zone
    made = []
    try:
        r = demo.post("routers", json={"router": {"name": unique("azr"),
                                                   "availability_zone_hints": ["nova"]}})
        assert r.status_code == 201, r.text
        router = r.json()["router"]
        made.append(router["id"])
        assert router["availability_zone_hints"] == ["nova"]
        assert router["availability_zones"] == ["nova"]
        # the hinted zone has no live host: the router still gets one (a hint)
        cli = live_cloud.openstack("router", "create", "--availability-zone-hint", zone,
                                   unique("azr"), cloud="stratus-demo")
        made.append(cli["id"])
        assert cli["availability_zone_hints"] == [zone]
        shown = demo.get(f"routers/{cli['id']}").json()["router"]
        assert len(shown["availability_zones"]) == 1, shown   # where it really runs
        assert zone not in shown["availability_zones"], shown
        listed = demo.get("routers", params={"id": cli["id"]}).json()["routers"]
        assert listed[0]["availability_zone_hints"] == [zone]

        err(demo.put(f"routers/{router['id']}", json={"router": {
            "availability_zone_hints": [zone]}}), 400, "HTTPBadRequest",
            "availability_zone_hints")
        missing = unique("nozone")
        err(demo.post("routers", json={"router": {"availability_zone_hints": [missing]}}),
            404, "AvailabilityZoneNotFound", missing)
    finally:
        for rid in made:
            demo.delete(f"routers/{rid}")
