"""Databases and rows for the scheduler's database tests.

``make_db_url(kind, tmp_path)`` yields a synced SQLite file or a temporary
PostgreSQL database (dropped afterwards; skipped with a visible reason
without STRATUS_TEST_DATABASE_URL).
"""
from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import itertools
import os
import shutil
import tempfile
import uuid as uuidlib

import pytest
from sqlalchemy import create_engine, text

from stratus.db import migrate
from stratus.db.models.compute import (Aggregate, AggregateHost, AggregateMetadata, ComputeNode,
                                       Instance, ServerGroup, ServerGroupMember)

PG = os.environ.get("STRATUS_TEST_DATABASE_URL")
PG_SKIP = ("PostgreSQL tests need STRATUS_TEST_DATABASE_URL "
           "(e.g. postgresql+psycopg://postgres@127.0.0.1/postgres)")
_ids = itertools.count(1)


_template: list[str] = []


def _sqlite_template() -> str:
    """A synced SQLite file made once per test session (sync costs ~2 s)."""
    if not _template:
        path = os.path.join(tempfile.mkdtemp(prefix="stratus-sched-"), "template.sqlite")
        migrate.sync(f"sqlite:///{path}")
        atexit.register(shutil.rmtree, os.path.dirname(path), True)
        _template.append(path)
    return _template[0]


@contextlib.contextmanager
def make_db_url(kind: str, tmp_path):
    if kind == "sqlite":
        path = os.path.join(str(tmp_path), "sched.sqlite")
        shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
        return
    if not PG:
        pytest.skip(PG_SKIP)
    name = f"stratus_t_{uuidlib.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.sync(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def add_node(s, host: str, **kw) -> ComputeNode:
    n = next(_ids)
    values = dict(uuid=str(uuidlib.uuid4()), host=host, service_id=n, vcpus=4,
                  memory_mb=8192, local_gb=100, cpu_allocation_ratio=1.0,
                  ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
                  reserved_host_memory_mb=0, reserved_host_disk_mb=0, reserved_host_cpus=0,
                  vcpus_used=0, memory_mb_used=0, local_gb_used=0, running_vms=0,
                  last_seen_up=now())
    values.update(kw)
    node = ComputeNode(**values)
    s.add(node)
    s.flush()
    return node


def add_instance(s, *, vcpus=1, memory_mb=1024, root_gb=10, hints=None, az=None,
                 task_state="scheduling", created_at=None, **kw) -> Instance:
    uuid = str(uuidlib.uuid4())
    inst = Instance(uuid=uuid, display_name=f"vm-{uuid[:6]}", hostname=f"vm-{uuid[:6]}",
                    project_id="p1", user_id="u1", flavor={"name": "f", "swap": 0},
                    flavor_id="f", vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb,
                    ephemeral_gb=0, vm_state="building", task_state=task_state,
                    requested_az=az, request_spec={"scheduler_hints": hints or {}},
                    created_at=created_at or now(), **kw)
    s.add(inst)
    s.flush()
    return inst


def add_group(s, policy: str, members=(), rules=None) -> ServerGroup:
    g = ServerGroup(uuid=str(uuidlib.uuid4()), name=f"g-{policy}", project_id="p1",
                    user_id="u1", policy=policy, rules=rules or {})
    s.add(g)
    s.flush()
    for m in members:
        s.add(ServerGroupMember(group_id=g.id, instance_uuid=m))
    s.flush()
    return g


def add_aggregate(s, name: str, hosts, metadata) -> Aggregate:
    a = Aggregate(uuid=str(uuidlib.uuid4()), name=name)
    s.add(a)
    s.flush()
    for h in hosts:
        s.add(AggregateHost(aggregate_id=a.id, host=h))
    for k, v in metadata.items():
        s.add(AggregateMetadata(aggregate_id=a.id, key=k, value=v))
    s.flush()
    return a
