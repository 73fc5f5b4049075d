"""Server create validation and row building on a real (SQLite) database:
flavor/image/network/key look-ups, the resulting rows and ports, and that a
refused request leaves nothing behind.  Also the list query's filters."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from stratus.api.compute import server_create, server_list, server_lookups
from stratus.common import errors
from stratus.common.config import Config
from stratus.compute import states as st
from stratus.db.base import Base, Database
from stratus.db.models import compute as cm
from stratus.db.models import image as im
from stratus.db.models import network as nm
from stratus.network import networks, subnets

IMG = str(uuid.UUID(int=1))


class Ctx:
    def __init__(self, project="p1", admin=False):
        self.request_id, self.user_id, self.project_id = "req-" + project, "u-" + project, project
        self.is_admin = admin


@pytest.fixture
def conf():
    return Config(overrides={"network": {"vni_ranges": "5:9"}})


@pytest.fixture
def s(tmp_path, conf):
    db = Database(f"sqlite:///{tmp_path}/c.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        session.add(cm.Flavor(flavorid="1", name="m1.tiny", vcpus=1, memory_mb=512, root_gb=1))
        session.add(cm.Flavor(flavorid="priv", name="private", vcpus=1, memory_mb=512,
                              root_gb=1, is_public=False))
        session.add(im.Image(id=IMG, name="img", status="active", visibility="public",
                             owner="p0", size=1024, min_disk=0, min_ram=0))
        session.add(cm.KeyPair(user_id="u-p1", name="k", fingerprint="f", public_key="ssh-rsa X"))
        session.flush()
        yield session
    db.dispose()


def net(s, conf, project="p1", cidr="10.2.0.0/28", name="private"):
    n = networks.create_network(s, conf, project_id=project, name=name)
    subnets.create_subnet(s, n, project_id=project, cidr=cidr)
    return n


def body(**kw):
    return {"server": {"name": "vm", "imageRef": IMG, "flavorRef": "1", **kw}}


def counts(s):
    return (s.scalar(select(func.count()).select_from(cm.Instance)),
            s.scalar(select(func.count()).select_from(nm.Port)))


def test_create_builds_rows_ports_metadata_and_actions(s, conf):
    n = net(s, conf)
    insts, rid, pw = server_create.create(s, conf, Ctx(), body(
        networks=[{"uuid": n.id}], metadata={"a": "b"}, key_name="k", min_count=2,
        max_count=2, user_data="aGk="))
    assert [i.display_name for i in insts] == ["vm-1", "vm-2"]
    assert {i.reservation_id for i in insts} == {rid} and rid.startswith("r-")
    assert all(i.vm_state == st.BUILDING and i.task_state == st.SCHEDULING for i in insts)
    assert insts[0].key_data == "ssh-rsa X" and insts[0].user_data == "aGk="
    assert insts[0].flavor["ram"] == 512 and pw
    ports = list(s.scalars(select(nm.Port)))
    assert sorted(p.device_id for p in ports) == sorted(i.uuid for i in insts)
    assert {p.device_owner for p in ports} == {"compute:nova"}
    assert s.scalar(select(func.count()).select_from(cm.InstanceMetadata)) == 2
    assert s.scalar(select(func.count()).select_from(cm.InstanceAction)) == 2


def test_networks_absent_uses_the_only_network_and_refuses_ambiguity(s, conf):
    net(s, conf)
    (inst,), _, _ = server_create.create(s, conf, Ctx(), body())
    assert s.scalar(select(nm.Port.device_id)) == inst.uuid
    net(s, conf, cidr="10.3.0.0/28", name="second")
    with pytest.raises(errors.Conflict, match="Multiple possible networks"):
        server_create.create(s, conf, Ctx(), body())


def test_fixed_ip_and_existing_port(s, conf):
    n = net(s, conf)
    (inst,), _, _ = server_create.create(s, conf, Ctx(), body(
        networks=[{"uuid": n.id, "fixed_ip": "10.2.0.9"}]))
    from stratus.network import ports
    assert ports.addresses_for(s, [inst.uuid])[inst.uuid]["private"][0]["addr"] == "10.2.0.9"
    free = ports.create_port(s, network_id=n.id, project_id="p1", device_id="",
                             device_owner="")
    (inst2,), _, _ = server_create.create(s, conf, Ctx(), body(networks=[{"port": free["id"]}]))
    assert s.get(nm.Port, free["id"]).device_id == inst2.uuid
    with pytest.raises(errors.Conflict, match="in use"):
        server_create.create(s, conf, Ctx(), body(networks=[{"port": free["id"]}]))


@pytest.mark.parametrize("server,exc,message", [
    ({"flavorRef": "nope"}, errors.BadRequest, "Flavor nope could not be found."),
    ({"flavorRef": "priv"}, errors.BadRequest, "Flavor priv could not be found."),
    ({"imageRef": str(uuid.UUID(int=2))}, errors.BadRequest, "could not be found"),
    ({"imageRef": "bad"}, errors.BadRequest, "Invalid imageRef provided."),
    ({"networks": [{"uuid": str(uuid.UUID(int=3))}]}, errors.BadRequest,
     f"Network {uuid.UUID(int=3)} could not be found."),
    ({"networks": [{"uuid": "x"}]}, errors.BadRequest, "Bad networks format"),
    ({"key_name": "other"}, errors.BadRequest, "Invalid key_name provided."),
    ({"availability_zone": "atlantis"}, errors.BadRequest, "availability zone"),
    ({"availability_zone": "nova:h1"}, errors.Forbidden, "forced_host"),
    ({"user_data": "@@@"}, errors.BadRequest, "base 64"),
    ({"min_count": 11}, errors.Forbidden, "Quota exceeded for instances"),
    ({"name": "x" * 300}, errors.ValidationError, "name"),
    ({"block_device_mapping_v2": [{"source_type": "volume", "destination_type": "volume",
                                   "uuid": IMG, "boot_index": 0}]},
     errors.BadRequest, "Block Device Mapping is Invalid"),
])
def test_refusals_leave_nothing(s, conf, server, exc, message):
    n = net(s, conf)
    before = counts(s)
    server.setdefault("networks", [{"uuid": n.id}])
    with s.begin_nested():  # what the request's transaction rollback does
        with pytest.raises(exc) as e:
            server_create.create(s, conf, Ctx(), body(**server))
    assert message in e.value.message
    assert counts(s) == before


def test_private_flavor_with_access_and_inactive_image(s, conf):
    n = net(s, conf)
    priv = s.scalar(select(cm.Flavor).where(cm.Flavor.flavorid == "priv"))
    s.add(cm.FlavorProject(flavor_id=priv.id, project_id="p1"))
    server_create.create(s, conf, Ctx(), body(flavorRef="priv", networks=[{"uuid": n.id}]))
    s.get(im.Image, IMG).status = "queued"
    with pytest.raises(errors.BadRequest, match="is not active"):
        server_create.create(s, conf, Ctx(), body(networks=[{"uuid": n.id}]))


class F:
    def __init__(self, root_gb, memory_mb=512):
        self.root_gb, self.memory_mb = root_gb, memory_mb


def test_image_must_fit_the_flavor():
    server_lookups.check_image_fits(1024 ** 3, 1, 0, F(1))
    server_lookups.check_image_fits(10 * 1024 ** 3, 5, 0, F(0))  # no root disk: image size
    with pytest.raises(errors.BadRequest, match="Flavor's disk is too small"):
        server_lookups.check_image_fits(1024 ** 3 + 1, 0, 0, F(1))
    with pytest.raises(errors.BadRequest, match="Flavor's disk is too small"):
        server_lookups.check_image_fits(10, 2, 0, F(1))
    with pytest.raises(errors.BadRequest, match="memory is too small"):
        server_lookups.check_image_fits(10, 0, 1024, F(1, 512))


def test_list_query_scopes_and_status(s, conf):
    net(s, conf)
    mine, _, _ = server_create.create(s, conf, Ctx("p1"), body(min_count=2))
    s.add(cm.KeyPair(user_id="u-p2", name="k", fingerprint="f", public_key="x"))
    s.flush()
    other = server_create.create(s, conf, Ctx("p2"), body(networks="none"))[0][0]
    mine[1].vm_state, mine[1].task_state = st.STOPPED, None

    def uuids(ctx, **q):
        class Q(dict):
            def getlist(self, k):
                v = self.get(k)
                return [v] if v else []
        return {i.uuid for i in s.scalars(server_list.build_query(ctx, Q(q)))}

    assert uuids(Ctx("p1")) == {i.uuid for i in mine}
    assert uuids(Ctx("p1"), all_tenants="1") == {i.uuid for i in mine}  # ignored for users
    assert other.uuid in uuids(Ctx("admin", admin=True), all_tenants="1")
    assert uuids(Ctx("p1"), status="SHUTOFF") == {mine[1].uuid}
    assert uuids(Ctx("p1"), status="BUILD") == {mine[0].uuid}
    assert uuids(Ctx("p1"), status="NOPE") == set()


@pytest.mark.parametrize("query,ok", [
    ('[">=", "$free_ram_mb", 1024]', True),
    ('["and", [">=", "$free_ram_mb", 1024], ["<", "$num_instances", 5]]', True),
    ('[">=", "$free_ram_mb"', False),          # not JSON
    ('["~", "$free_ram_mb", 1]', False),        # unknown operator
    ('{"op": "="}', False),                     # not a list
])
def test_json_filter_query_hint_is_checked_at_create(query, ok):
    """A bad JsonFilter ``query`` hint is a 400 at create, not a scheduling error."""
    doc = {"server": {"name": "q", "imageRef": IMG, "flavorRef": "1"},
           "OS-SCH-HNT:scheduler_hints": {"query": query}}
    if ok:
        assert server_create.parse(doc)[1]["query"] == query
    else:
        with pytest.raises(errors.BadRequest, match="Invalid scheduler hint 'query'"):
            server_create.parse(doc)
