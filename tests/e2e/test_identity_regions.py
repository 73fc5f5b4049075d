"""A second region sharing this identity service: the catalog lists the
identity endpoints of every region, the clouds.yaml written at start offers
every region, and `--os-region-name` picks one."""
from __future__ import annotations

import pytest
import yaml

from conftest import Cloud, unique

pytestmark = pytest.mark.e2e


def test_second_region_shares_identity(private_cloud: Cloud):
    cloud = private_cloud
    region = unique("Region")
    with cloud.admin_http() as http:
        assert http.post("/regions", json={"region": {"id": region}}).status_code == 201
        svc = http.get("/services", params={"type": "identity"}).json()["services"]
        assert svc, "the bootstrap registered no identity service"
        for interface in ("public", "internal", "admin"):
            r = http.post("/endpoints", json={"endpoint": {
                "service_id": svc[0]["id"], "interface": interface,
                "url": f"{cloud.base_url}/identity", "region_id": region}})
            assert r.status_code == 201, r.text
    # The catalog advertises the identity service in both regions.
    with cloud.http(cloud.admin_token(fresh=True)) as http:
        entry = [e for e in http.get("/auth/catalog").json()["catalog"]
                 if e["type"] == "identity"][0]
    assert {ep["region_id"] for ep in entry["endpoints"]} == {"RegionOne", region}

    # A restart writes clouds.yaml with every region, its own first.
    cloud.server.restart()
    doc = yaml.safe_load(cloud.clouds_yaml.read_text())
    assert doc["clouds"]["stratus"]["regions"] == ["RegionOne", region]

    projects = cloud.openstack("--os-region-name", region, "project", "list")
    assert "admin" in [p["Name"] for p in projects]
    assert cloud.openstack("project", "list")  # the default region still works
    cp = cloud.openstack("--os-region-name", "NoSuchRegion", "project", "list",
                         check=False, json_out=False)
    assert cp.returncode != 0 and "NoSuchRegion" in cp.stderr
