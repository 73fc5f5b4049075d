"""ECU- and bandwidth-aware scheduling through openstacksdk, on a live
``stratus up --no-agent`` with three fake-driver host agents (``stratus
agent`` processes) that advertise different ECUs and bandwidth, one of them
only through its aggregate's ``bandwidth_mbps`` metadata:

    host     [compute] config                 bandwidth        ECU
    bw-a     bandwidth_mbps=1000, ecu=16      1000 Mbit/s      16
    bw-b     bandwidth_mbps=300, ecu_per_cpu  300 Mbit/s       32 (64 fake CPUs x 0.5)
    bw-c     ecu=16, aggregate metadata       500 Mbit/s       16

With EcuFilter, BandwidthFilter and ImagePropertiesFilter enabled, a flavor
asking ``stratus:bandwidth_mbps=400`` fits twice on bw-a and once on bw-c,
never on bw-b; the claims add up (read back from the database), deleting a
server frees its share, and a server no host has room for goes to ERROR
with a fault naming BandwidthFilter.  Bad extra-spec values are 400s."""
from __future__ import annotations

import configparser
import signal
import sqlite3
import subprocess

import openstack.exceptions
import pytest

from conftest import STRATUS, assert_error, clean_env, unique, wait_for

CONF = """
[compute]
compute_driver = fake
agent_poll_interval = 0.2
report_interval = 2
resync_interval = 5
[filter_scheduler]
enabled_filters = ComputeFilter, RamFilter, EcuFilter, BandwidthFilter, ImagePropertiesFilter
"""
HOSTS = {"bw-a": {"bandwidth_mbps": "1000", "ecu": "16"},
         "bw-b": {"bandwidth_mbps": "300", "ecu_per_cpu": "0.5"},
         "bw-c": {"ecu": "16"}}


def start_agent(cloud, host: str, options: dict) -> subprocess.Popen:
    """A fake-driver agent for ``host`` with its own [compute] options."""
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(cloud.state_dir / "stratus.conf")
    for key, value in options.items():
        cp.set("compute", key, value)
    path = cloud.state_dir / f"{host}.conf"
    with open(path, "w") as f:
        cp.write(f)
    with open(cloud.state_dir / f"{host}.out", "ab") as out:
        return subprocess.Popen(
            [STRATUS, "--config", str(path), "agent", "--host", host,
             "--state-dir", str(cloud.state_dir), "--endpoint", cloud.base_url],
            stdout=out, stderr=subprocess.STDOUT, env=clean_env(), cwd=cloud.state_dir,
            start_new_session=True)


def stop_agent(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def setup(module_servers, tmp_path_factory):
    cloud = module_servers.start(extra_conf=CONF, extra_args=("--no-agent",))
    agents = [start_agent(cloud, h, o) for h, o in HOSTS.items()]
    try:
        data = tmp_path_factory.mktemp("img") / "bw.img"
        data.write_bytes(b"\0" * 65536 + b"bandwidth image")
        cloud.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                        "--container-format", "bare", "--public", "bw-img")
        cloud.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                        "--container-format", "bare", "--public",
                        "--property", "architecture=aarch64", "arm-img")
        admin = cloud.sdk("stratus")
        wait_for(lambda: {h.name for h in admin.compute.hypervisors()} >= set(HOSTS),
                 30, "three fake hosts registered")
        agg = admin.compute.create_aggregate(name=unique("fastnet"))
        admin.compute.add_host_to_aggregate(agg, "bw-c")
        admin.compute.set_aggregate_metadata(agg, {"bandwidth_mbps": "500"})
        flavor = admin.compute.create_flavor(name="bw.400", ram=64, vcpus=1, disk=0)
        admin.compute.create_flavor_extra_specs(flavor, {"stratus:bandwidth_mbps": "400",
                                                         "stratus:ecu": "4"})
        heavy = admin.compute.create_flavor(name="ecu.20", ram=64, vcpus=1, disk=0)
        admin.compute.create_flavor_extra_specs(heavy, {"stratus:ecu": "20"})
        yield cloud, admin, cloud.sdk("stratus-demo")
    finally:
        for proc in agents:
            stop_agent(proc)


def usage(cloud) -> dict[str, tuple[int, int, int, int]]:
    """host -> (ecu, ecu_used, bandwidth_mbps, bandwidth_kbps_used), read-only."""
    db = sqlite3.connect(f"file:{cloud.state_dir / 'stratus.sqlite'}?mode=ro", uri=True)
    try:
        return {h: (e, eu, b, bu) for h, e, eu, b, bu in db.execute(
            "SELECT host, ecu, ecu_used, bandwidth_mbps, bandwidth_kbps_used FROM compute_node")}
    finally:
        db.close()


def boot(demo, name, flavor, image="bw-img", wait=True):
    net = demo.network.find_network("private")
    server = demo.compute.create_server(
        name=name, flavor_id=demo.compute.find_flavor(flavor).id,
        image_id=demo.image.find_image(image).id, networks=[{"uuid": net.id}])
    if wait:
        server = demo.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"],
                                              wait=60)
    return server


def wait_error(demo, server):
    return demo.compute.wait_for_server(server, status="ERROR", failures=["ACTIVE"], wait=60)


def host_of(admin, server) -> str:
    return admin.compute.get_server(server.id).compute_host


def test_agents_advertise_ecu_and_bandwidth(setup):
    cloud, _, _ = setup
    u = usage(cloud)
    assert (u["bw-a"][0], u["bw-a"][2]) == (16, 1000)
    assert (u["bw-b"][0], u["bw-b"][2]) == (32, 300)          # 64 fake CPUs x 0.5
    assert (u["bw-c"][0], u["bw-c"][2]) == (16, 0)            # bandwidth from its aggregate


def test_bandwidth_flavor_lands_only_where_there_is_room(setup):
    cloud, admin, demo = setup
    servers = [boot(demo, unique("bw"), "bw.400") for _ in range(3)]
    try:
        hosts = sorted(host_of(admin, s) for s in servers)
        assert hosts == ["bw-a", "bw-a", "bw-c"], hosts
        u = usage(cloud)
        assert (u["bw-a"][1], u["bw-a"][3]) == (8, 800_000)
        assert (u["bw-c"][1], u["bw-c"][3]) == (4, 400_000)
        assert (u["bw-b"][1], u["bw-b"][3]) == (0, 0)

        # No host has 400 Mbit/s left: ERROR, and the fault names the filter.
        full = wait_error(demo, boot(demo, unique("bw-full"), "bw.400", wait=False))
        assert full.fault["message"].startswith(
            "No valid host was found. BandwidthFilter removed the last"), full.fault
        assert "400 Mbit/s" in full.fault["message"]
        demo.compute.delete_server(full)

        # Deleting a server frees its share: the next one fits where it was.
        freed = next(s for s in servers if host_of(admin, s) == "bw-c")
        demo.compute.delete_server(freed)
        demo.compute.wait_for_delete(freed, wait=60)
        servers.remove(freed)
        assert usage(cloud)["bw-c"][1:4:2] == (0, 0)
        again = boot(demo, unique("bw-again"), "bw.400")
        servers.append(again)
        assert host_of(admin, again) == "bw-c"
    finally:
        for s in servers:
            demo.compute.delete_server(s, ignore_missing=True)
        for s in servers:
            demo.compute.wait_for_delete(s, wait=60)
    u = usage(cloud)
    assert all(v[1] == 0 and v[3] == 0 for v in u.values()), u


def test_ecu_flavor_and_ecu_fault(setup):
    _, admin, demo = setup
    first = boot(demo, unique("ecu"), "ecu.20")
    try:
        assert host_of(admin, first) == "bw-b"                  # the only host with 20 ECUs
        second = wait_error(demo, boot(demo, unique("ecu-full"), "ecu.20", wait=False))
        assert second.fault["message"].startswith(
            "No valid host was found. EcuFilter removed the last"), second.fault
        demo.compute.delete_server(second)
    finally:
        demo.compute.delete_server(first)
        demo.compute.wait_for_delete(first, wait=60)


def test_image_architecture_is_honoured(setup):
    _, _, demo = setup
    server = wait_error(demo, boot(demo, unique("arm"), "m1.tiny", image="arm-img",
                                   wait=False))
    try:
        assert "ImagePropertiesFilter" in server.fault["message"], server.fault
        assert "architecture=aarch64" in server.fault["message"]
    finally:
        demo.compute.delete_server(server)


@pytest.mark.parametrize("key,value", [("stratus:bandwidth_mbps", "fast"),
                                       ("stratus:ecu", "-1"),
                                       ("quota:vif_inbound_average", "1e999"),
                                       ("stratus:ecus_per_vcpu", "lots")])
def test_bad_extra_spec_values_are_400_naming_the_key(setup, key, value):
    _, admin, _ = setup
    flavor = admin.compute.create_flavor(name=unique("badspec"), ram=64, vcpus=1, disk=0)
    try:
        with pytest.raises(openstack.exceptions.BadRequestException) as exc:
            admin.compute.create_flavor_extra_specs(flavor, {key: value})
        assert key in str(exc.value)
        with pytest.raises(openstack.exceptions.BadRequestException) as exc:
            admin.compute.update_flavor_extra_specs_property(flavor, key, value)
        assert key in str(exc.value)
        assert admin.compute.fetch_flavor_extra_specs(flavor).extra_specs == {}
    finally:
        admin.compute.delete_flavor(flavor)


def test_server_create_with_a_bad_stored_spec_is_400(setup):
    """A flavor whose bad value predates validation (written straight to the
    database here) cannot boot: 400 naming the key, nothing created."""
    cloud, admin, demo = setup
    flavor = admin.compute.create_flavor(name=unique("oldspec"), ram=64, vcpus=1, disk=0)
    try:
        db = sqlite3.connect(str(cloud.state_dir / "stratus.sqlite"), timeout=30)
        try:
            with db:
                fid = db.execute("SELECT id FROM flavor WHERE flavorid = ?",
                                 (flavor.id,)).fetchone()[0]
                db.execute("INSERT INTO flavor_extra_spec (flavor_id, key, value) "
                           "VALUES (?, 'stratus:bandwidth_mbps', 'fast')", (fid,))
        finally:
            db.close()
        before = len(list(demo.compute.servers()))
        with pytest.raises(openstack.exceptions.BadRequestException) as exc:
            boot(demo, unique("old"), flavor.name, wait=False)
        assert "stratus:bandwidth_mbps" in str(exc.value)
        assert len(list(demo.compute.servers())) == before
    finally:
        admin.compute.delete_flavor(flavor)


@pytest.mark.parametrize("config", [{"ecu": -1}, {"ecu": 1.5}, {"ecu": True},
                                    {"bandwidth_mbps": "fast"}, {"bandwidth_mbps": -10}])
def test_register_refuses_bad_advertised_values(setup, config):
    import httpx

    cloud, _, _ = setup
    key = next(iter(config))
    with httpx.Client(base_url=f"{cloud.base_url}/agent/v1/", trust_env=False, timeout=30,
                      headers={"X-Auth-Token": cloud.admin_token()}) as http:
        host = unique("bad-adv")
        assert_error(http.put(f"hosts/{host}", json={"host_info": {"vcpus": 4},
                                                     "config": config}), 400, key)
    assert host not in usage(cloud)            # nothing registered


@pytest.mark.parametrize("hints,mention", [({"build_near_host_ip": "near"}, "build_near_host_ip"),
                                           ({"build_near_host_ip": "10.0.0.1", "cidr": "24"},
                                            "cidr")])
def test_bad_cidr_affinity_hints_are_400(setup, hints, mention):
    _, _, demo = setup
    with pytest.raises(openstack.exceptions.BadRequestException) as exc:
        demo.compute.create_server(
            name=unique("hint"), flavor_id=demo.compute.find_flavor("m1.tiny").id,
            image_id=demo.image.find_image("bw-img").id, networks="none",
            scheduler_hints=hints)
    assert mention in str(exc.value)
