"""Compute API microversions 2.2-2.11 on a live ``stratus up`` (fake
hypervisor): raw HTTP with ``OpenStack-API-Version: compute 2.N``, every body
checked against the schema Tempest uses at that version, and the 2.11
force-down through the real ``openstack`` CLI (after which the scheduler
refuses the host)."""
from __future__ import annotations

import datetime as dt

import httpx
import jsonschema
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tempest.lib.api_schema.response.compute.v2_1 import keypairs as kp21
from tempest.lib.api_schema.response.compute.v2_1 import servers as srv21
from tempest.lib.api_schema.response.compute.v2_1 import services as svc21
from tempest.lib.api_schema.response.compute.v2_2 import keypairs as kp22
from tempest.lib.api_schema.response.compute.v2_3 import servers as srv23
from tempest.lib.api_schema.response.compute.v2_9 import servers as srv29
from tempest.lib.api_schema.response.compute.v2_11 import services as svc211

from conftest import compute_client, unique, wait_for

pytestmark = pytest.mark.e2e

FAKE_CONF = """
[compute]
compute_driver = fake
agent_poll_interval = 0.2
report_interval = 2
"""


def mv(n: str) -> dict:
    return {"OpenStack-API-Version": f"compute {n}"}


def check(schema, r: httpx.Response):
    assert r.status_code in schema["status_code"], f"{r.status_code} {r.text[:500]}"
    if "response_body" in schema:
        jsonschema.validate(r.json(), schema["response_body"],
                            format_checker=jsonschema.FormatChecker())
        return r.json()
    return None


def nova_error(r: httpx.Response, status: int, *mentions: str) -> str:
    assert r.status_code == status, f"expected {status}: {r.status_code} {r.text[:500]}"
    (err,) = r.json().values()
    assert err["code"] == status, r.text
    for m in mentions:
        assert m.lower() in err["message"].lower(), f"{m!r} not in {err['message']!r}"
    return err["message"]



@pytest.fixture(scope="module")
def cloud(module_servers, tmp_path_factory):
    c = module_servers.start(extra_conf=FAKE_CONF)
    data = tmp_path_factory.mktemp("img") / "tiny.img"
    data.write_bytes(b"\0" * 65536)
    c.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                "--container-format", "bare", "--public", "mv-img")
    return c


@pytest.fixture(scope="module")
def admin(cloud):
    with compute_client(cloud, cloud.admin_token()) as c:
        yield c


@pytest.fixture(scope="module")
def demo(cloud):
    with compute_client(cloud, cloud.token("demo", cloud.demo_password, project="demo")) as c:
        yield c


@pytest.fixture(scope="module")
def user_ids(cloud):
    with cloud.admin_http() as http:
        users = {u["name"]: u["id"] for u in http.get("users").json()["users"]}
    return users


@pytest.fixture(scope="module")
def host(admin):
    """The cloud's own compute host, once its agent registered it."""
    services = wait_for(lambda: admin.get("os-services").json()["services"], 60,
                        "the compute host registered")
    return services[0]["host"]


@pytest.fixture(scope="module")
def server(cloud, demo, host):
    img = cloud.openstack("image", "show", "mv-img")["id"]
    net = cloud.openstack("network", "show", "private", cloud="stratus-demo")["id"]
    body = {"server": {"name": "mv-vm", "imageRef": img, "flavorRef": "1",
                       "networks": [{"uuid": net}], "user_data": "aGVsbG8="}}
    r = demo.post("servers", json=body)
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_for(lambda: demo.get(f"servers/{sid}").json()["server"]["status"] == "ACTIVE", 60,
             "server ACTIVE")
    return {"id": sid, "image": img, "network": net}


def self_signed_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "mv-test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# -- version document --------------------------------------------------------------
def test_version_document_advertises_2_11(cloud, admin):
    with httpx.Client(trust_env=False, timeout=30) as http:
        doc = http.get(f"{cloud.base_url}/compute/v2.1/").json()["version"]
    assert doc["version"] == "2.11" and doc["min_version"] == "2.1"
    r = admin.get("flavors", headers=mv("latest"))
    assert r.headers["OpenStack-API-Version"] == "compute 2.11"
    nova_error(admin.get("flavors", headers=mv("2.12")), 406)


# -- 2.2 key pair type, 201/204 ----------------------------------------------------
def test_keypairs_2_1_unchanged(demo):
    name = unique("kp21")
    body = check(kp21.create_keypair, demo.post("os-keypairs", json={"keypair": {"name": name}},
                                                headers=mv("2.1")))
    assert "type" not in body["keypair"] and body["keypair"]["private_key"]
    check(kp21.get_keypair, demo.get(f"os-keypairs/{name}", headers=mv("2.1")))
    check(kp21.list_keypairs, demo.get("os-keypairs", headers=mv("2.1")))
    nova_error(demo.post("os-keypairs", json={"keypair": {"name": unique("k"), "type": "ssh"}},
                         headers=mv("2.1")), 400, "type")
    check(kp21.delete_keypair, demo.delete(f"os-keypairs/{name}", headers=mv("2.1")))


def test_keypair_type_from_2_2(demo):
    name = unique("kp22")
    body = check(kp22.create_keypair, demo.post("os-keypairs", json={"keypair": {"name": name}},
                                                headers=mv("2.2")))["keypair"]
    assert body["type"] == "ssh" and body["private_key"]
    assert check(kp22.get_keypair, demo.get(f"os-keypairs/{name}", headers=mv("2.2"))
                 )["keypair"]["type"] == "ssh"
    listed = check(kp22.list_keypairs, demo.get("os-keypairs", headers=mv("2.2")))["keypairs"]
    assert {"ssh"} == {k["keypair"]["type"] for k in listed}
    # x509: an imported certificate (SHA1 fingerprint) and a generated one.
    pem = self_signed_pem()
    cert = x509.load_pem_x509_certificate(pem.encode())
    fp = ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))
    xname = unique("kpx")
    body = check(kp22.create_keypair, demo.post(
        "os-keypairs", json={"keypair": {"name": xname, "type": "x509", "public_key": pem}},
        headers=mv("2.2")))["keypair"]
    assert body["type"] == "x509" and body["fingerprint"] == fp and "private_key" not in body
    assert check(kp22.get_keypair, demo.get(f"os-keypairs/{xname}", headers=mv("2.2"))
                 )["keypair"]["type"] == "x509"
    gname = unique("kpxg")
    body = check(kp22.create_keypair, demo.post(
        "os-keypairs", json={"keypair": {"name": gname, "type": "x509"}},
        headers=mv("2.2")))["keypair"]
    assert "BEGIN CERTIFICATE" in body["public_key"] and "PRIVATE KEY" in body["private_key"]
    nova_error(demo.post("os-keypairs", json={"keypair": {
        "name": unique("k"), "type": "x509", "public_key": "ssh-rsa AAAA nope"}},
        headers=mv("2.2")), 400, "X509")
    nova_error(demo.post("os-keypairs", json={"keypair": {"name": unique("k"), "type": "rsa"}},
                         headers=mv("2.2")), 400, "type")
    for n in (name, xname, gname):
        check(kp22.delete_keypair, demo.delete(f"os-keypairs/{n}", headers=mv("2.2")))


# -- 2.10 key pairs of other users (admins) ------------------------------------------
def test_admin_manages_other_users_keypairs_from_2_10(admin, demo, user_ids):
    demo_id = user_ids["demo"]
    name = unique("kp210")
    body = check(kp22.create_keypair, admin.post(
        "os-keypairs", json={"keypair": {"name": name, "user_id": demo_id}},
        headers=mv("2.10")))["keypair"]
    assert body["user_id"] == demo_id
    # The key is the demo user's: they see it, the admin's own list does not.
    assert name in [k["keypair"]["name"] for k in demo.get("os-keypairs").json()["keypairs"]]
    assert name not in [k["keypair"]["name"]
                        for k in admin.get("os-keypairs", headers=mv("2.10")).json()["keypairs"]]
    listed = check(kp22.list_keypairs, admin.get("os-keypairs", params={"user_id": demo_id},
                                                 headers=mv("2.10")))["keypairs"]
    assert name in [k["keypair"]["name"] for k in listed]
    shown = check(kp22.get_keypair, admin.get(f"os-keypairs/{name}", params={"user_id": demo_id},
                                              headers=mv("2.10")))["keypair"]
    assert shown["user_id"] == demo_id
    # Below 2.10 the parameter means nothing (the admin's own key pairs).
    nova_error(admin.get(f"os-keypairs/{name}", params={"user_id": demo_id},
                         headers=mv("2.9")), 404)
    nova_error(admin.post("os-keypairs", json={"keypair": {"name": unique("k"),
                                                           "user_id": demo_id}},
                          headers=mv("2.9")), 400, "user_id")
    # A non-admin may not touch another user's key pairs.
    nova_error(demo.get("os-keypairs", params={"user_id": user_ids["admin"]},
                        headers=mv("2.10")), 403)
    nova_error(demo.post("os-keypairs", json={"keypair": {"name": unique("k"),
                                                          "user_id": user_ids["admin"]}},
                         headers=mv("2.10")), 403)
    check(kp22.delete_keypair, admin.delete(f"os-keypairs/{name}", params={"user_id": demo_id},
                                            headers=mv("2.10")))
    nova_error(demo.get(f"os-keypairs/{name}"), 404)


# -- 2.3 extended attributes, 2.9 locked ------------------------------------------------
EXT_23 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
          "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id",
          "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:root_device_name",
          "OS-EXT-SRV-ATTR:user_data"}


def test_extended_attributes_for_admins_from_2_3(admin, demo, server):
    sid = server["id"]
    old = check(srv21.get_server, admin.get(f"servers/{sid}", headers=mv("2.2")))["server"]
    assert not EXT_23 & set(old) and "locked" not in old
    body = check(srv23.get_server, admin.get(f"servers/{sid}", headers=mv("2.3")))["server"]
    assert EXT_23 <= set(body)
    assert body["OS-EXT-SRV-ATTR:user_data"] == "aGVsbG8="
    assert body["OS-EXT-SRV-ATTR:hostname"] == "mv-vm"
    assert body["OS-EXT-SRV-ATTR:launch_index"] == 0
    assert body["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    assert body["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    listed = check(srv23.list_servers_detail, admin.get(
        "servers/detail", params={"all_tenants": "1"}, headers=mv("2.3")))["servers"]
    assert sid in [s["id"] for s in listed] and all(EXT_23 <= set(s) for s in listed)
    mine = check(srv23.get_server, demo.get(f"servers/{sid}", headers=mv("2.3")))["server"]
    assert not any(k.startswith("OS-EXT-SRV-ATTR") for k in mine)


def test_locked_from_2_9(admin, demo, server):
    sid = server["id"]
    assert "locked" not in check(srv23.get_server, demo.get(f"servers/{sid}",
                                                            headers=mv("2.8")))["server"]
    assert check(srv29.get_server, demo.get(f"servers/{sid}", headers=mv("2.9"))
                 )["server"]["locked"] is False
    assert demo.post(f"servers/{sid}/action", json={"lock": None}).status_code == 202
    try:
        assert check(srv29.get_server, demo.get(f"servers/{sid}", headers=mv("2.9"))
                     )["server"]["locked"] is True
        listed = check(srv29.list_servers_detail, demo.get("servers/detail", headers=mv("2.9")))
        assert [s["locked"] for s in listed["servers"] if s["id"] == sid] == [True]
        upd = check(srv29.update_server, admin.put(f"servers/{sid}", json={"server": {
            "name": "mv-vm"}}, headers=mv("2.9")))["server"]
        assert upd["locked"] is True
        upd = check(srv21.update_server, admin.put(f"servers/{sid}", json={"server": {
            "name": "mv-vm"}}, headers=mv("2.8")))["server"]
        assert "locked" not in upd
    finally:
        assert demo.post(f"servers/{sid}/action", json={"unlock": None}).status_code == 202


# -- 2.5 ip6 filter ------------------------------------------------------------------
def test_ip6_filter(admin, demo, server):
    sid = server["id"]

    def ids(c, version, **params):
        r = c.get("servers", params=params, headers=mv(version))
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["servers"]]
    # Non-admins: ignored below 2.5, a filter from 2.5 (IPv4 only here: nothing matches).
    assert sid in ids(demo, "2.4", ip6=".")
    assert sid not in ids(demo, "2.5", ip6=".")
    assert sid not in ids(admin, "2.1", ip6=".", all_tenants="1")
    assert sid in ids(admin, "2.5", ip=".", ip6=".", all_tenants="1")


# -- 2.6 / 2.8 remote consoles -------------------------------------------------------
def test_remote_consoles(demo, server):
    url = f"servers/{server['id']}/remote-consoles"

    def post(version, protocol, type_):
        return demo.post(url, json={"remote_console": {"protocol": protocol, "type": type_}},
                         headers=mv(version))
    nova_error(post("2.5", "vnc", "novnc"), 404)
    nova_error(post("2.6", "vnc", "novnc"), 400, "Unavailable console type novnc.")
    nova_error(post("2.6", "serial", "serial"), 400, "Unavailable console type serial.")
    nova_error(post("2.6", "mks", "webmks"), 400, "protocol")
    nova_error(post("2.6", "vnc", "bogus"), 400, "type")
    nova_error(post("2.8", "mks", "webmks"), 400, "Unavailable console type webmks.")
    nova_error(post("2.8", "telnet", "novnc"), 400, "protocol")
    nova_error(demo.post(url, json={"remote_console": {"protocol": "vnc"}}, headers=mv("2.8")),
               400, "type")
    nova_error(demo.post("servers/00000000-0000-0000-0000-000000000000/remote-consoles",
                         json={"remote_console": {"protocol": "vnc", "type": "novnc"}},
                         headers=mv("2.6")), 404)


# -- 2.7 flavor access to a public flavor ----------------------------------------------
def test_flavor_access_to_public_flavor_conflicts_from_2_7(cloud, admin):
    demo_project = cloud.openstack("project", "show", "demo")["id"]
    name = unique("pub")
    cloud.openstack("flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1",
                    "--public", name)
    fid = cloud.openstack("flavor", "show", name)["id"]
    try:
        body = {"addTenantAccess": {"tenant": demo_project}}
        nova_error(admin.post(f"flavors/{fid}/action", json=body, headers=mv("2.7")), 409,
                   "public flavor")
        # Before 2.7 nova records the access (it has no effect on a public flavor).
        r = admin.post(f"flavors/{fid}/action", json=body, headers=mv("2.6"))
        assert r.status_code == 200, r.text
        assert r.json()["flavor_access"] == [{"flavor_id": fid, "tenant_id": demo_project}]
    finally:
        cloud.openstack("flavor", "delete", name, json_out=False)


# -- 2.11 forced_down ------------------------------------------------------------------
def test_force_down_with_the_cli_and_the_scheduler_refuses_the_host(cloud, admin, demo,
                                                                     server, host):
    listed = check(svc211.list_services, admin.get("os-services", headers=mv("2.11")))
    assert [s["forced_down"] for s in listed["services"] if s["host"] == host] == [False]
    old = check(svc21.list_services, admin.get("os-services", headers=mv("2.10")))
    assert "forced_down" not in old["services"][0]
    body = {"host": host, "binary": "nova-compute", "forced_down": True}
    nova_error(admin.put("os-services/force-down", json=body, headers=mv("2.10")), 404)
    nova_error(demo.put("os-services/force-down", json=body, headers=mv("2.11")), 403)
    nova_error(admin.put("os-services/force-down", json={"host": host, "binary": "nova-compute"},
                         headers=mv("2.11")), 400, "forced_down")
    nova_error(admin.put("os-services/force-down", json={**body, "forced_down": "maybe"},
                         headers=mv("2.11")), 400, "forced_down")
    nova_error(admin.put("os-services/force-down", json={**body, "host": "nohost"},
                         headers=mv("2.11")), 404)

    cloud.openstack("--os-compute-api-version", "2.11", "compute", "service", "set", "--down",
                    host, "nova-compute", json_out=False)
    try:
        listed = check(svc211.list_services, admin.get("os-services", headers=mv("2.11")))
        (svc,) = [s for s in listed["services"] if s["host"] == host]
        assert svc["forced_down"] is True and svc["state"] == "down"
        cli = cloud.openstack("--os-compute-api-version", "2.11", "compute", "service", "list")
        assert [s["State"] for s in cli if s["Host"] == host] == ["down"]
        # Stays down though the agent keeps reporting.
        r = admin.get("os-services", headers=mv("2.11"))
        assert [s["state"] for s in r.json()["services"] if s["host"] == host] == ["down"]
        # The scheduler refuses the (only) host.
        r = demo.post("servers", json={"server": {
            "name": "mv-nohost", "imageRef": server["image"], "flavorRef": "1",
            "networks": [{"uuid": server["network"]}]}})
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        shown = wait_for(lambda: (lambda b: b if b["status"] == "ERROR" else None)(
            demo.get(f"servers/{sid}").json()["server"]), 30, "ERROR")
        assert shown["fault"]["message"].startswith("No valid host was found"), shown["fault"]
        assert demo.delete(f"servers/{sid}").status_code == 204
        r = check(svc211.update_forced_down, admin.put(
            "os-services/force-down", json={**body, "forced_down": False}, headers=mv("2.11")))
        assert r == {"service": {"host": host, "binary": "nova-compute", "forced_down": False}}
    finally:
        cloud.openstack("--os-compute-api-version", "2.11", "compute", "service", "set", "--up",
                        host, "nova-compute", json_out=False)
    listed = check(svc211.list_services, admin.get("os-services", headers=mv("2.11")))
    (svc,) = [s for s in listed["services"] if s["host"] == host]
    assert svc["forced_down"] is False
    wait_for(lambda: [s["state"] for s in admin.get("os-services").json()["services"]
                      if s["host"] == host] == ["up"], 15, "host up again")
