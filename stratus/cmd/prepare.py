"""What every server start does before serving: migrate the database,
create the Fernet keys, bootstrap identity and write clouds.yaml.
Idempotent, so a restart keeps all data."""
from __future__ import annotations

import json
import os

import yaml
from sqlalchemy import select

from stratus.api.app import SERVICES
from stratus.common.config import Config
from stratus.compute.flavors import ensure_default_flavors
from stratus.db import migrate
from stratus.db.base import Database
from stratus.db.models.identity import Project, Region
from stratus.identity.bootstrap import bootstrap
from stratus.identity.fernet import KeyRepository


def _credentials(conf: Config) -> dict:
    path = os.path.join(conf.state_path, "credentials.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def _save_credentials(conf: Config, creds: dict) -> None:
    path = os.path.join(conf.state_path, "credentials.json")
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f)
    os.replace(path + ".tmp", path)


def clouds(conf: Config, creds: dict, regions: list[str] | None = None) -> dict:
    """clouds.yaml entries; ``regions`` (own region first) are the choices
    ``--os-region-name`` accepts."""
    auth_url = f"{conf.public_endpoint}/identity/v3"
    own = conf.DEFAULT.region_name
    regions = [own] + sorted(r for r in (regions or []) if r != own)

    def cloud(user, project):
        return {"auth": {"auth_url": auth_url, "username": user, "password": creds[user],
                         "project_name": project, "user_domain_name": "Default",
                         "project_domain_name": "Default"},
                "regions": regions, "identity_api_version": 3, "interface": "public"}
    system = cloud("admin", None)
    del system["auth"]["project_name"], system["auth"]["project_domain_name"]
    system["auth"]["system_scope"] = "all"
    return {"clouds": {"stratus": cloud("admin", "admin"),
                       "stratus-demo": cloud("demo", "demo"),
                       "stratus-system": system}}


def write_clouds_yaml(path: str, doc: dict, merge: bool = False) -> None:
    existing = {}
    if merge and os.path.exists(path):
        with open(path) as f:
            existing = yaml.safe_load(f) or {}
    existing.setdefault("clouds", {}).update(doc["clouds"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(existing, f, default_flow_style=False, sort_keys=True)
    os.replace(path + ".tmp", path)


def prepare(conf: Config, user_clouds: bool = False) -> str:
    """Returns the path of the clouds.yaml written in the state directory."""
    os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
    migrate.sync(conf.database_url)
    KeyRepository(conf.key_repository, conf.fernet_tokens.max_active_keys).setup()
    creds = _credentials(conf)
    db = Database(conf.database_url, 2)
    try:
        base = conf.public_endpoint
        with db.session() as s:
            services = [(t, n, f"{base}/{path}") for _, t, n, _, path in SERVICES]
            if conf.transfer.enabled:   # the UDP transfer server (stratus/transfer/)
                from stratus.transfer.server import catalog_url
                services.append(("object-transfer", "stratus-transfer", catalog_url(conf)))
            res = bootstrap(s, conf, services,
                            admin_password=creds.get("admin"), demo_password=creds.get("demo"))
            regions = list(s.scalars(select(Region.id)))
            ensure_default_flavors(s)  # compute: m1.tiny ... on first start
            if res.demo_password:  # first start: the demo project's `private` network
                from stratus.network.ports import ensure_private_network
                ensure_private_network(s, conf, s.scalar(select(Project.id).where(
                    Project.name == "demo", Project.domain_id == conf.identity.default_domain_id)))
            if conf.network.create_public_network:  # L3: `public` + demo's router1
                from stratus.network.bootstrap import ensure_public_network
                domain = conf.identity.default_domain_id
                ensure_public_network(s, conf, s.scalar(select(Project.id).where(
                    Project.name == "admin", Project.domain_id == domain)), s.scalar(
                    select(Project.id).where(Project.name == "demo",
                                             Project.domain_id == domain)))
        # guest image: register the last `stratus image build` from its cache (never builds)
        from stratus.guestimage.register import register_at_start
        register_at_start(db, conf)
    finally:
        db.dispose()
    if res.admin_password:
        creds["admin"] = res.admin_password
    if res.demo_password:
        creds["demo"] = res.demo_password
    if "admin" not in creds or "demo" not in creds:
        raise RuntimeError("the bootstrap users exist but their passwords are not in "
                           f"{conf.state_path}/credentials.json; set [bootstrap] passwords")
    _save_credentials(conf, creds)
    doc = clouds(conf, creds, regions)
    path = os.path.join(conf.state_path, "clouds.yaml")
    write_clouds_yaml(path, doc)
    if user_clouds:
        write_clouds_yaml(os.path.expanduser("~/.config/openstack/clouds.yaml"), doc, merge=True)
    return path
