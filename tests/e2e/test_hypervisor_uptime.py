"""``GET /compute/v2.1/os-hypervisors/{id}/uptime`` (Tempest's
test_get_hypervisor_uptime): the host agent of ``stratus up`` reports the
``uptime`` line in its registration stats and the compute API shows it, in
the shape Tempest's schema allows."""
from __future__ import annotations

import configparser
import re
import time

import httpx
import jsonschema

from conftest import Cloud, ok


def test_agent_reports_uptime(live_cloud: Cloud):
    from tempest.lib.api_schema.response.compute.v2_1 import hypervisors as schema
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(live_cloud.state_dir / "stratus.conf")
    host = cp.get("compute", "host")
    with httpx.Client(base_url=f"{live_cloud.base_url}/compute/v2.1/", trust_env=False,
                      timeout=30, headers={"X-Auth-Token": live_cloud.admin_token()}) as c:
        deadline = time.monotonic() + 30
        while True:   # the agent registers a moment after the API answers
            nodes = [h for h in ok(c.get("os-hypervisors"))["hypervisors"]
                     if h["hypervisor_hostname"] == host]
            if nodes or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert nodes, f"host {host} never registered"
        body = ok(c.get(f"os-hypervisors/{nodes[0]['id']}/uptime"))
    jsonschema.validate(body, schema.get_hypervisor_uptime["response_body"])
    uptime = body["hypervisor"]["uptime"]
    assert re.search(r"\d+:\d\d:\d\d up .*load average: [\d.]+, [\d.]+, [\d.]+$", uptime), uptime
    assert body["hypervisor"]["hypervisor_hostname"] == host
