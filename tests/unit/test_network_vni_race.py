"""Concurrent network creates: a VNI picked by this request that another
request commits first makes this one pick the next free VNI (tempest's
parallel setUpClass got 409 "segment in use"); a segment the caller asked
for that is taken stays a 409."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from stratus.common import errors
from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.network import networks


@pytest.fixture
def db(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/vni.sqlite", 2)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def conf():
    return Config(overrides={"network": {"vni_ranges": "100:200"}})


def race_once(db, conf, session, vni):
    """Before ``session``'s next flush, another session commits a network
    holding ``vni`` (after this session's checks saw it free)."""
    fired = []

    def before_flush(sess, _ctx, _instances):
        if fired:
            return
        fired.append(True)
        with db.session() as other:
            networks.create_network(other, conf, project_id="other",
                                    network_type="vxlan", segmentation_id=vni)

    event.listen(session, "before_flush", before_flush)
    return fired


def test_a_picked_vni_taken_concurrently_is_replaced(db, conf):
    with db.session() as s:
        fired = race_once(db, conf, s, 100)
        net = networks.create_network(s, conf, project_id="p", name="mine")
        assert fired
        assert net.segmentation_id == 101
    with db.session() as s:
        rows = sorted((n.project_id, n.segmentation_id)
                      for n in s.query(networks.m.Network).all())
    assert rows == [("other", 100), ("p", 101)]


def test_a_requested_vni_taken_concurrently_is_a_conflict(db, conf):
    with pytest.raises(errors.Conflict, match="segment 150 is in use"):
        with db.session() as s:
            race_once(db, conf, s, 150)
            networks.create_network(s, conf, project_id="p", network_type="vxlan",
                                    segmentation_id=150)
    with db.session() as s:
        assert [n.project_id for n in s.query(networks.m.Network).all()] == ["other"]

