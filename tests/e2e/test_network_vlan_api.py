"""VLAN provider networks through the Network API, as ML2's type_vlan: the
`openstack` CLI makes one, bad requests are 400 NeutronErrors naming the
problem, a VLAN id in use is 409 (never a 500).  The server runs with the
default ``[network] network_vlan_ranges = physnet1`` (provider-only: no
tenant range, so an id is required)."""
from __future__ import annotations

import random

import pytest

from conftest import network_client as neutron, unique
from test_network_api import assert_neutron_error

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin(live_cloud):
    with neutron(live_cloud, live_cloud.admin_token()) as c:
        yield c


def test_cli_vlan_provider_network_and_its_errors(live_cloud, admin):
    vid = random.randint(2000, 4094)
    name = unique("vlan")
    net = live_cloud.openstack("network", "create", "--provider-network-type", "vlan",
                               "--provider-physical-network", "physnet1",
                               "--provider-segment", str(vid), name)
    try:
        assert (net["provider:network_type"], net["provider:physical_network"],
                net["provider:segmentation_id"], net["mtu"]) == ("vlan", "physnet1", vid, 1500)

        def post(**provider):
            body = {"name": unique("bad"), **{f"provider:{k}": v for k, v in provider.items()}}
            return admin.post("networks", json={"network": body})
        assert_neutron_error(post(network_type="vlan", physical_network="physnet1",
                                  segmentation_id=vid), 409, None, f"VLAN {vid}", "in use")
        assert_neutron_error(post(network_type="vlan", physical_network="physnet1",
                                  segmentation_id=4095), 400, "InvalidInput", "out of range")
        assert_neutron_error(post(network_type="vlan", physical_network="nope",
                                  segmentation_id=5), 400, "InvalidInput", "'nope' unknown")
        assert_neutron_error(post(network_type="vlan", segmentation_id=5), 400,
                             "InvalidInput", "requires physical_network")
        assert_neutron_error(post(network_type="vlan", physical_network="physnet1"), 400,
                             "InvalidInput", "requires segmentation_id")
        r = admin.post("networks", json={"network": {
            "name": unique("bad"), "provider:network_type": "vlan", "mtu": 1501,
            "provider:physical_network": "physnet1", "provider:segmentation_id": 1 + vid % 1000}})
        assert_neutron_error(r, 400, "InvalidInput", "1500")
    finally:
        live_cloud.openstack("network", "delete", net["id"], json_out=False)
