"""Security groups on an in-memory database: the default group, rule
validation (upstream's error types), in-use and default protection, port
security rules, remote-group members and the host's firewall state."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models import security_group as sgm
from stratus.network import networks, port_security, ports, sg_rules, subnets
from stratus.network import security_groups as groups
from stratus.network import sg_exceptions as sgx


@pytest.fixture
def s(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/sg.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        yield session
    db.dispose()


@pytest.fixture
def net(s):
    conf = Config(overrides={"network": {"vni_ranges": "5:7"}})
    n = networks.create_network(s, conf, project_id="p1", name="n")
    subnets.create_subnet(s, n, project_id="p1", cidr="10.1.0.0/24")
    return n


def test_default_group_once_with_four_rules(s):
    g = groups.ensure_default(s, "p1")
    assert groups.ensure_default(s, "p1").id == g.id and g.name == "default"
    rules = groups.rules_of(s, [g.id])[g.id]
    assert sorted((r.direction, r.ethertype, r.remote_group_id) for r in rules) == [
        ("egress", "IPv4", None), ("egress", "IPv6", None),
        ("ingress", "IPv4", g.id), ("ingress", "IPv6", g.id)]


def test_new_group_gets_egress_rules_and_default_is_protected(s):
    g = groups.create_group(s, project_id="p1", name="web")
    assert {(r.direction, r.ethertype) for r in groups.rules_of(s, [g.id])[g.id]} == {
        ("egress", "IPv4"), ("egress", "IPv6")}
    with pytest.raises(sgx.SecurityGroupDefaultAlreadyExists):
        groups.create_group(s, project_id="p1", name="default")
    default = groups.ensure_default(s, "p1")
    with pytest.raises(sgx.SecurityGroupCannotRemoveDefault):
        groups.delete_group(s, default)
    with pytest.raises(sgx.SecurityGroupCannotUpdateDefault):
        groups.update_group(s, default, {"name": "x"})


@pytest.mark.parametrize("req, error", [
    ({"direction": "sideways"}, sgx.SecurityGroupRuleInvalidDirection),
    ({"direction": "ingress", "ethertype": "IPv5"}, sgx.SecurityGroupRuleInvalidEtherType),
    ({"direction": "ingress", "protocol": "foo"}, sgx.SecurityGroupRuleInvalidProtocol),
    ({"direction": "ingress", "protocol": "300"}, sgx.SecurityGroupRuleInvalidProtocol),
    ({"direction": "ingress", "port_range_min": 22}, sgx.SecurityGroupProtocolRequiredWithPorts),
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 30, "port_range_max": 20},
     sgx.SecurityGroupInvalidPortRange),
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 0, "port_range_max": 20},
     sgx.SecurityGroupInvalidPortValue),
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 5},
     sgx.SecurityGroupInvalidPortRange),
    ({"direction": "ingress", "protocol": "icmp", "port_range_min": 256},
     sgx.SecurityGroupInvalidIcmpValue),
    ({"direction": "ingress", "protocol": "icmp", "port_range_max": 0},
     sgx.SecurityGroupMissingIcmpType),
    ({"direction": "ingress", "protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     sgx.SecurityGroupInvalidProtocolForPort),
    ({"direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"},
     sgx.SecurityGroupRemoteGroupAndRemoteIpPrefix),
    ({"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     sgx.SecurityGroupRuleParameterConflict),
    ({"direction": "ingress", "protocol": "ipv6-icmp"},
     sgx.SecurityGroupEthertypeConflictWithProtocol),
])
def test_rule_validation(req, error):
    with pytest.raises(error):
        sg_rules.normalise(req)


def test_rule_normalisation():
    r = sg_rules.normalise({"direction": "egress", "ethertype": "ipv4", "protocol": "TCP",
                            "port_range_min": "80", "port_range_max": 80,
                            "remote_ip_prefix": "10.1.2.3/8"})
    assert (r["ethertype"], r["protocol"], r["port_range_min"], r["remote_ip_prefix"]) == (
        "IPv4", "tcp", 80, "10.0.0.0/8")
    assert sg_rules.normalise({"direction": "ingress", "protocol": "any"})["protocol"] is None


def test_duplicate_rule_conflicts(s):
    g = groups.create_group(s, project_id="p1", name="web")
    kw = dict(project_id="p1", caller_project="p1", is_admin=False)
    r = groups.create_rule(s, g, {"direction": "ingress", "protocol": "tcp",
                                  "port_range_min": 22, "port_range_max": 22}, **kw)
    with pytest.raises(sgx.SecurityGroupRuleExists) as e:
        groups.create_rule(s, g, {"direction": "ingress", "protocol": "6",
                                  "port_range_min": 22, "port_range_max": 22}, **kw)
    assert r.id in e.value.message
    with pytest.raises(sgx.SecurityGroupRuleExists):   # 0.0.0.0/0 equals "any"
        groups.create_rule(s, g, {"direction": "egress", "remote_ip_prefix": "0.0.0.0/0"},
                           **kw)
    other = groups.create_group(s, project_id="p2", name="theirs")
    with pytest.raises(sgx.SecurityGroupNotFound):     # another project's remote group
        groups.create_rule(s, g, {"direction": "ingress", "remote_group_id": other.id}, **kw)


def test_ports_get_default_group_and_in_use_blocks_delete(s, net):
    p = ports.new_port(s, network_id=net.id, project_id="p1", device_owner="compute:nova")
    port_security.on_create(s, p, {}, is_admin=False)
    default = groups.ensure_default(s, "p1")
    assert p.security_groups == [default.id]
    web = groups.create_group(s, project_id="p1", name="web")
    port_security.on_update(s, p, {"security_groups": [web.id]}, is_admin=False)
    with pytest.raises(sgx.SecurityGroupInUse):
        groups.delete_group(s, web)
    dhcp = ports.new_port(s, network_id=net.id, project_id="p1", device_owner="network:dhcp")
    port_security.on_create(s, dhcp, {}, is_admin=False)
    assert dhcp.security_groups == []
    ports.delete_ports(s, [p])     # the binding goes with the port
    assert s.scalar(select(func.count()).select_from(sgm.PortSecurityGroupBinding)) == 0
    groups.delete_group(s, web)


def test_port_security_rules(s, net):
    p = ports.new_port(s, network_id=net.id, project_id="p1")
    web = groups.create_group(s, project_id="p1", name="web")
    with pytest.raises(sgx.PortSecurityAndIPRequiredForSecurityGroups):
        port_security.on_create(s, p, {"port_security_enabled": False,
                                       "security_groups": [web.id]}, is_admin=False)
    with pytest.raises(sgx.AddressPairAndPortSecurityRequired):
        port_security.on_create(s, p, {"port_security_enabled": False,
                                       "allowed_address_pairs": [{"ip_address": "1.2.3.4"}]},
                                is_admin=False)
    port_security.on_create(s, p, {"allowed_address_pairs": [{"ip_address": "10.9.0.0/24"}]},
                            is_admin=False)
    assert p.allowed_address_pairs == [{"ip_address": "10.9.0.0/24",
                                        "mac_address": p.mac_address}]
    with pytest.raises(sgx.PortSecurityPortHasSecurityGroup):
        port_security.on_update(s, p, {"port_security_enabled": False}, is_admin=False)
    with pytest.raises(sgx.DuplicateAddressPairInRequest):
        port_security.on_update(s, p, {"allowed_address_pairs": [{"ip_address": "1.1.1.1"}] * 2},
                                is_admin=False)
    port_security.on_update(s, p, {"port_security_enabled": False, "security_groups": [],
                                   "allowed_address_pairs": []}, is_admin=False)
    assert p.port_security_enabled is False and p.security_groups == []
    stateless = groups.create_group(s, project_id="p1", name="sl", stateful=False)
    with pytest.raises(sgx.SecurityGroupConflict):
        port_security.on_update(s, p, {"port_security_enabled": True,
                                       "security_groups": [web.id, stateless.id]},
                                is_admin=False)


def test_host_state_firewall_members_span_hosts(s, net):
    a = ports.new_port(s, network_id=net.id, project_id="p1", host_id="h1",
                       device_owner="compute:nova")
    b = ports.new_port(s, network_id=net.id, project_id="p1", host_id="h2",
                       device_owner="compute:nova")
    for p in (a, b):
        port_security.on_create(s, p, {"allowed_address_pairs": [{"ip_address": "10.7.0.9"}]}
                                if p is b else {}, is_admin=False)
    default = groups.ensure_default(s, "p1")
    fw = ports.host_network_state(s, "h1")["firewall"]
    assert fw["ports"][a.id]["security_groups"] == [default.id]
    assert len(fw["groups"][default.id]["rules"]) == 4
    ips = [x.ip_address for x in ports.allocations(s, [a.id, b.id])[b.id]] + ["10.7.0.9/32"]
    own = [x.ip_address for x in ports.allocations(s, [a.id])[a.id]]
    assert sorted(fw["members"][default.id]["IPv4"]) == sorted(
        f"{i}/32" if "/" not in i else i for i in ips + own)


def test_compute_create_port_takes_group_names(s, net):
    web = groups.create_group(s, project_id="p1", name="web")
    d = ports.create_port(s, network_id=net.id, project_id="p1", device_id="vm",
                          device_owner="compute:nova", security_groups=["web", "default"])
    assert sorted(d["security_groups"]) == sorted([web.id, groups.ensure_default(s, "p1").id])
    plain = ports.create_port(s, network_id=net.id, project_id="p1", device_id="vm2",
                              device_owner="compute:nova")
    assert plain["security_groups"] == [groups.ensure_default(s, "p1").id]
    with pytest.raises(sgx.SecurityGroupNotFound):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="vm3",
                          device_owner="compute:nova", security_groups=["nope"])


@pytest.mark.parametrize("lo, hi", [(-16, 80), (80, 65536), ("x", 1), (True, 2)])
def test_invalid_port_values(lo, hi):
    with pytest.raises(sgx.errors.BadRequest, match="Invalid value for port"):
        sg_rules.normalise({"direction": "ingress", "protocol": "tcp",
                            "port_range_min": lo, "port_range_max": hi})
