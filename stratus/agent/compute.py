"""Executes the reconcile plan of one host: network first, then each VM action
through the virt driver, then the report to the agent API.

All decisions are in :mod:`stratus.agent.plan`; this module only performs
them and turns failures into what the API should record (a rescheduled build,
an instance fault)."""
from __future__ import annotations

import logging
from typing import Any

from stratus.agent import plan as planner
from stratus.agent.images import upload_snapshot

LOG = logging.getLogger(__name__)
DRIVER_CALLS = {"power_off": "power_off", "power_on": "power_on", "pause": "pause",
                "unpause": "unpause", "suspend": "suspend", "resume": "resume"}


class Reconciler:
    def __init__(self, *, host: str, client, driver, images, network, seqs,
                 running_deleted_instance_action: str = "reap",
                 resume_guests_state_on_host_boot: bool = False, work_dir: str,
                 force_config_drive: bool = True):
        self.host = host
        self.client = client
        self.driver = driver
        self.images = images
        self.network = network
        self.seqs = seqs
        self.unknown_action = running_deleted_instance_action
        self.resume_on_boot = resume_guests_state_on_host_boot
        self.work_dir = work_dir
        self.force_config_drive = force_config_drive

    # -- one pass -----------------------------------------------------------------
    def reconcile(self, state: dict, *, host_boot: bool = False, check_unknown: bool = False
                  ) -> list[planner.Action]:
        """Converge the host to ``state`` (the agent API's answer); returns the
        actions it executed."""
        try:
            # everything the API said of the host's network (networks, ports,
            # tunnels, routers, firewall ...), i.e. all but the compute keys
            self.network.sync({"networks": [], "ports": [],
                               **{k: v for k, v in state.items()
                                  if k not in ("instances", "revision", "changed")}})
        except Exception:
            LOG.exception("host network sync failed; VMs are reconciled anyway")
        desired = state.get("instances", [])
        observed = self.driver.list_instances()
        opts = planner.Options(running_deleted_instance_action=self.unknown_action,
                               resume_guests_state_on_host_boot=self.resume_on_boot,
                               host_boot=host_boot, check_unknown=check_unknown)
        actions = planner.plan(desired, observed, self.seqs.snapshot(), opts,
                               self._live_elsewhere(desired, observed, check_unknown))
        by_uuid = {i["uuid"]: i for i in desired}
        for action in actions:
            self.execute(action, by_uuid.get(action.uuid), observed.get(action.uuid))
        return actions

    def _live_elsewhere(self, desired: list[dict], observed: dict, check: bool) -> frozenset:
        """Unassigned VMs whose instances the control plane still has live: a
        reap must never destroy them (a renamed host, an evacuated VM)."""
        unknown = sorted(set(observed) - {i["uuid"] for i in desired})
        if not check or not unknown or self.unknown_action == "noop":
            return frozenset()
        found = self.client.lookup(unknown)
        return frozenset(u for u in unknown if found.get(u, {}).get("state") == "live")

    def execute(self, action: planner.Action, inst: dict | None, power: int | None) -> None:
        LOG.info("host %s: %s %s", self.host, action.kind, action.uuid)
        try:
            self._perform(action, inst)
        except Exception as exc:  # a driver or download failure becomes a fault
            LOG.exception("%s of %s failed", action.kind, action.uuid)
            self._failed(action, inst, power, exc)
            return
        if action.seq is not None:
            self.seqs.set(action.uuid, action.seq)
        if action.report is not None:
            self.client.status(action.uuid, action.report)

    def _perform(self, action: planner.Action, inst: dict | None) -> None:
        kind, uuid, d = action.kind, action.uuid, self.driver
        if kind == "spawn":
            d.spawn(self.spec(inst))
        elif kind == "rebuild":
            d.rebuild(self.spec(inst))
        elif kind == "reboot":
            d.reboot(uuid, hard=action.hard)
        elif kind in DRIVER_CALLS:
            getattr(d, DRIVER_CALLS[kind])(uuid)
        elif kind == "snapshot":
            if inst.get("snapshot_image_id"):
                upload_snapshot(self.client, d, uuid, inst["snapshot_image_id"], self.work_dir)
            else:
                LOG.warning("snapshot of %s requested but no queued image names it", uuid)
        elif kind == "delete":
            d.destroy(uuid)
            self.seqs.forget(uuid)
            self.client.deleted(uuid)
        elif kind == "log_unknown":
            LOG.warning("host %s runs VM %s that the control plane does not know",
                        self.host, uuid)
        elif kind == "shutdown_unknown":
            LOG.warning("shutting down unknown VM %s", uuid)
            d.power_off(uuid, timeout=0)
        elif kind == "reap_unknown":
            LOG.warning("reaping unknown VM %s", uuid)
            d.destroy(uuid)
            self.seqs.forget(uuid)
        elif kind != "report":
            raise ValueError(f"unknown action {kind}")

    def _failed(self, action: planner.Action, inst: dict | None, power: int | None,
                exc: Exception) -> None:
        if inst is None:
            return
        uuid, reason = action.uuid, f"{type(exc).__name__}: {exc}"[:1000]
        if action.kind == "spawn" and inst.get("vm_state") == "building":
            try:
                self.driver.destroy(uuid)   # leave nothing half-built behind
            except Exception:
                LOG.exception("cleanup of failed build %s", uuid)
            self.client.build_failed(uuid, reason)
            return
        if action.seq is not None:  # never retry a failed one-shot action in a loop
            self.seqs.set(uuid, action.seq)
        try:
            now = self.driver.list_instances().get(uuid)
        except Exception:
            now = power
        body: dict[str, Any] = {
            "power_state": planner.NOSTATE if now is None else now, "task_state": None,
            "expected_task_state": inst.get("task_state"),
            "fault": {"code": 500, "message": str(exc)[:255] or type(exc).__name__,
                      "details": reason},
            "event": {"action": action.kind, "result": "Error"}}
        if action.kind in ("spawn", "rebuild", "reboot"):
            body["vm_state"] = "error"
        elif action.kind != "snapshot":
            # Keep the instance's current state; the user may try again.
            body["vm_state"] = _vm_state_of(now, inst)
        self.client.status(uuid, body)

    # -- what the driver needs ---------------------------------------------------------
    def spec(self, inst: dict):
        from stratus.virt.base import InstanceSpec
        image_path = self.images.ensure(inst["image_ref"], inst.get("image_checksum"),
                                        inst.get("image_os_hash_algo"),
                                        inst.get("image_os_hash_value"))
        taps = [{"port_id": p["port_id"], "tap": p["tap"], "mac": p["mac"]}
                for p in inst.get("ports", [])]
        drive = config_drive_meta(inst) if (inst.get("config_drive")
                                            or self.force_config_drive) else None
        return InstanceSpec(uuid=inst["uuid"], name=inst.get("name") or inst["uuid"],
                            vcpus=int(inst["vcpus"]), memory_mb=int(inst["memory_mb"]),
                            root_gb=int(inst["root_gb"]), image_path=image_path,
                            image_format=inst.get("image_disk_format") or "qcow2",
                            taps=taps, config_drive=drive,
                            extra_specs=dict(inst.get("extra_specs") or {}),
                            netns=self.network.namespace if self.network.enabled else None)


def _vm_state_of(power: int | None, inst: dict) -> str:
    return {planner.RUNNING: "active", planner.PAUSED: "paused",
            planner.SUSPENDED: "suspended"}.get(power, "stopped" if power is not None
                                                 else inst.get("vm_state", "active"))


def config_drive_meta(inst: dict) -> dict:
    """Keyword arguments of ``stratus.virt.configdrive.make_config_drive``
    (everything but the path): nova's meta_data.json fields, user data and
    network_data.json."""
    keys = {inst["key_name"]: inst["key_data"]} if inst.get("key_name") and \
        inst.get("key_data") else {}
    links, networks = [], []
    for n, p in enumerate(inst.get("ports", [])):
        links.append({"id": p["tap"], "type": "ethernet", "ethernet_mac_address": p["mac"],
                      "mtu": p.get("mtu") or 1500, "vif_id": p["port_id"]})
        networks.append({"id": f"network{n}", "type": "ipv4_dhcp", "link": p["tap"],
                         "network_id": p["network_id"]})
    return {"uuid": inst["uuid"], "name": inst.get("name") or "", "hostname":
            inst.get("hostname") or inst.get("name") or inst["uuid"],
            "public_keys": keys,
            # Still base64 (as the API stores it): the launch spec is JSON and binary
            # user data must reach the drive byte for byte; make_config_drive decodes it.
            "user_data_b64": inst.get("user_data"),
            "meta": dict(inst.get("metadata") or {}),
            "availability_zone": inst.get("availability_zone") or "nova",
            "project_id": inst.get("project_id"),
            "network_data": {"links": links, "networks": networks, "services": []}}
