"""The admin explain API (POST /compute/v2.1/os-scheduler-explain, GET
/servers/{id}/os-scheduler-explain) and ``stratus scheduler explain`` on a live
``stratus up --no-agent`` whose hosts are registered here through the agent API
(two in cell1, one roomy host in cell2, one disabled)."""
from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from conftest import STRATUS, clean_env, compute_client, ok, wait_for

pytestmark = pytest.mark.e2e
CONF = ("[compute]\nservice_down_time = 3600\n[filter_scheduler]\nenabled_filters = "
        "AvailabilityZoneFilter,ComputeFilter,RamFilter,CoreFilter,DiskFilter,"
        "ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,JsonFilter\n")
HOSTS = {  # host: (vcpus, memory_mb, cell)
    "xp-small": (2, 2048, "cell1"),
    "xp-mid": (4, 4096, "cell1"),
    "xp-big": (8, 16384, "cell2"),
}


@pytest.fixture(scope="module")
def cloud(module_servers, tmp_path_factory):
    c = module_servers.start(extra_conf=CONF, extra_args=("--no-agent",))
    data = tmp_path_factory.mktemp("img") / "tiny.img"
    data.write_bytes(b"\0" * 65536)
    c.image_id = c.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                             "--container-format", "bare", "--public", "xp-img")["id"]
    with httpx.Client(base_url=f"{c.base_url}/agent/v1/", trust_env=False, timeout=30,
                      headers={"X-Auth-Token": c.admin_token()}) as agent:
        for name, (vcpus, ram, cell) in HOSTS.items():
            ok(agent.put(f"hosts/{name}", json={
                "host_info": {"vcpus": vcpus, "memory_mb": ram, "local_gb": 100},
                "config": {"cell": cell, "ram_allocation_ratio": 1.0,
                           "cpu_allocation_ratio": 1.0, "reserved_host_memory_mb": 0}}))
        ok(agent.put("hosts/xp-off", json={"host_info": {"vcpus": 64, "memory_mb": 65536,
                                                         "local_gb": 100},
                                           "config": {"cell": "cell1"}}))
    c.openstack("compute", "service", "set", "--disable", "xp-off", "nova-compute",
                json_out=False)
    return c


@pytest.fixture(scope="module")
def admin(cloud):
    with compute_client(cloud, cloud.admin_token()) as http:
        yield http


@pytest.fixture(scope="module")
def member(cloud):
    with compute_client(cloud, cloud.token("demo", cloud.demo_password, project="demo")) as h:
        yield h


def explain(http, status=200, **server):
    hints = server.pop("hints", {})
    r = http.post("os-scheduler-explain", json={"server": server, "os:scheduler_hints": hints})
    assert r.status_code == status, r.text
    return r.json()["explanation"] if status == 200 else r.json()


def test_explain_names_the_cell_filters_and_weights(cloud, admin):
    doc = explain(admin, flavorRef="3", imageRef=cloud.image_id)   # m1.medium: 2 vCPU, 1 GB
    assert doc["request"]["image"] == cloud.image_id
    assert doc["driver"] == "filter_scheduler"
    assert doc["hosts_considered"] == 4
    assert doc["request"]["flavor"] == {"id": "3", "name": "m1.medium"}
    assert (doc["request"]["vcpus"], doc["request"]["memory_mb"]) == (2, 1024)
    # Cell stage: cell2 has one fitting host, cell1 two (xp-off is disabled).
    cells = {c["name"]: c for c in doc["cells"]}
    assert cells["cell1"]["fitting_hosts"] == 2 and cells["cell1"]["hosts"] == 3
    assert cells["cell2"]["fitting_hosts"] == 1
    assert doc["cell"] == "cell1" and cells["cell1"]["outcome"] == "chosen"
    assert cells["cell2"]["outcome"] == "not tried"
    filters = {f["name"]: f for f in doc["filters"]}
    assert doc["filters"][0]["name"] == "RetryFilter"
    assert filters["ComputeFilter"]["removed"] == ["xp-off"]
    assert filters["ComputeFilter"]["reason"] == "compute service disabled or down"
    assert filters["ComputeFilter"]["hosts_in"] == 3
    assert [w["host"] for w in doc["weights"]] == ["xp-mid", "xp-small"]   # most free RAM
    assert doc["weights"][0]["weight"] >= doc["weights"][1]["weight"]
    assert doc["reason"] is None


def test_cells_with_as_many_fitting_hosts_rank_by_free_ram(admin):
    doc = explain(admin, flavorRef="5", availability_zone="nova")   # 4 vCPU, 4 GB
    assert doc["request"]["availability_zone"] == "nova"
    assert [(c["name"], c["fitting_hosts"]) for c in doc["cells"]] == [("cell2", 1),
                                                                      ("cell1", 1)]
    assert doc["cell"] == "cell2" and [w["host"] for w in doc["weights"]] == ["xp-big"]


def test_nothing_fits_reason_names_the_filter_in_every_cell(admin, cloud):
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "32768", "--disk", "1",
                    "--id", "xp-huge", "xp-huge")
    doc = explain(admin, flavorRef="xp-huge")
    assert doc["cell"] is None and doc["weights"] == []
    assert doc["reason"].startswith("No cell has a fitting host (2 cells tried)")
    assert "cell1: RamFilter removed the last 2 host(s) (needs 32768 MB RAM)" in doc["reason"]
    assert "cell2: RamFilter removed the last 1 host(s)" in doc["reason"]
    assert all(c["outcome"] == "no valid host" for c in doc["cells"])


def test_falls_back_to_the_next_cell_when_a_hint_removes_the_best_cells_hosts(admin):
    query = json.dumps([">=", "$free_ram_mb", 8000])
    doc = explain(admin, flavorRef="1", hints={"query": query})
    # cell1 ranks first (two fitting hosts) but the query removes both.
    assert [c["name"] for c in doc["cells"]] == ["cell1", "cell2"]
    cell1, cell2 = doc["cells"]
    assert cell1["outcome"] == "no valid host"
    assert cell1["reason"].startswith("JsonFilter removed the last 2 host(s)")
    jf = next(f for f in cell1["filters"] if f["name"] == "JsonFilter")
    assert sorted(jf["removed"]) == ["xp-mid", "xp-small"] and jf["survivors"] == []
    assert cell2["outcome"] == "chosen" and doc["cell"] == "cell2"
    assert [w["host"] for w in doc["weights"]] == ["xp-big"]


def test_bad_requests_are_400_with_a_clear_message(admin):
    for server, hints, words in [
        ({"flavorRef": "nope"}, {}, "Flavor nope could not be found"),
        ({}, {}, "flavorRef"),
        ({"flavorRef": "1", "availability_zone": "atlantis"}, {},
         "availability zone is not available"),
        ({"flavorRef": "1", "imageRef": "not-a-uuid"}, {}, "Invalid imageRef"),
        ({"flavorRef": "1"}, {"query": "[\"frobnicate\", 1]"}, "Invalid scheduler hint 'query'"),
        ({"flavorRef": "1"}, {"group": "6e1f9f4b-6a53-4c0a-9f5e-3e2d7bb0a2c1"},
         "Invalid server group"),
    ]:
        r = admin.post("os-scheduler-explain", json={"server": server,
                                                     "os:scheduler_hints": hints})
        assert r.status_code == 400, (server, hints, r.text)
        (_, err), = r.json().items()
        assert words.lower() in err["message"].lower(), (words, err)
    r = admin.post("os-scheduler-explain", json={"servers": {}})
    assert r.status_code == 400 and "servers" in r.text
    r = admin.post("os-scheduler-explain", content=b"{not json")
    assert r.status_code == 400


def test_members_are_forbidden(member):
    r = member.post("os-scheduler-explain", json={"server": {"flavorRef": "1"}})
    assert r.status_code == 403, r.text
    assert "os_compute_api:os-scheduler-explain" in r.text


def test_explain_an_existing_server(cloud, admin, member):
    r = member.post("servers", json={"server": {"name": "xp-vm", "flavorRef": "1",
                                                "imageRef": cloud.image_id,
                                                "networks": "none"}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_for(lambda: admin.get(f"servers/{sid}").json()["server"].get(
        "OS-EXT-SRV-ATTR:host"), what="the server to be scheduled")
    doc = ok(admin.get(f"servers/{sid}/os-scheduler-explain"))["explanation"]
    assert doc["request"]["server"]["id"] == sid
    assert doc["request"]["server"]["host"] in HOSTS
    assert doc["request"]["project_id"] != "" and doc["weights"]
    assert member.get(f"servers/{sid}/os-scheduler-explain").status_code == 403
    cp = run_cli(cloud, "--server", "xp-vm")               # by name, any project
    assert cp.returncode == 0, cp.stderr
    assert "Request: flavor m1.tiny" in cp.stdout and "Would place on" in cp.stdout
    r = admin.get("servers/00000000-0000-0000-0000-000000000000/os-scheduler-explain")
    assert r.status_code == 404


def run_cli(cloud, *args, cloud_name="stratus"):
    env = clean_env(OS_CLIENT_CONFIG_FILE=str(cloud.clouds_yaml),
                    OS_CLIENT_SECURE_FILE=str(cloud.state_dir / "secure.yaml"))
    return subprocess.run([STRATUS, "scheduler", "explain", *args, "--os-cloud", cloud_name],
                          capture_output=True, text=True, env=env, timeout=120,
                          cwd=cloud.state_dir)


def test_cli_prints_the_filters_and_weights(cloud):
    cp = run_cli(cloud, "--flavor", "m1.medium", "--hint", "different_host=" +
                 "6e1f9f4b-6a53-4c0a-9f5e-3e2d7bb0a2c1")
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout
    assert "Driver: filter_scheduler" in out
    assert "Cells (in the order tried):" in out and "cell2" in out
    assert "| ComputeFilter" in out and "xp-off" in out and "compute service disabled" in out
    assert "Weights (best first):" in out and "Would place on xp-mid (cell cell1)" in out
    cp = run_cli(cloud, "--flavor", "xp-huge", "--json")
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout)["reason"].startswith("No cell has a fitting host")


def test_cli_as_a_member_fails_cleanly(cloud):
    cp = run_cli(cloud, "--flavor", "m1.tiny", cloud_name="stratus-demo")
    assert cp.returncode == 1
    assert "HTTP 403" in cp.stderr and "Traceback" not in cp.stderr
    cp = run_cli(cloud, "--flavor", "no-such-flavor")
    assert cp.returncode == 1 and "no-such-flavor" in cp.stderr


def test_agent_registration_refuses_a_bad_cell(cloud, admin):
    with httpx.Client(base_url=f"{cloud.base_url}/agent/v1/", trust_env=False, timeout=30,
                      headers={"X-Auth-Token": cloud.admin_token()}) as agent:
        for bad in ("", "   ", 7, "x" * 65):
            r = agent.put("hosts/xp-bad", json={"host_info": {"vcpus": 1},
                                                "config": {"cell": bad}})
            assert r.status_code == 400 and "cell" in r.text, (bad, r.text)
    assert explain(admin, flavorRef="1")["hosts_considered"] == 4     # nothing registered
