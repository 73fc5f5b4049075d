"""What a host agent advertises to the scheduler: ECUs (``[compute] ecu``, else
``ecu_per_cpu`` x CPUs), bandwidth, and supported instances."""
from __future__ import annotations

import pytest

from stratus.agent.service import advertised, supported_instances
from stratus.common.config import Config


def conf(**compute):
    return Config(overrides={"compute": compute})


@pytest.mark.parametrize("opts,vcpus,expected", [
    ({}, 8, {"ecu": 0, "bandwidth_mbps": 0}),                        # defaults: none
    ({"ecu_per_cpu": 2.5}, 8, {"ecu": 20, "bandwidth_mbps": 0}),
    ({"ecu_per_cpu": 2.5}, 3, {"ecu": 7, "bandwidth_mbps": 0}),      # rounded down
    ({"ecu_per_cpu": 2.5, "ecu": 5}, 8, {"ecu": 5, "bandwidth_mbps": 0}),   # absolute wins
    ({"bandwidth_mbps": 10000}, 8, {"ecu": 0, "bandwidth_mbps": 10000}),
    ({"ecu": -3, "bandwidth_mbps": -1}, 8, {"ecu": 0, "bandwidth_mbps": 0}),
])
def test_advertised(opts, vcpus, expected):
    assert advertised(conf(**opts), {"vcpus": vcpus}) == expected


def test_fake_driver_advertises_x86_64_qemu_hvm():
    from stratus.virt.fake.driver import FakeDriver
    assert supported_instances(FakeDriver().host_info()) == [["x86_64", "qemu", "hvm"]]
