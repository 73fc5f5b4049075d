"""The metadata service: caller identification (network + fixed IP, or a
signed instance id), each instance sees only its own documents, nova's
document tree (OpenStack and EC2), and the proxy's header rewrite."""
from __future__ import annotations

import json

import pytest

from metadata_db import instance, network
from stratus.db.base import Base, Database
from stratus.metadata import documents, proxy, service

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtQ== me@x"


@pytest.fixture
def cloud(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/m.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        net1, sub1 = network(s, "10.9.0.0/24")
        net2, sub2 = network(s, "10.9.0.0/24")    # same CIDR, another network
        a = instance(s, net1, sub1, "10.9.0.5", name="alpha", key=KEY,
                     user_data=b"#!/bin/sh\necho hi\n", meta={"role": "db"})
        b = instance(s, net2, sub2, "10.9.0.5", name="beta", project="p2")
    yield {"db": db, "net1": net1, "net2": net2, "a": a, "b": b}
    db.dispose()


def get(c, path, ip="10.9.0.5", net=None, **headers):
    h = {"x-forwarded-for": ip, "x-neutron-network-id": net or c["net1"], **headers}
    return service.answer(c["db"], h, path, secret=headers.pop("secret", "s3cret"))


def test_each_instance_gets_its_own_meta_data_by_network_and_ip(cloud):
    st, ctype, body = get(cloud, "/openstack/latest/meta_data.json")
    doc = json.loads(body)
    assert (st, ctype) == (200, "application/json")
    assert doc["uuid"] == cloud["a"] and doc["name"] == "alpha" and doc["hostname"] == "alpha"
    assert doc["public_keys"] == {"k1": KEY} and doc["meta"] == {"role": "db"}
    assert doc["keys"] == [{"name": "k1", "type": "ssh", "data": KEY}]
    assert doc["availability_zone"] == "nova" and doc["project_id"] == "p1"
    assert "random_seed" in doc
    st, _, body = get(cloud, "/openstack/latest/meta_data.json", net=cloud["net2"])
    assert st == 200 and json.loads(body)["uuid"] == cloud["b"]   # same IP, other network


def test_unknown_ip_or_network_or_missing_headers_is_404(cloud):
    assert get(cloud, "/openstack/latest/meta_data.json", ip="10.9.0.6")[0] == 404
    assert get(cloud, "/openstack/latest/meta_data.json", net="nope")[0] == 404
    assert service.answer(cloud["db"], {}, "/openstack")[0] == 404


def test_user_data_network_data_and_listings(cloud):
    assert get(cloud, "/openstack/latest/user_data")[1:] == ("application/octet-stream",
                                                             b"#!/bin/sh\necho hi\n")
    listing = get(cloud, "/openstack/latest/")[2].decode().split("\n")
    assert listing == ["meta_data.json", "network_data.json", "password", "user_data",
                       "vendor_data.json", "vendor_data2.json"]
    old = get(cloud, "/openstack/2012-08-10")[2].decode().split("\n")
    assert "network_data.json" not in old and "meta_data.json" in old
    nd = json.loads(get(cloud, "/openstack/latest/network_data.json")[2])
    assert nd["links"][0]["ethernet_mac_address"] == "fa:16:3e:00:00:05"
    assert nd["networks"][0]["network_id"] == cloud["net1"]
    versions = get(cloud, "/openstack")[2].decode().split("\n")
    assert versions[0] == "2012-08-10" and versions[-1] == "latest"
    assert get(cloud, "/openstack/1999-01-01/meta_data.json")[0] == 404
    assert get(cloud, "/openstack/latest/nothing")[0] == 404
    # beta has no user data: 404, as nova
    assert get(cloud, "/openstack/latest/user_data", net=cloud["net2"])[0] == 404


def test_ec2_tree(cloud):
    assert get(cloud, "/")[2].decode().split("\n")[-1] == "latest"
    assert get(cloud, "/latest")[2] == b"meta-data/\nuser-data"
    md = get(cloud, "/latest/meta-data/")[2].decode().split("\n")
    for item in ("hostname", "instance-id", "local-ipv4", "public-keys/", "placement/",
                 "security-groups", "instance-type"):
        assert item in md
    assert get(cloud, "/latest/meta-data/local-ipv4")[2] == b"10.9.0.5"
    assert get(cloud, "/latest/meta-data/hostname")[2] == b"alpha"
    assert get(cloud, "/latest/meta-data/instance-type")[2] == b"m1.tiny"
    assert get(cloud, "/latest/meta-data/security-groups")[2] == b"web"
    assert get(cloud, "/latest/meta-data/instance-id")[2].startswith(b"i-")
    assert get(cloud, "/latest/meta-data/public-keys")[2] == b"0=k1"
    assert get(cloud, "/latest/meta-data/public-keys/0/")[2] == b"openssh-key"
    assert get(cloud, "/latest/meta-data/public-keys/0/openssh-key")[2] == KEY.encode()
    assert get(cloud, "/latest/meta-data/placement/availability-zone")[2] == b"nova"
    assert get(cloud, "/latest/user-data")[2] == b"#!/bin/sh\necho hi\n"
    assert get(cloud, "/2009-04-04/meta-data/hostname")[2] == b"alpha"
    assert get(cloud, "/latest/meta-data/nope")[0] == 404
    assert get(cloud, "/latest/meta-data/public-keys/0/_name")[0] == 404
    assert get(cloud, "/latest/meta-data/public-keys", net=cloud["net2"])[0] == 404


def test_signed_instance_id(cloud):
    good = service.sign("s3cret", cloud["b"])
    h = {"x-instance-id": cloud["b"], "x-instance-id-signature": good,
         "x-forwarded-for": "10.9.0.5"}
    st, _, body = service.answer(cloud["db"], h, "/openstack/latest/meta_data.json",
                                 secret="s3cret")
    assert st == 200 and json.loads(body)["uuid"] == cloud["b"]
    bad = {**h, "x-instance-id-signature": service.sign("other", cloud["b"])}
    assert service.answer(cloud["db"], bad, "/openstack", secret="s3cret")[0] == 404
    # no secret configured: signed requests are refused
    assert service.answer(cloud["db"], h, "/openstack", secret="")[0] == 404
    # a signature is required on a listener that demands one (the TCP form)
    plain = {"x-forwarded-for": "10.9.0.5", "x-neutron-network-id": cloud["net1"]}
    assert service.answer(cloud["db"], plain, "/openstack", secret="s3cret",
                          require_signature=True)[0] == 404


def test_meta_data_equals_the_config_drive_document():
    inst = {"uuid": "u", "name": "n", "hostname": "h", "key_name": "k", "key_data": KEY,
            "user_data": None, "metadata": {"a": "b"}, "availability_zone": "az",
            "project_id": "p", "ports": []}
    from stratus.agent.compute import config_drive_meta
    from stratus.virt import configdrive
    seed = b"x" * 16
    md = documents.InstanceMetadata(inst, fixed_ip="1.2.3.4", random_seed=seed)
    drive = config_drive_meta(inst)
    drive.pop("user_data_b64")
    tree = configdrive.config_drive_tree(**drive, random_seed=seed)
    assert json.loads(tree["openstack/latest/meta_data.json"]) == md.meta_data()
    assert json.loads(tree["openstack/latest/network_data.json"]) == md.network_data()


def test_proxy_rewrite_drops_spoofed_identity_headers():
    head = (b"GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: x\r\n"
            b"X-Forwarded-For: 10.9.0.99\r\nx-neutron-network-id: other\r\n"
            b"X-Instance-ID: victim\r\nX-Instance-ID-Signature: abc\r\nAccept: */*")
    out = proxy.rewrite_head(head, "10.9.0.5", "net1").decode().split("\r\n")
    assert out[0] == "GET /openstack/latest/meta_data.json HTTP/1.0"
    lower = [ln.lower() for ln in out]
    assert "x-forwarded-for: 10.9.0.5" in lower and "x-neutron-network-id: net1" in lower
    assert not any("10.9.0.99" in ln or "victim" in ln or ln.startswith("x-instance-id")
                   or ln.endswith(": other") for ln in lower)
    assert "Accept: */*" in out
    assert proxy.rewrite_head(b"POST / HTTP/1.1\r\nHost: x", "1.1.1.1", "n") is None
    assert proxy.rewrite_head(b"garbage", "1.1.1.1", "n") is None


def test_proxy_wants_a_listener_per_dhcp_namespace():
    state = {"networks": [{"id": "n1" * 8}, {"id": "n2" * 8}],
             "ports": [{"network_id": "n1" * 8, "device_owner": "network:dhcp",
                        "fixed_ips": [{"ip_address": "10.0.0.2"}]},
                       {"network_id": "n2" * 8, "device_owner": "compute:nova",
                        "fixed_ips": [{"ip_address": "10.0.0.3"}]}]}
    assert proxy.wanted(state, "shost-h1") == {"qdhcp-n1n1n1n1-h1": "n1" * 8}
