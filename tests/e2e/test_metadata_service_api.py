"""The metadata service of a live ``stratus up`` (fake hypervisor): it
listens on ``<state_path>/metadata.sock`` (mode 0600), not on the API port,
and answers the host proxy's requests (X-Forwarded-For + X-Neutron-Network-ID)
with the asking instance's own documents only: user data and keys as given
at boot, an unknown IP or another network is a 404."""
from __future__ import annotations

import base64
import json
import os
import stat

import httpx
import pytest

from conftest import compute_client, unique, wait_for

pytestmark = pytest.mark.e2e
FAKE_CONF = """
[compute]
compute_driver = fake
host = mdhost1
agent_poll_interval = 0.2
"""


@pytest.fixture(scope="module")
def cloud(module_servers, tmp_path_factory):
    c = module_servers.start(extra_conf=FAKE_CONF)
    data = tmp_path_factory.mktemp("img") / "tiny.img"
    data.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                "--container-format", "bare", "--public", "md-img")
    return c


@pytest.fixture(scope="module")
def servers(cloud):
    demo = compute_client(cloud, cloud.token("demo", cloud.demo_password, project="demo"))
    img = cloud.openstack("image", "show", "md-img")["id"]
    net = cloud.openstack("network", "show", "private", cloud="stratus-demo")["id"]
    kp = demo.post("os-keypairs", json={"keypair": {"name": "mdkey"}})   # nova generates it
    assert kp.status_code == 200, kp.text
    key = kp.json()["keypair"]["public_key"]
    out = {}
    for name, extra in (("md-a", {"key_name": "mdkey",
                                  "user_data": base64.b64encode(b"#!/bin/sh\necho A\n")
                                  .decode()}),
                        ("md-b", {"metadata": {"role": "b"}})):
        body = {"server": {"name": name, "imageRef": img, "flavorRef": "1",
                           "networks": [{"uuid": net}], **extra}}
        r = demo.post("servers", json=body)
        assert r.status_code == 202, r.text
        out[name] = r.json()["server"]["id"]
    admin = httpx.Client(base_url=f"{cloud.base_url}/network/v2.0/", trust_env=False,
                         headers={"X-Auth-Token": cloud.admin_token()}, timeout=30)

    def ips():
        found = {}
        for name, sid in out.items():
            ports = admin.get("ports", params={"device_id": sid}).json()["ports"]
            if ports and ports[0]["fixed_ips"]:
                found[name] = ports[0]["fixed_ips"][0]["ip_address"]
        return found if len(found) == len(out) else None
    wait_for(ips, 60, "ports with addresses")
    yield {"ids": out, "ips": ips(), "net": net, "key": key}
    for sid in out.values():
        demo.delete(f"servers/{sid}")
    demo.delete("os-keypairs/mdkey")
    demo.close()
    admin.close()


def md(cloud, path, ip, net):
    sock = os.path.join(cloud.state_dir, "metadata.sock")
    with httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://metadata",
                      trust_env=False, timeout=10) as c:
        return c.get(path, headers={"X-Forwarded-For": ip, "X-Neutron-Network-ID": net})


def test_socket_is_private_and_not_on_the_api_port(cloud):
    sock = os.path.join(cloud.state_dir, "metadata.sock")
    mode = os.stat(sock).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    r = httpx.get(f"{cloud.base_url}/openstack/latest/meta_data.json", trust_env=False,
                  headers={"X-Forwarded-For": "10.0.0.5"})
    assert r.status_code == 404 and "uuid" not in r.text


def test_each_instance_reads_its_own_documents(cloud, servers):
    ids, ips, net = servers["ids"], servers["ips"], servers["net"]
    a = md(cloud, "/openstack/latest/meta_data.json", ips["md-a"], net)
    assert a.status_code == 200, a.text
    doc = a.json()
    assert doc["uuid"] == ids["md-a"] and doc["name"] == "md-a"
    assert doc["public_keys"] == {"mdkey": servers["key"]}
    assert md(cloud, "/openstack/latest/user_data", ips["md-a"], net).content == \
        b"#!/bin/sh\necho A\n"
    b = md(cloud, "/openstack/latest/meta_data.json", ips["md-b"], net).json()
    assert b["uuid"] == ids["md-b"] and b["meta"] == {"role": "b"} and "public_keys" not in b
    assert md(cloud, "/openstack/latest/user_data", ips["md-b"], net).status_code == 404
    nd = json.loads(md(cloud, "/openstack/latest/network_data.json", ips["md-a"], net).text)
    assert nd["networks"][0]["network_id"] == net
    assert md(cloud, "/latest/meta-data/local-ipv4", ips["md-b"], net).text == ips["md-b"]
    assert md(cloud, "/latest/meta-data/public-keys/0/openssh-key", ips["md-a"],
              net).text == servers["key"]


def test_unknown_ip_and_other_network_are_404(cloud, servers):
    ips, net = servers["ips"], servers["net"]
    assert md(cloud, "/openstack/latest/meta_data.json", "10.255.255.1", net).status_code == 404
    other = "00000000-0000-4000-8000-000000000000"
    assert md(cloud, "/openstack/latest/meta_data.json", ips["md-a"], other).status_code == 404
